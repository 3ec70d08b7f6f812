// The embedded runtime: a real pretrained English model (wink-eng-lite-web-model, shipped
// on npm) run by wink-nlp in worker threads of the cell process, served as model
// "text-analysis". It reads text and reports sentiment and named entities: the chat,
// completion and response answers state the analysis; the V2 output returns it as tensors.
// It computes no embeddings: /v1/embeddings is answered with the OpenAI-shaped error.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { HttpError, bytesTensorStrings, messageText, notFound, type ChatChunk, type ChatCompletion, type ChatRequest, type CompletionRequest, type EmbeddingRequest, type ResponsesRequest, type V2InferRequest, type V2InferResponse } from '../common/index.ts';
import type { Analysis } from './analysis.ts';
import { AnalysisPool } from './analysis-pool.ts';
import type { StoredModel } from './model-store.ts';
import type { ModelConfig } from '../registry/index.ts';
import { unsupported, type ModelInfo, type ModelRuntime } from './runtime.ts';

export const EMBEDDED_MODEL = 'text-analysis';
/** The runtime kind a release's config must name for this runtime to load it. */
export const EMBEDDED_RUNTIME = 'wink-nlp';

/**
 * The model Sovereign ships (the wink-eng-lite-web-model npm package): its files and the config
 * it is published with to golden at first start. Cells never load it from here: only from their
 * region's registry.
 */
export function shippedModel(): { dir: string; config: ModelConfig } {
  const req = createRequire(import.meta.url);
  const pkgJson = req.resolve('wink-eng-lite-web-model/package.json');
  const { version, license } = req(pkgJson) as { version: string; license: string };
  const { version: winkVersion } = req('wink-nlp/package.json') as { version: string };
  return {
    dir: path.dirname(pkgJson),
    config: {
      name: EMBEDDED_MODEL,
      version,
      licence: license,
      trainingData: { dataClass: 'public', jurisdictions: [], sources: [`wink-eng-lite-web-model ${version}: English model trained on public web text (npm)`] },
      runtime: { kind: EMBEDDED_RUNTIME, version: `^${winkVersion.split('.')[0]}` },
    },
  };
}

function sentimentLabel(s: number): string {
  if (s > 0.05) return 'positive';
  if (s < -0.05) return 'negative';
  return 'neutral';
}

export function describe(a: Analysis): string {
  const ents = a.entities.length === 0 ? 'no named entities' : a.entities.map((e) => `${e.type} "${e.value}"`).join(', ');
  return `Sentiment: ${sentimentLabel(a.sentiment)} (${a.sentiment.toFixed(3)}). Entities: ${ents}. ${a.tokens} tokens in ${a.sentences} sentence${a.sentences === 1 ? '' : 's'}.`;
}

/** The last user message (or item), else the last one: what the model answers. */
function lastUserText(items: readonly { role?: unknown; content?: unknown }[]): string {
  const users = items.filter((m) => m.role === 'user');
  const last = users[users.length - 1] ?? items[items.length - 1];
  return last ? messageText(last) : '';
}

/**
 * The texts the embedded model reads of a request, per operation: every one of them is a
 * segment of the request as src/common/model-input.ts defines it (the strings the gateway classified).
 */
export const embeddedReads = {
  chat: (req: ChatRequest): string[] => [lastUserText(req.messages)],
  completions: (req: CompletionRequest): string[] | null => (typeof req.prompt === 'string' ? [req.prompt] : req.prompt.every((p) => typeof p === 'string') ? req.prompt : null),
  responses: (req: ResponsesRequest): string[] => [typeof req.input === 'string' ? req.input : lastUserText(req.input)],
  infer: (req: V2InferRequest): string[] | null => {
    const input = req.inputs.find((t) => t.datatype === 'BYTES');
    return input ? bytesTensorStrings(input) : null;
  },
};

export class EmbeddedRuntime implements ModelRuntime {
  readonly models: readonly ModelInfo[];
  readonly #pool: AnalysisPool;
  readonly #fingerprint: string;
  readonly #region: string;

  private constructor(stored: StoredModel, pool: AnalysisPool, region: string) {
    this.models = [{ name: EMBEDDED_MODEL, version: stored.version, digest: stored.digest, platform: EMBEDDED_RUNTIME }];
    this.#pool = pool;
    this.#region = region;
    this.#fingerprint = `${region}/${stored.digest.slice(7, 19)}`;
  }

