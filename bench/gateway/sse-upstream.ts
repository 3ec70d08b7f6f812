// The streaming upstream of the benchmark: an OpenAI-compatible model server stand-in that
// answers POST /v1/chat/completions with Server-Sent Events (first chunk at once, then a few
// more a few ms apart, then [DONE]) when the body asks for "stream": true, and with a fixed
// chat.completion otherwise; GET /v1/models lists bench-model.
// Usage: node bench/gateway/sse-upstream.ts <port> [<tls-port> <cert.pem> <key.pem> <ca.pem>]
// With the TLS arguments it also listens with mutual TLS (clients must present a certificate of
// that CA): the streaming upstream of the undici-mtls baseline (bench/gateway/upstream-tls.ts).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

const port = Number(process.argv[2] ?? '0');
const MODEL = 'bench-model';
const CHUNKS = ['The', ' deployment', ' looks', ' healthy.'];
const CHUNK_GAP_MS = 5;

const completion = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'The deployment looks healthy.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 240, completion_tokens: 6, total_tokens: 246 },
});

function chunk(i: number): string {
  const delta = i === 0 ? { role: 'assistant', content: CHUNKS[0] } : { content: CHUNKS[i] ?? '' };
  const finish = i === CHUNKS.length - 1 ? 'stop' : null;
  return `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET' && req.url === '/v1/models') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'bench' }] }));
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
    return;
  }
  const parts: Buffer[] = [];
  req.on('data', (b: Buffer) => parts.push(b));
  req.on('end', () => {
    // A cheap test for "stream": true, without parsing the whole prompt.
    const stream = /"stream"\s*:\s*true/.test(Buffer.concat(parts).toString('latin1'));
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(completion);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.write(chunk(0));
    let i = 1;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      if (i < CHUNKS.length) res.write(chunk(i++));
      else {
        clearInterval(timer);
        res.end('data: [DONE]\n\n');
      }
    }, CHUNK_GAP_MS);
    res.once('close', () => clearInterval(timer));
  });
}

const server = createServer(handle);
server.keepAliveTimeout = 60_000;
const [tlsPort, certFile, keyFile, caFile] = process.argv.slice(3);
if (tlsPort && certFile && keyFile && caFile) {
  const tls = createTlsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, handle);
  tls.keepAliveTimeout = 60_000;
  tls.listen(Number(tlsPort), '127.0.0.1', () => server.listen(port, '127.0.0.1', () => console.log(`sse upstream listening on 127.0.0.1:${port} (mutual TLS on ${tlsPort})`)));
} else {
  server.listen(port, '127.0.0.1', () => console.log(`sse upstream listening on 127.0.0.1:${port}`));
}
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
