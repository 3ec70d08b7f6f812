// A client that goes away before its request reaches the inference gate (for example while the
// cell makes its decision record durable) must not take a slot: a slot taken then would never
// be given back, and the cell would answer 429 cell_busy to everyone from then on. The model is
// a real HTTP server; the record is made durable by a function that takes its time, as a busy
// log does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import { request } from 'undici';
import { buildCellServer } from '../../src/cell/server.ts';
import { UpstreamRuntime } from '../../src/cell/upstream-runtime.ts';
import { RECORD_HEADER, encodeRecord } from '../../src/common/index.ts';
import { chatBody, decisionFor, sha256 } from '../helpers/one-hop.ts';

const REGION = 'uae-dubai';
const RECORD_MS = 300;
let model: Server;
let cell: ReturnType<typeof buildCellServer>;
let cellUrl: string;
let modelCalls = 0;

before(async () => {
  model = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      modelCalls++;
      const answer = JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'llama-3-8b', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
    });
  });
  await new Promise<void>((r) => model.listen(0, '127.0.0.1', () => r()));
  const port = (model.address() as { port: number }).port;
  let index = 0;
  cell = buildCellServer({
    region: REGION,
    runtime: new UpstreamRuntime({ kind: 'upstream', url: `http://127.0.0.1:${port}`, protocol: 'openai' } as ConstructorParameters<typeof UpstreamRuntime>[0], ['llama-3-8b'], REGION, 64),
    bodyLimit: 1 << 20,
    logger: pino({ level: 'silent' }),
    maxConcurrentInference: 1,
    maxQueuedInference: 0,
    record: async () => {
      await new Promise((r) => setTimeout(r, RECORD_MS));
      return { origin: 'test', index: index++ };
    },
  });
  await cell.listen({ host: '127.0.0.1', port: 0 });
  cellUrl = `http://127.0.0.1:${(cell.server.address() as { port: number }).port}`;
});

after(async () => {
  await cell?.close();
  model?.close();
});

function recorded(id: string): { body: Buffer; headers: Record<string, string> } {
  const body = chatBody('hello');
  return { body, headers: { 'content-type': 'application/json', 'x-sovereign-decision-id': id, [RECORD_HEADER]: encodeRecord({ entry: decisionFor(id, REGION), body_sha256: sha256(body) }) } };
}

test('a client that leaves while its record is being made durable takes no inference slot', async () => {
  // Three clients send a recorded request and close the connection while the cell records it.
  for (const id of ['gone-1', 'gone-2', 'gone-3']) {
    const { body, headers } = recorded(id);
    const u = new URL(cellUrl);
    const sock = connect(Number(u.port), u.hostname);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const head = [`POST /v1/chat/completions HTTP/1.1`, `host: ${u.host}`, `content-length: ${body.length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
    sock.write(`${head}\r\n\r\n`);
    sock.write(body);
    await new Promise((r) => setTimeout(r, RECORD_MS / 5));
    sock.destroy();
  }
  await new Promise((r) => setTimeout(r, RECORD_MS * 2));
  const seen = modelCalls;
  // The cell runs one inference at a time and queues none: a slot lost to any of them would
  // make this a 429.
  for (const id of ['after-1', 'after-2']) {
    const { body, headers } = recorded(id);
    const res = await request(`${cellUrl}/v1/chat/completions`, { method: 'POST', headers, body });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    assert.ok(typeof res.headers['x-sovereign-ledger'] === 'string', 'answered with its receipt');
  }
  assert.equal(modelCalls, seen + 2, 'the departed clients\' requests did not reach the model after they left');
});
