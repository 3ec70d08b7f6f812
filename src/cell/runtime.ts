// What a cell needs from a model runtime, whatever serves the model.
import type { ChatChunk, ChatCompletion, ChatRequest, V2InferRequest, V2InferResponse } from '../common/index.ts';

export interface ModelInfo {
  name: string;
  version: string;
  digest: string;
  platform: string;
}

export interface ModelRuntime {
  readonly models: readonly ModelInfo[];
  model(name: string): ModelInfo | undefined;
  ready(): Promise<boolean>;
  chat(req: ChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
  chatStream(req: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk>;
  infer(model: string, req: V2InferRequest, signal: AbortSignal): Promise<V2InferResponse>;
  close(): Promise<void>;
}
