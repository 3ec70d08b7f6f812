// The embedded runtime: a real pretrained English model (wink-eng-lite-web-model, shipped
// on npm) run by wink-nlp inside the cell process, served as model "text-analysis".
// It reads text and reports sentiment and named entities: the chat answer states the
// analysis; the V2 output returns it as tensors.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import winkNLP from 'wink-nlp';
import { HttpError, messageText, bytesTensorStrings, notFound, type ChatChunk, type ChatCompletion, type ChatRequest, type V2InferRequest, type V2InferResponse } from '../common/index.ts';
import type { ModelConfig } from '../registry/index.ts';
import type { ModelInfo, ModelRuntime } from './runtime.ts';

export const EMBEDDED_MODEL = 'text-analysis';
/** The runtime kind a release's config must name for this runtime to load it. */
export const EMBEDDED_RUNTIME = 'wink-nlp';

interface Analysis {
  sentiment: number;
  entities: { value: string; type: string }[];
  tokens: number;
  sentences: number;
}

type Nlp = ReturnType<typeof winkNLP>;

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

export class EmbeddedRuntime implements ModelRuntime {
  readonly models: readonly ModelInfo[];
  readonly #nlp: Nlp;
  readonly #fingerprint: string;

  private constructor(release: { version: string; digest: string }, nlp: Nlp, region: string) {
    this.models = [{ name: EMBEDDED_MODEL, version: release.version, digest: release.digest, platform: EMBEDDED_RUNTIME }];
    this.#nlp = nlp;
    this.#fingerprint = `${region}/${release.digest.slice(7, 19)}`;
  }

  /**
   * Loads a verified release from `dir` (the files of an artifact from the region's registry,
   * checked against its signed manifest by the registry's loader just before).
   */
  static fromDir(dir: string, release: { version: string; digest: string }, region: string): EmbeddedRuntime {
    const req = createRequire(path.join(dir, 'package.json'));
    // A fresh require of this directory: a release's files are never shared with another's.
    const model = req(dir) as Parameters<typeof winkNLP>[0];
    return new EmbeddedRuntime(release, winkNLP(model), region);
  }

  model(name: string): ModelInfo | undefined {
    return this.models.find((m) => m.name === name);
  }

  async ready(): Promise<boolean> {
    return true;
  }

  analyze(text: string): Analysis {
    const its = this.#nlp.its;
    const doc = this.#nlp.readDoc(text);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- wink-nlp's its.* are plain helper functions, not methods
    const entities = (doc.entities().out(its.detail) as unknown as { value: string; type: string }[]).map((e) => ({ value: e.value, type: e.type }));
    // eslint-disable-next-line @typescript-eslint/unbound-method -- as above
    return { sentiment: doc.out(its.sentiment) as unknown as number, entities, tokens: doc.tokens().length(), sentences: doc.sentences().length() };
  }

  #check(name: string): ModelInfo {
    const m = this.model(name);
    if (!m) throw notFound(`model "${name}" is not served here; available: ${this.models.map((x) => x.name).join(', ')}`);
    return m;
  }

  #answer(req: ChatRequest): { text: string; promptTokens: number } {
    this.#check(req.model);
    const users = req.messages.filter((m) => m.role === 'user');
    const last = users[users.length - 1] ?? req.messages[req.messages.length - 1];
    const text = last ? messageText(last) : '';
    const a = this.analyze(text);
    return { text: describe(a), promptTokens: a.tokens };
  }

  async chat(req: ChatRequest): Promise<ChatCompletion> {
    const { text, promptTokens } = this.#answer(req);
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
    const { text } = this.#answer(req);
    const base = { id: `chatcmpl-${randomUUID()}`, object: 'chat.completion.chunk' as const, created: Math.floor(Date.now() / 1000), model: req.model, system_fingerprint: this.#fingerprint };
    yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
    // One word per chunk, as a token-by-token model would send it.
    for (const piece of text.split(/(?<=\s)/)) {
      if (signal.aborted) return;
      yield { ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] };
    }
    yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  }

  async infer(name: string, req: V2InferRequest): Promise<V2InferResponse> {
    const m = this.#check(name);
    const input = req.inputs.find((t) => t.datatype === 'BYTES');
    if (!input) throw new HttpError(400, 'invalid_request_error', 'text-analysis takes one BYTES input tensor of UTF-8 strings (e.g. {"name":"text","datatype":"BYTES","shape":[1],"data":["..."]})');
    const texts = bytesTensorStrings(input);
    const results = texts.map((t) => this.analyze(t));
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

  async close(): Promise<void> {}
}
