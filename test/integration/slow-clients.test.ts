// No client can wear the gateway down: stalled bodies and headers are answered 408 and closed
// after their timeouts, a client address holds a bounded number of connections (then 429),
// and every error of the HTTP layer comes in the documented shape, closed cleanly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { startCluster, type Cluster } from '../helpers/cluster.ts';

const BODY_TIMEOUT_MS = 3000;
const HEADERS_TIMEOUT_MS = 2000;
const PER_CLIENT = 230;

let c: Cluster;
let port: number;

before(async () => {
  // One gateway process: the descriptors counted and the per-client limit are a process's own.
  c = await startCluster({ gateway: { bodyTimeoutMs: BODY_TIMEOUT_MS, headersTimeoutMs: HEADERS_TIMEOUT_MS, maxConnectionsPerClient: PER_CLIENT, workers: 1 } });
  port = Number(new URL(c.gateway).port);
});
after(async () => {
  await c?.stop();
});

const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  answer: string;
  closedAfterMs: number;
  error?: string;
}

/** Opens a connection, writes `data`, and reports what came back and when the connection closed. */
function stalled(data: string, keepMs: number): { socket: Socket; done: Promise<Outcome> } {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  let answer = '';
  let error: string | undefined;
  socket.on('data', (b: Buffer) => (answer += b.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  socket.write(data);
  const giveUp = setTimeout(() => socket.destroy(), keepMs);
  const done = new Promise<Outcome>((resolve) =>
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve({ answer, closedAfterMs: Date.now() - started, ...(error ? { error } : {}) });
    }),
  );
  return { socket, done };
}

const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
const bodyOf = (answer: string): { error: { type: string; message: string } } => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { type: string; message: string } };

test('200 stalled bodies are all answered 408 and closed within the body timeout; descriptors return to baseline', async (t) => {
  const pid = c.pidOf('gateway');
  await sleep(500);
  const baseline = fds(pid);
  const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nx-sovereign-jurisdiction: DE\r\n\r\n{"mod`;
  const conns = Array.from({ length: 200 }, () => stalled(head, BODY_TIMEOUT_MS + 20_000));
  // The most descriptors seen while the connections stall (a loaded machine accepts them slowly).
  let during = 0;
  for (let waited = 0; waited < BODY_TIMEOUT_MS - 500 && during < baseline + 200; waited += 100) {
    during = Math.max(during, fds(pid));
    await sleep(100);
  }
  const outcomes = await Promise.all(conns.map((x) => x.done));
  const slowest = Math.max(...outcomes.map((o) => o.closedAfterMs));
  await sleep(300);
  const afterwards = fds(pid);
  t.diagnostic(`gateway descriptors: baseline ${baseline}, with 200 stalled ${during}, after ${afterwards}; all closed by ${slowest} ms (body timeout ${BODY_TIMEOUT_MS} ms)`);
  assert.ok(during >= baseline + 150, `the stalled connections were open (${during} descriptors)`);
  for (const o of outcomes) {
    assert.equal(statusOf(o.answer), 408, o.answer || o.error);
    assert.equal(bodyOf(o.answer).error.type, 'request_timeout');
    assert.equal(o.error, undefined, 'closed cleanly, not reset');
  }
  // Each timer runs from the gateway's accept: on a loaded 2-core machine accepting 200
  // connections has taken up to ~4 s, so the bound leaves room for that. A gateway that did not
  // enforce the timeout would hold them until the client gives up (20 s later).
  assert.ok(slowest < BODY_TIMEOUT_MS + 6000, `slowest close after ${slowest} ms`);
  assert.ok(afterwards <= baseline + 2, `descriptors ${afterwards} vs baseline ${baseline}`);
  // Answered once: the operator's log holds no second answer attempt per stalled client.
  const log = readFileSync(path.join(c.dir, 'data', 'logs', 'gateway.log'), 'utf8');
  assert.equal(log.match(/Reply was already sent/g)?.length ?? 0, 0, 'the gateway tried to answer a stalled request twice');
});

test('headers that never finish are answered 408 in the documented shape and closed', async () => {
  const conns = Array.from({ length: 20 }, () => stalled('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n', HEADERS_TIMEOUT_MS + 20_000));
  const outcomes = await Promise.all(conns.map((x) => x.done));
  for (const o of outcomes) {
    assert.equal(statusOf(o.answer), 408, o.answer);
    assert.equal(bodyOf(o.answer).error.type, 'request_timeout');
    assert.ok(o.closedAfterMs < HEADERS_TIMEOUT_MS + 1500, `closed after ${o.closedAfterMs} ms`);
  }
});

test('connections over the per-client limit get 429 and are closed; the others are served', async () => {
  const conns: { socket: Socket; done: Promise<Outcome> }[] = [];
  for (let i = 0; i < PER_CLIENT + 10; i++) conns.push(stalled('', 5000));
  await sleep(500);
  const ok = await fetch(`${c.gateway}/v2/health/live`).catch((e: Error) => e);
  for (const x of conns) x.socket.destroy();
  const outcomes = await Promise.all(conns.map((x) => x.done));
  const refused = outcomes.filter((o) => statusOf(o.answer) === 429);
  assert.ok(refused.length >= 10, `${refused.length} refused`);
  assert.equal(bodyOf(refused[0]?.answer ?? '').error.type, 'too_many_connections');
  // While the limit was reached, a new connection of the same address was refused too.
  assert.ok(ok instanceof Error || ok.status === 429, 'the limit applied to every connection of the address');
  await sleep(300);
  assert.equal((await fetch(`${c.gateway}/v2/health/live`)).status, 200, 'served again once the connections closed');
});

test('parser errors come in the documented shape: 431 and conflicting lengths', async () => {
  const big = stalled(`GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 5000);
  const o1 = await big.done;
  assert.equal(statusOf(o1.answer), 431);
  assert.equal(bodyOf(o1.answer).error.type, 'request_header_fields_too_large');
  const both = stalled('POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 5000);
  const o2 = await both.done;
  assert.equal(statusOf(o2.answer), 400);
  assert.equal(bodyOf(o2.answer).error.type, 'invalid_request_error');
});

test('an 11 MB body gets its 413 from the declared length, and a clean close, every time', async () => {
  const body = Buffer.alloc(11 * 1024 * 1024, 0x20);
  for (let i = 0; i < 5; i++) {
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } }, (r) => {
        let text = '';
        r.on('data', (b: Buffer) => (text += b.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        r.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.text) as { error: { type: string } }).error.type, 'request_too_large');
  }
});
