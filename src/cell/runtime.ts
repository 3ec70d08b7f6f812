// What a cell needs from a model runtime, whatever serves the model.
import { HttpError, type ChatChunk, type ChatCompletion, type ChatRequest, type CompletionRequest, type EmbeddingRequest, type ResponsesRequest, type V2InferRequest, type V2InferResponse } from '../common/index.ts';

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
  /** The whole answer (a small one), or the answer as it arrives (a stream, a large one). */
  body: Buffer | NodeJS.ReadableStream;
}

export interface ModelRuntime {
  readonly models: readonly ModelInfo[];
  model(name: string): ModelInfo | undefined;
  ready(): Promise<boolean>;
  chat(req: ChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
  chatStream(req: ChatRequest, signal: AbortSignal): AsyncIterable<ChatChunk>;
  /** POST /v1/completions; an `unsupported` error where the runtime cannot. */
  complete(req: CompletionRequest, signal: AbortSignal): Promise<unknown>;
  /** POST /v1/embeddings; an `unsupported` error where the runtime cannot. */
  embed(req: EmbeddingRequest, signal: AbortSignal): Promise<unknown>;
  /** POST /v1/responses (the Responses API); an `unsupported` error where the runtime cannot. */
  respond(req: ResponsesRequest, signal: AbortSignal): Promise<unknown>;
  infer(model: string, req: V2InferRequest, signal: AbortSignal): Promise<V2InferResponse>;
  /**
   * When the runtime is a model server speaking the OpenAI API, the cell relays the request body
   * (the one the gateway judged) to `path` and its answer as is; undefined otherwise.
   */
  relay?(path: string, body: Buffer, signal: AbortSignal): Promise<RawResponse>;
  close(): Promise<void>;
}

/** The OpenAI-shaped error for an operation a region's runtime does not offer for a model. */
export function unsupported(model: string, operation: string, region: string): HttpError {
  return new HttpError(400, 'invalid_request_error', `model "${model}" does not support ${operation} in region ${region}; use an operation the model offers (see GET /v1/models)`, { param: 'model', code: 'unsupported_operation' });
}
