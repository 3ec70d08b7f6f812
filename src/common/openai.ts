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

/** The text of a message, whether content is a string or an array of parts. */
export function messageText(m: z.infer<typeof ChatMessageSchema>): string {
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => p.text ?? '').join('');
  return '';
}

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
