// The upstream runtime: forwards to a model server that runs in this region (vLLM, TGI,
// Triton, Ollama) over its OpenAI-compatible API or the Open Inference Protocol V2.
// A request in the other protocol is translated: chat <-> one BYTES tensor of text.
import { Pool } from 'undici';
import { HttpError, messageText, bytesTensorStrings, notFound, type ChatChunk, type ChatCompletion, type ChatRequest, type CompletionRequest, type EmbeddingRequest, type ResponsesRequest, type V2InferRequest, type V2InferResponse } from '../common/index.ts';
import type { RuntimeConfig } from '../config/index.ts';
import { unsupported, type ModelInfo, type ModelRuntime, type RawResponse } from './runtime.ts';

type UpstreamConfig = Extract<RuntimeConfig, { kind: 'upstream' }>;

/** Answers up to this declared size are relayed as one buffer (see relay). */
export const RELAY_BUFFER_MAX_BYTES = 256 * 1024;

function upstreamError(status: number, body: string): HttpError {
  const code = status >= 500 ? 502 : status;
  return new HttpError(code, 'upstream_error', `the region's model server answered ${status}: ${body.slice(0, 300)}`);
}

export class UpstreamRuntime implements ModelRuntime {
  readonly models: readonly ModelInfo[];
  readonly #cfg: UpstreamConfig;
  readonly #pool: Pool;
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #region: string;

  /** `connections`: to the model server, as many as the cell runs inference requests at once. */
  constructor(cfg: UpstreamConfig, modelNames: readonly string[], region: string, connections: number) {
    this.#cfg = cfg;
    const url = new URL(cfg.url);
    this.#base = url.pathname.replace(/\/$/, '');
    this.#pool = new Pool(url.origin, { connections, keepAliveTimeout: 30_000 });
    const key = cfg.apiKeyEnv ? process.env[cfg.apiKeyEnv] : undefined;
    this.#headers = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
    this.#region = region;
    this.models = modelNames.map((name) => ({ name, version: 'upstream', digest: `upstream:${url.origin}`, platform: `upstream-${cfg.protocol}` }));
  }

  model(name: string): ModelInfo | undefined {
    return this.models.find((m) => m.name === name);
  }

