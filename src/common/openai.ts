// OpenAI-compatible request shapes accepted at the edge, and response builders.
// Only the fields Sovereign reads are constrained; everything else passes through untouched.
import { z } from 'zod';

const TextPart = z.looseObject({ type: z.string(), text: z.string().optional() });

export const ChatMessageSchema = z.looseObject({
  role: z.string().min(1, 'expected a role such as "user"'),
  content: z.union([z.string(), z.array(TextPart), z.null()]).optional(),
});

export const ChatRequestSchema = z.looseObject({
  model: z.string().min(1, 'expected the model name'),
  messages: z.array(ChatMessageSchema).min(1, 'expected at least one message'),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().optional(),
});

export type ChatRequest = z.infer<typeof ChatRequestSchema>;

const model = z.string().min(1, 'expected the model name');
const textOrTexts = z.union([z.string(), z.array(z.string())]);

/** POST /v1/completions (legacy text completions): `prompt` is a string or strings. */
export const CompletionRequestSchema = z.looseObject({
  model,
  prompt: z.union([textOrTexts, z.array(z.number().int()), z.array(z.array(z.number().int()))]),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().optional(),
});
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

/** POST /v1/embeddings: `input` is a string, strings, or token arrays. */
export const EmbeddingRequestSchema = z.looseObject({
  model,
  input: z.union([textOrTexts, z.array(z.number().int()), z.array(z.array(z.number().int()))]),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;

/** POST /v1/responses (the Responses API): `input` is a string or a list of items. */
export const ResponsesRequestSchema = z.looseObject({
  model,
  input: z.union([z.string(), z.array(z.looseObject({ type: z.string().optional(), role: z.string().optional(), content: z.unknown().optional() }))]),
  instructions: z.string().nullable().optional(),
  stream: z.boolean().optional(),
});
export type ResponsesRequest = z.infer<typeof ResponsesRequestSchema>;

/** The OpenAI-compatible inference endpoints, each with the path a model server serves it at. */
export const OPENAI_ENDPOINTS = {
  chat: { path: '/v1/chat/completions', schema: ChatRequestSchema, what: 'chat request' },
  completions: { path: '/v1/completions', schema: CompletionRequestSchema, what: 'completion request' },
  embeddings: { path: '/v1/embeddings', schema: EmbeddingRequestSchema, what: 'embedding request' },
  responses: { path: '/v1/responses', schema: ResponsesRequestSchema, what: 'response request' },
} as const;
export type OpenAiEndpoint = keyof typeof OPENAI_ENDPOINTS;


export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: { index: number; message: { role: 'assistant'; content: string }; finish_reason: 'stop' | 'length' }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: { index: number; delta: { role?: 'assistant'; content?: string }; finish_reason: 'stop' | 'length' | null }[];
}

/** One Server-Sent Events frame (data-only, as OpenAI's streaming API sends). */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';
