// A small OpenAI-compatible model server, run as its own process (the shape vLLM and Ollama
// expose): chat, completions, embeddings and responses. It remembers the bodies it was sent
// (GET /_received) so a test can check what reached the region's model server.
// Usage: node model-server.ts <port>   (prints "listening <port>" when ready)
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

const received: { path: string; body: string }[] = [];
const MODEL = 'llama-3-8b';

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A deterministic 8-dimensional "embedding" of a text (a hash, not a model: enough to check the relay). */
function embedding(text: string): number[] {
  const h = createHash('sha256').update(text).digest();
  return Array.from({ length: 8 }, (_, i) => (h[i] as number) / 255);
}

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (b: Buffer) => (body += b.toString()));
  req.on('end', () => {
    const path = req.url ?? '';
    if (path === '/_received') return json(res, 200, received);
    if (req.method === 'GET' && path === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: MODEL, object: 'model' }] });
    received.push({ path, body });
    const b = JSON.parse(body || '{}') as Record<string, unknown>;
    if (path === '/v1/chat/completions') {
      const last = (b.messages as { content: unknown }[]).at(-1)?.content;
      return json(res, 200, { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: MODEL, choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${String(last)}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    }
    if (path === '/v1/completions') {
      const prompts = Array.isArray(b.prompt) ? (b.prompt as string[]) : [String(b.prompt)];
      return json(res, 200, { id: 'cmpl-1', object: 'text_completion', created: 1, model: MODEL, choices: prompts.map((p, index) => ({ index, text: `completed: ${p}`, logprobs: null, finish_reason: 'stop' })), usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    }
    if (path === '/v1/embeddings') {
      const inputs = Array.isArray(b.input) ? (b.input as string[]) : [String(b.input)];
      return json(res, 200, { object: 'list', model: MODEL, data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: embedding(t) })), usage: { prompt_tokens: 1, total_tokens: 1 } });
    }
    if (path === '/v1/responses') {
      const text = typeof b.input === 'string' ? b.input : JSON.stringify(b.input);
      return json(res, 200, { id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: MODEL, output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: `responded: ${text}`, annotations: [] }] }] });
    }
    json(res, 404, { error: { type: 'invalid_request_error', message: `no route ${path}` } });
  });
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
