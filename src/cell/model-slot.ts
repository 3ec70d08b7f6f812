// The model a cell serves now, switchable without dropping requests: each request takes the
// runtime in the slot when it starts and finishes on it, so a switch (activation of another
// version) affects only requests that start after it. Empty until the region's first release
// arrives; then not ready (503), never served from anywhere else.
import { HttpError, type ChatChunk, type ChatCompletion, type ChatRequest, type CompletionRequest, type EmbeddingRequest, type ResponsesRequest, type V2InferRequest, type V2InferResponse } from '../common/index.ts';
import type { ModelInfo, ModelRuntime } from './runtime.ts';

export class ModelSlot implements ModelRuntime {
  #current: ModelRuntime | null = null;
  readonly #region: string;

  constructor(region: string) {
    this.#region = region;
  }

  get current(): ModelRuntime | null {
    return this.#current;
  }

  /** Puts `next` in the slot; returns the runtime it replaced (closed by the caller once idle). */
  swap(next: ModelRuntime): ModelRuntime | null {
    const prev = this.#current;
    this.#current = next;
    return prev;
  }

  #rt(): ModelRuntime {
    if (!this.#current) throw new HttpError(503, 'model_not_ready', `region ${this.#region} has no model release active yet; promote one to it (sovereign model promote) and retry`, {}, { 'retry-after': '1' });
    return this.#current;
  }

  get models(): readonly ModelInfo[] {
    return this.#current?.models ?? [];
  }

  model(name: string): ModelInfo | undefined {
    return this.#current?.model(name);
  }

  async ready(): Promise<boolean> {
    return this.#current !== null && (await this.#current.ready());
  }

  chat(req: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    return this.#rt().chat(req, signal);
  }

  chatStream(req: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk> {
    return this.#rt().chatStream(req, signal);
  }

  complete(req: CompletionRequest, signal: AbortSignal): Promise<unknown> {
    return this.#rt().complete(req, signal);
  }

  embed(req: EmbeddingRequest, signal: AbortSignal): Promise<unknown> {
    return this.#rt().embed(req, signal);
  }

  respond(req: ResponsesRequest, signal: AbortSignal): Promise<unknown> {
    return this.#rt().respond(req, signal);
  }

  infer(model: string, req: V2InferRequest, signal: AbortSignal): Promise<V2InferResponse> {
    return this.#rt().infer(model, req, signal);
  }

  async close(): Promise<void> {
    await this.#current?.close();
  }
}