  /**
   * Starts `workers` analysis workers on a verified release in `dir` (the files of an artifact
   * from the region's registry, checked against its signed manifest just before).
   */
  static fromDir(dir: string, release: { version: string; digest: string }, region: string, workers = 1): EmbeddedRuntime {
    const stored: StoredModel = { name: EMBEDDED_MODEL, version: release.version, digest: release.digest, dir };
    return new EmbeddedRuntime(stored, new AnalysisPool(stored, workers), region);
  }

  model(name: string): ModelInfo | undefined {
    return this.models.find((m) => m.name === name);
  }

  async ready(): Promise<boolean> {
    return true;
  }

  async analyze(text: string): Promise<Analysis> {
    const [a] = await this.#pool.analyze([text]);
    return a as Analysis;
  }

  #check(name: string): ModelInfo {
    const m = this.model(name);
    if (!m) throw notFound(`model "${name}" is not served here; available: ${this.models.map((x) => x.name).join(', ')}`);
    return m;
  }

  async #answer(req: ChatRequest): Promise<{ text: string; promptTokens: number }> {
    this.#check(req.model);
    const [a] = await this.#pool.analyze(embeddedReads.chat(req));
    return { text: describe(a as Analysis), promptTokens: (a as Analysis).tokens };
  }

  async chat(req: ChatRequest): Promise<ChatCompletion> {
    const { text, promptTokens } = await this.#answer(req);
    const completion = text.split(/\s+/).length;
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      system_fingerprint: this.#fingerprint,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion },
    };
  }

  async *chatStream(req: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk> {
    const { text } = await this.#answer(req);
    const base = { id: `chatcmpl-${randomUUID()}`, object: 'chat.completion.chunk' as const, created: Math.floor(Date.now() / 1000), model: req.model, system_fingerprint: this.#fingerprint };
    yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
    // One word per chunk, as a token-by-token model would send it.
    for (const piece of text.split(/(?<=\s)/)) {
      if (signal.aborted) return;
      yield { ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] };
    }
    yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  }

  async complete(req: CompletionRequest): Promise<unknown> {
    this.#check(req.model);
    if (req.stream === true) throw unsupported(req.model, 'streamed completions', this.#region);
    const texts = embeddedReads.completions(req);
    if (!texts) throw unsupported(req.model, 'token-id prompts', this.#region);
    const results = await this.#pool.analyze(texts);
    const prompt = results.reduce((n, a) => n + a.tokens, 0);
    const answers = results.map(describe);
    const completion = answers.reduce((n, t) => n + t.split(/\s+/).length, 0);
    return {
      id: `cmpl-${randomUUID()}`,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      system_fingerprint: this.#fingerprint,
      choices: answers.map((text, index) => ({ index, text, logprobs: null, finish_reason: 'stop' })),
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    };
  }

  async embed(req: EmbeddingRequest): Promise<unknown> {
    this.#check(req.model);
    throw unsupported(req.model, 'embeddings', this.#region);
  }

  async respond(req: ResponsesRequest): Promise<unknown> {
    this.#check(req.model);
    if (req.stream === true) throw unsupported(req.model, 'streamed responses', this.#region);
    const [a] = await this.#pool.analyze(embeddedReads.responses(req));
    const text = describe(a as Analysis);
    const out = text.split(/\s+/).length;
    return {
      id: `resp_${randomUUID().replaceAll('-', '')}`,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status: 'completed',
      model: req.model,
      output: [{ type: 'message', id: `msg_${randomUUID().replaceAll('-', '')}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }],
      usage: { input_tokens: (a as Analysis).tokens, output_tokens: out, total_tokens: (a as Analysis).tokens + out },
    };
  }

  async infer(name: string, req: V2InferRequest): Promise<V2InferResponse> {
    const m = this.#check(name);
    const texts = embeddedReads.infer(req);
    if (!texts) throw new HttpError(400, 'invalid_request_error', 'text-analysis takes one BYTES input tensor of UTF-8 strings (e.g. {"name":"text","datatype":"BYTES","shape":[1],"data":["..."]})');
    const results = await this.#pool.analyze(texts);
    const n = results.length;
    return {
      model_name: m.name,
      model_version: m.version,
      ...(req.id !== undefined ? { id: req.id } : {}),
      parameters: { model_digest: m.digest },
      outputs: [
        { name: 'sentiment', datatype: 'FP32', shape: [n], data: results.map((r) => r.sentiment) },
        { name: 'entities', datatype: 'BYTES', shape: [n], data: results.map((r) => JSON.stringify(r.entities)) },
        { name: 'token_count', datatype: 'INT32', shape: [n], data: results.map((r) => r.tokens) },
      ],
    };
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
