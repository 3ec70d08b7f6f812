// A cell whose region runs its own model server: Sovereign forwards to it over HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { topologyFrom } from '../../src/config/index.ts';
import { startCell, type RunningCell } from '../../src/cell/index.ts';
import { initTrustDomain } from '../../src/mesh/index.ts';
import { meshClient, type MeshClient } from '../helpers/mesh.ts';
import { freePort } from '../helpers/ports.ts';

let upstream: Server;
let upstreamUrl: string;
let cell: RunningCell;
let gw: MeshClient;
const seen: { path: string; auth: string | undefined; body: string }[] = [];

/** A small OpenAI-compatible model server (the shape vLLM and Ollama expose). */
function modelServer(): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization, body });
      if (req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'llama-3-8b' }] }));
        return;
      }
      if (req.url === '/v1/chat/completions') {
        const parsed = JSON.parse(body) as { stream?: boolean; messages: { content: string }[] };
        const words = `echo: ${parsed.messages[0]?.content ?? ''}`.split(' ');
        if (parsed.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for (const w of words) res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'llama-3-8b', choices: [{ index: 0, delta: { content: `${w} ` }, finish_reason: null }] })}\n\n`);
          res.end('data: [DONE]\n\n');
          return;
        }
        // With its length, as vLLM's and Ollama's JSON answers come.
        const answer = JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'llama-3-8b', system_fingerprint: 'fp_vllm', choices: [{ index: 0, message: { role: 'assistant', content: words.join(' ') }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
        return;
      }
      res.writeHead(404).end();
    });
  });
}

before(async () => {
  upstream = modelServer();
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const addr = upstream.address();
  upstreamUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  process.env.TEST_UPSTREAM_KEY = 'upstream-secret';
  const topology = topologyFrom({
    dataDir: mkdtempSync(path.join(tmpdir(), 'sovereign-cell-')),
    jurisdictions: { AE: ['AE'] },
    regions: [{ id: 'uae-dubai', jurisdiction: 'AE', country: 'AE', url: `http://127.0.0.1:${await freePort()}`, runtime: { kind: 'upstream', url: upstreamUrl, apiKeyEnv: 'TEST_UPSTREAM_KEY' }, models: ['llama-3-8b'] }],
  });
  await initTrustDomain(topology);
  cell = await startCell({ topology, region: 'uae-dubai', logger: (await import('pino')).pino({ level: 'silent' }) });
  gw = await meshClient(topology);
});

after(async () => {
  await gw?.close();
  await cell?.close();
  upstream?.close();
});

test('chat is forwarded to the region model server with its own key, and says where it ran', async () => {
  const res = await gw.fetch(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama-3-8b', messages: [{ role: 'user', content: 'hello there' }] }) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-sovereign-region'), 'uae-dubai');
  const body = (await res.json()) as { system_fingerprint: string; choices: { message: { content: string } }[] };
  assert.equal(body.choices[0]?.message.content, 'echo: hello there');
  // The model server's answer is relayed byte for byte; the region and model version are in headers.
  assert.equal(body.system_fingerprint, 'fp_vllm');
  assert.match(res.headers.get('x-sovereign-model-version') ?? '', /^llama-3-8b@upstream /);
  assert.equal(seen.at(-1)?.auth, 'Bearer upstream-secret');
});

test('streams are relayed chunk by chunk', async () => {
  const res = await gw.fetch(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama-3-8b', stream: true, messages: [{ role: 'user', content: 'a b c' }] }) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const text = await res.text();
  const frames = text.split('\n\n').filter((f) => f.startsWith('data: {'));
  assert.equal(frames.length, 4);
  assert.ok(text.endsWith('data: [DONE]\n\n'));
});

test('each relayed request reaches the model server once, as the bytes received, and its answer comes back whole (small answers in one buffer with their length)', async () => {
  for (const stream of [false, true]) {
    const body = JSON.stringify({ model: 'llama-3-8b', ...(stream ? { stream: true } : {}), messages: [{ role: 'user', content: `once ${String(stream)}` }] });
    const before = seen.length;
    const res = await gw.fetch(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.status, 200);
    const text = await res.text();
    if (stream) {
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      assert.ok(text.endsWith('data: [DONE]\n\n'));
    } else {
      assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)), 'a small answer is sent in one piece with its length');
      assert.equal((JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content, 'echo: once false');
    }
    // Anything the cell sent the model server after answering would have arrived by now.
    await new Promise((r) => setTimeout(r, 200));
    const calls = seen.slice(before).filter((s) => s.path === '/v1/chat/completions');
    assert.equal(calls.length, 1, `stream ${String(stream)}: the model server was called ${calls.length} times for one request`);
    assert.equal(calls[0]?.body, body, 'the model server gets the bytes the cell received');
  }
});

test('V2 infer is translated to the OpenAI-compatible server', async () => {
  const res = await gw.fetch(`${cell.url}/v2/models/llama-3-8b/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [1], data: ['hi'] }] }) });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { outputs: { name: string; data: string[] }[] };
  assert.deepEqual(body.outputs[0]?.data, ['echo: hi']);
});

test('an unknown model is 404 and the upstream is not called', async () => {
  const before = seen.length;
  const res = await gw.fetch(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }) });
  assert.equal(res.status, 404);
  assert.equal(seen.length, before);
});

test('a request decided for another region is refused with 421 and never reaches the model server', async () => {
  const before = seen.length;
  const res = await gw.fetch(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-region': 'eu-paris' }, body: JSON.stringify({ model: 'llama-3-8b', messages: [{ role: 'user', content: 'misrouted' }] }) });
  assert.equal(res.status, 421);
  assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'misdirected_request');
  assert.equal(res.headers.get('x-sovereign-region'), 'uae-dubai');
  assert.equal(seen.length, before);
});

test('when the model server goes away the cell is not ready and answers 502', async () => {
  assert.equal((await gw.fetch(`${cell.url}/v2/health/ready`)).status, 200);
  await new Promise<void>((r) => upstream.close(() => r()));
  upstream.closeAllConnections();
  assert.equal((await gw.fetch(`${cell.url}/v2/health/ready`)).status, 503);
  const res = await gw.fetch(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama-3-8b', messages: [{ role: 'user', content: 'x' }] }) });
  assert.equal(res.status, 502);
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /cannot be reached|answered/);
});