  async #call(path: string, body: unknown, signal: AbortSignal): Promise<{ statusCode: number; body: import('undici').Dispatcher.ResponseData['body'] }> {
    try {
      return await this.#pool.request({
        method: body === undefined ? 'GET' : 'POST',
        path: this.#base + path,
        headers: this.#headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
        headersTimeout: this.#cfg.timeoutMs,
        bodyTimeout: this.#cfg.timeoutMs,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new HttpError(502, 'upstream_unreachable', `the region's model server at ${this.#cfg.url} cannot be reached: ${(err as Error).message}`);
    }
  }

  async #json<T>(path: string, body: unknown, signal: AbortSignal): Promise<T> {
    const res = await this.#call(path, body, signal);
    const text = await res.body.text();
    if (res.statusCode >= 300) throw upstreamError(res.statusCode, text);
    return JSON.parse(text) as T;
  }

  async ready(): Promise<boolean> {
    const path = this.#cfg.protocol === 'v2' ? '/v2/health/ready' : '/v1/models';
    try {
      const res = await this.#call(path, undefined, AbortSignal.timeout(2000));
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false;
    }
  }

  #check(name: string): void {
    if (!this.model(name)) throw notFound(`model "${name}" is not served here; available: ${this.models.map((m) => m.name).join(', ')}`);
  }

  async chat(req: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    this.#check(req.model);
    if (this.#cfg.protocol === 'openai') {
      const out = await this.#json<ChatCompletion>('/v1/chat/completions', { ...req, stream: false }, signal);
      return { ...out, system_fingerprint: `${this.#region}/${out.system_fingerprint ?? 'upstream'}` };
    }
    const text = await this.#inferText(req, signal);
    return {
      id: `chatcmpl-${crypto.randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      system_fingerprint: `${this.#region}/upstream`,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
  }

  async #inferText(req: ChatRequest, signal: AbortSignal): Promise<string> {
    const last = req.messages[req.messages.length - 1];
    const v2: V2InferRequest = { inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [1], data: [last ? messageText(last) : ''] }] };
    const out = await this.#json<V2InferResponse>(`/v2/models/${encodeURIComponent(req.model)}/infer`, v2, signal);
    const first = out.outputs[0];
    return first ? (first.datatype === 'BYTES' ? bytesTensorStrings(first).join('') : JSON.stringify(first.data)) : '';
  }

  async *chatStream(req: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk> {
    this.#check(req.model);
    if (this.#cfg.protocol === 'v2') {
      const c = await this.chat(req, signal);
      const base = { id: c.id, object: 'chat.completion.chunk' as const, created: c.created, model: c.model, system_fingerprint: c.system_fingerprint };
      yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: c.choices[0]?.message.content ?? '' }, finish_reason: null }] };
      yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
      return;
    }
    const res = await this.#call('/v1/chat/completions', { ...req, stream: true }, signal);
    if (res.statusCode >= 300) throw upstreamError(res.statusCode, await res.body.text());
    // SSE: events are separated by a blank line; we only need "data:" lines.
    let buf = '';
    for await (const chunk of res.body) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trimEnd();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return;
        const parsed = JSON.parse(data) as ChatChunk;
        yield { ...parsed, system_fingerprint: `${this.#region}/${parsed.system_fingerprint ?? 'upstream'}` };
      }
    }
  }

  /** An OpenAI API operation of an OpenAI-compatible server, or `unsupported` for a V2 server. */
  async #openai(path: string, model: string, operation: string, req: unknown, signal: AbortSignal): Promise<unknown> {
    this.#check(model);
    if (this.#cfg.protocol !== 'openai') throw unsupported(model, operation, this.#region);
    return this.#json<unknown>(path, req, signal);
  }

  async complete(req: CompletionRequest, signal: AbortSignal): Promise<unknown> {
    return this.#openai('/v1/completions', req.model, 'completions', req, signal);
  }

  async embed(req: EmbeddingRequest, signal: AbortSignal): Promise<unknown> {
    return this.#openai('/v1/embeddings', req.model, 'embeddings', req, signal);
  }

  async respond(req: ResponsesRequest, signal: AbortSignal): Promise<unknown> {
    return this.#openai('/v1/responses', req.model, 'the Responses API', req, signal);
  }

  /** OpenAI-compatible upstream: the request bytes go as they are, the answer comes back as it is. */
  async relay(path: string, body: Buffer, signal: AbortSignal): Promise<RawResponse> {
    if (this.#cfg.protocol !== 'openai') throw new Error('relay needs an OpenAI-compatible upstream');
    let res;
    try {
      res = await this.#pool.request({ method: 'POST', path: `${this.#base}${path}`, headers: this.#headers, body, signal, headersTimeout: this.#cfg.timeoutMs, bodyTimeout: this.#cfg.timeoutMs });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new HttpError(502, 'upstream_unreachable', `the region's model server at ${this.#cfg.url} cannot be reached: ${(err as Error).message}`);
    }
    if (res.statusCode >= 500) throw upstreamError(res.statusCode, await res.body.text());
    const contentType = String(res.headers['content-type'] ?? 'application/json');
    // A small answer of declared length is read whole and sent as one buffer with its length
    // (one write to the gateway, no chunked framing, no stream plumbing); a stream (SSE) or an
    // answer of unknown or large size is relayed as it arrives.
    const length = Number(res.headers['content-length']);
    if (!contentType.startsWith('text/event-stream') && Number.isSafeInteger(length) && length <= RELAY_BUFFER_MAX_BYTES) {
      return { statusCode: res.statusCode, contentType, body: Buffer.from(await res.body.arrayBuffer()) };
    }
    return { statusCode: res.statusCode, contentType, body: res.body };
  }

  async infer(name: string, req: V2InferRequest, signal: AbortSignal): Promise<V2InferResponse> {
    this.#check(name);
    if (this.#cfg.protocol === 'v2') return this.#json<V2InferResponse>(`/v2/models/${encodeURIComponent(name)}/infer`, req, signal);
    const input = req.inputs.find((t) => t.datatype === 'BYTES');
    if (!input) throw new HttpError(400, 'invalid_request_error', 'this region serves the model over an OpenAI-compatible server: send one BYTES input tensor of text');
    const texts = bytesTensorStrings(input);
    const answers: string[] = [];
    for (const t of texts) {
      const c = await this.chat({ model: name, messages: [{ role: 'user', content: t }] }, signal);
      answers.push(c.choices[0]?.message.content ?? '');
    }
    return { model_name: name, model_version: 'upstream', outputs: [{ name: 'text_output', datatype: 'BYTES', shape: [answers.length], data: answers }] };
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
