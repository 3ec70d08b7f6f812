// The forwarder asks the law in force right before each attempt: a region suspended while a
// request's decision was being recorded (in the subjects' home regions, before sending) or
// retried is never sent that request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { topologyFrom } from '../../src/config/index.ts';
import { pino } from 'pino';
import { HealthMonitor } from '../../src/health/index.ts';
import { Mesh } from '../../src/mesh/index.ts';
import { Forwarder } from '../../src/gateway/forward.ts';
import { EMPTY_BODY_SHA, chatForward } from '../helpers/forward.ts';
import type { Decision } from '../../src/gateway/decision.ts';
import type { PendingRecord } from '../../src/gateway/outbox.ts';

const hits: Record<string, number> = { a: 0, b: 0 };
const servers: Server[] = [];
const urls: Record<string, string> = {};

before(async () => {
  for (const id of ['a', 'b']) {
    const s = createServer((req, res) => {
      if (req.url !== '/v2/health/ready') hits[id] = (hits[id] ?? 0) + 1;
      // A stand-in cell that records what it is sent: its receipt names its own log.
      const receipt = req.headers['x-sovereign-record'] !== undefined ? { 'x-sovereign-ledger': `origin/${id} ${hits[id]}` } : {};
      res.writeHead(200, { 'content-type': 'application/json', ...receipt }).end(`{"region":"${id}"}`);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    servers.push(s);
    urls[id] = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  }
});
after(() => {
  for (const s of servers) s.close();
});

test('a region that stops being permitted after its entry was recorded is skipped, never sent', async () => {
  const topology = topologyFrom({
    jurisdictions: { EU: ['DE', 'FR'] },
    regions: [
      { id: 'a', jurisdiction: 'EU', country: 'DE', url: urls.a },
      { id: 'b', jurisdiction: 'EU', country: 'FR', url: urls.b },
    ],
    // The forwarder's choice of regions is under test, not the channel: plain HTTP stand-in cells.
    mesh: { mode: 'plaintext' },
  });
  const health = new HealthMonitor(topology.regions.map((r) => ({ region: r.id, url: r.url })), { intervalMs: 1000 });
  await health.probe('a');
  await health.probe('b');
  const suspended = new Set<string>();
  const recorded: string[] = [];
  // Records for other regions (a transfer in the subjects' home region) are made before sending.
  const recorder = {
    recordElsewhere: async (records: readonly PendingRecord[]): Promise<void> => {
      for (const r of records) {
        recorded.push(r.region);
        // The legal trigger lands while the transfer to region a is being recorded.
        if (r.entry.region === 'a') suspended.add('a');
      }
    },
  };
  const forwarder = new Forwarder(topology, health, await Mesh.open(topology, 'spiffe://sovereign.internal/gateway/test', pino({ level: 'silent' })), recorder);
  const d = { id: 'd1', tenant: null, candidates: ['a', 'b'], permitted: ['a', 'b'] } as unknown as Decision;
  const sha = EMPTY_BODY_SHA;
  const out = await forwarder.send(d, chatForward('d1', {
    permitted: (r) => !suspended.has(r),
    plan: (region, before) => ({
      record: { entry: { v: 1, kind: 'decision', decision_id: 'd1', region, attempts: before.map((a) => ({ region: a.region, outcome: a.outcome })) }, body_sha256: sha },
      elsewhere: [{ region: 'home', entry: { v: 1, kind: 'decision', outcome: 'transfer', region }, body_sha256: sha }],
    }),
  }));
  assert.ok(out.ok);
  assert.equal(out.region, 'b');
  assert.equal(out.receipt, 'origin/b 1');
  assert.equal(hits.a, 0, 'the suspended region received the request');
  assert.equal(hits.b, 1);
  assert.deepEqual(recorded, ['home', 'home']);
  assert.deepEqual(out.attempts.map((a) => `${a.region}=${a.outcome}`), ['a=skipped', 'b=ok']);
  if (!Buffer.isBuffer(out.body)) out.body.resume();
  await forwarder.close();
});

/** A stand-in cell on a free port answering with `handler`; closed after the test. */
async function standIn(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  servers.push(s);
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

async function forwarderTo(url: string, requestTimeoutMs = 60_000): Promise<{ forwarder: Forwarder; health: HealthMonitor }> {
  const topology = topologyFrom({
    jurisdictions: { EU: ['DE'] },
    regions: [{ id: 'a', jurisdiction: 'EU', country: 'DE', url }],
    gateway: { requestTimeoutMs },
    mesh: { mode: 'plaintext' },
  });
  const health = new HealthMonitor([{ region: 'a', url }], { intervalMs: 1000 });
  await health.probe('a');
  const mesh = await Mesh.open(topology, 'spiffe://sovereign.internal/gateway/test', pino({ level: 'silent' }));
  return { forwarder: new Forwarder(topology, health, mesh, { recordElsewhere: async () => undefined }), health };
}

const oneRegion = { id: 'd2', tenant: null, candidates: ['a'], permitted: ['a'] } as unknown as Decision;
const request = (signal: AbortSignal): Parameters<Forwarder['send']>[1] => chatForward('d2', {}, signal);

test('a complete answer of known length is relayed whole, with every header the client is owed', async () => {
  const answer = JSON.stringify({ choices: [{ message: { content: 'x'.repeat(2000) } }] });
  const url = await standIn((req, res) => {
    if (req.url === '/v2/health/ready') return void res.end('{}');
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-sovereign-model-version': 'm@1 sha256:abc',
      'retry-after': '3',
      'x-sovereign-ledger': 'origin/a 7',
      'server-timing': 'record;dur=1.25',
      'content-length': String(Buffer.byteLength(answer)),
      'x-internal': 'not for the client',
    });
    // Headers and body in separate writes: the relay still waits for the whole body.
    res.flushHeaders();
    setTimeout(() => res.end(answer), 20);
  });
  const { forwarder, health } = await forwarderTo(url);
  const out = await forwarder.send(oneRegion, request(new AbortController().signal));
  assert.ok(out.ok);
  assert.ok(Buffer.isBuffer(out.body), 'a bounded answer is one buffer');
  assert.equal(out.body.toString(), answer);
  assert.deepEqual(out.headers, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-sovereign-model-version': 'm@1 sha256:abc', 'retry-after': '3' });
  assert.equal(out.receipt, 'origin/a 7');
  assert.equal(out.recordMs, 1.25);
  assert.equal(health.get('a')?.inflight, 0, 'the attempt is over once the body is read');
  await forwarder.close();
});

test('an event stream and an answer of unknown length stay streams', async () => {
  const url = await standIn((req, res) => {
    if (req.url === '/v2/health/ready') return void res.end('{}');
    const sse = req.url === '/sse';
    res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json', 'x-sovereign-ledger': 'origin/a 1' });
    res.write(sse ? 'data: 1\n\n' : '{"a":');
    setTimeout(() => res.end(sse ? 'data: [DONE]\n\n' : '1}'), 20);
  });
  const { forwarder, health } = await forwarderTo(url);
  for (const [path, expected] of [['/sse', 'data: 1\n\ndata: [DONE]\n\n'], ['/chunked', '{"a":1}']] as const) {
    const out = await forwarder.send(oneRegion, { ...request(new AbortController().signal), path });
    assert.ok(out.ok);
    assert.ok(!Buffer.isBuffer(out.body), `${path}: relayed as it streams`);
    let text = '';
    for await (const c of out.body) text += String(c);
    assert.equal(text, expected);
  }
  await new Promise((r) => setImmediate(r));
  assert.equal(health.get('a')?.inflight, 0);
  await forwarder.close();
});

test('the client going away aborts the forward: the region sees the request end, and nothing is left in flight', async () => {
  let arrived!: () => void;
  const arrival = new Promise<void>((r) => (arrived = r));
  let closedAtCell!: () => void;
  const cellSawClose = new Promise<void>((r) => (closedAtCell = r));
  const url = await standIn((req, res) => {
    if (req.url === '/v2/health/ready') return void res.end('{}');
    // Holds the request (a slow model) until the gateway gives it up.
    res.once('close', () => closedAtCell());
    arrived();
  });
  const { forwarder, health } = await forwarderTo(url);
  const client = new AbortController();
  const sent = forwarder.send(oneRegion, request(client.signal));
  await arrival;
  client.abort(new Error('client closed the connection'));
  await assert.rejects(sent);
  await cellSawClose;
  assert.equal(health.get('a')?.inflight, 0);
  await forwarder.close();
});

test('the deadline across attempts ends an attempt that gets no answer, as a timeout', async () => {
  const url = await standIn((req, res) => {
    if (req.url === '/v2/health/ready') return void res.end('{}');
    // Never answers.
  });
  const { forwarder } = await forwarderTo(url, 300);
  const started = Date.now();
  const out = await forwarder.send(oneRegion, request(new AbortController().signal));
  assert.equal(out.ok, false);
  assert.deepEqual(out.attempts.map((a) => `${a.region}=${a.outcome}`), ['a=timeout']);
  assert.ok(Date.now() - started < 5000);
  await forwarder.close();
});

test('a region that fails mid-stream: the relayed event stream ends with an error event naming the region', async () => {
  const url = await standIn((req, res) => {
    if (req.url === '/v2/health/ready') return void res.end('{}');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-sovereign-ledger': 'origin/a 2' });
    res.write('data: {"n":1}\n\n');
    // The region dies after the first event.
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const { forwarder, health } = await forwarderTo(url);
  const out = await forwarder.send(oneRegion, request(new AbortController().signal));
  assert.ok(out.ok);
  assert.ok(!Buffer.isBuffer(out.body));
  let text = '';
  for await (const c of out.body) text += String(c);
  assert.ok(text.startsWith('data: {"n":1}\n\n'), text);
  const last = JSON.parse(text.trim().split('\n').pop()?.replace(/^data: /, '') ?? '{}') as { error?: { type?: string; region?: string } };
  assert.equal(last.error?.type, 'region_failed_mid_stream');
  assert.equal(last.error?.region, 'a');
  await new Promise((r) => setImmediate(r));
  assert.equal(health.get('a')?.inflight, 0);
  await forwarder.close();
});

test('a client error the region answered before recording is relayed without a receipt; a success without one is not relayed', async () => {
  const url = await standIn((req, res) => {
    if (req.url === '/v2/health/ready') return void res.end('{}');
    // The cell refuses an over-limit input before it appends the record: no receipt.
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":"context_length_exceeded"}}');
  });
  const { forwarder } = await forwarderTo(url);
  const out = await forwarder.send(oneRegion, request(new AbortController().signal));
  assert.ok(out.ok);
  assert.equal(out.status, 400);
  assert.equal(out.receipt, null);
  assert.deepEqual(out.attempts.map((a) => `${a.region}=${a.outcome}`), ['a=client_error']);
  await forwarder.close();

  // A 200 with no receipt is a region that ignored the record: never relayed as served.
  const silent = await standIn((req, res) => {
    if (req.url === '/v2/health/ready') return void res.end('{}');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const f2 = await forwarderTo(silent);
  const out2 = await f2.forwarder.send(oneRegion, request(new AbortController().signal));
  assert.equal(out2.ok, false);
  assert.deepEqual(out2.attempts.map((a) => `${a.region}=${a.outcome}`), ['a=ledger_unavailable']);
  await f2.forwarder.close();
});
