// What a cell needs from a model runtime, whatever serves the model.
import type { ChatChunk, ChatCompletion, ChatRequest, V2InferRequest, V2InferResponse } from '../common/index.ts';

export interface ModelInfo {
  name: string;
  version: string;
  digest: string;
  platform: string;
}

/** A model server's own HTTP answer, relayed byte for byte. */
export interface RawResponse {
  statusCode: number;
  contentType: string;
  body: NodeJS.ReadableStream;
}

export interface ModelRuntime {
  readonly models: readonly ModelInfo[];
  model(name: string): ModelInfo | undefined;
  ready(): Promise<boolean>;
  chat(req: ChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
  chatStream(req: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk>;
  infer(model: string, req: V2InferRequest, signal: AbortSignal): Promise<V2InferResponse>;
  /**
   * When the runtime is a model server speaking the same protocol as the request, the cell
   * relays its answer as is (no parse and re-serialise on the hot path); undefined otherwise.
   */
  relayChat?(rawBody: Buffer, signal: AbortSignal): Promise<RawResponse>;
  close(): Promise<void>;
}
