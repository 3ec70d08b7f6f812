// A cell refuses what it will refuse before it appends the decision record that travels with a
// request: a body outside the route's schema (400), a model the region does not serve (404), a
// request over its model's input limit (400) and one the inference gate would turn away (429,
// queue full) leave nothing in the log, so the log says "routed to this region" only
// for requests the region went on to process. A request it takes is still recorded before the
// model sees it. The model is a real HTTP server that can be held, to fill the gate; the log is
// a list the record function appends to.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { request } from 'undici';
import { buildCellServer } from '../../src/cell/server.ts';
import { UpstreamRuntime } from '../../src/cell/upstream-runtime.ts';
import { RECORD_HEADER, encodeRecord, type ForwardRecord } from '../../src/common/index.ts';
import { chatBody, decisionFor, sha256 } from '../helpers/one-hop.ts';

const REGION = 'eu-frankfurt';
const INPUT_LIMIT = 64;
let model: Server;
let cell: ReturnType<typeof buildCellServer>;
let cellUrl: string;
/** The region's log: the decision ids appended, in order. */
const log: string[] = [];
/** For each request the model received: how many records the log held then. */
const modelSaw: { content: string; logSize: number }[] = [];
/** While set, the model answers only once it resolves (to keep the gate's slot taken). */
let hold: Promise<void> | null = null;

before(async () => {
  model = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: { content: string }[] };
      modelSaw.push({ content: body.messages[0]?.content ?? '', logSize: log.length });
      const answer = JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'llama-3-8b', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
      void (hold ?? Promise.resolve()).then(() => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer));
    });
  });
  await new Promise<void>((r) => model.listen(0, '127.0.0.1', () => r()));
  const port = (model.address() as { port: number }).port;
  cell = buildCellServer({
    region: REGION,
    runtime: new UpstreamRuntime({ kind: 'upstream', url: `http://127.0.0.1:${port}`, protocol: 'openai' } as ConstructorParameters<typeof UpstreamRuntime>[0], ['llama-3-8b'], REGION, 64),
    bodyLimit: 1 << 20,
    logger: pino({ level: 'silent' }),
    inputLimit: (m) => (m === 'llama-3-8b' ? INPUT_LIMIT : undefined),
    // One runs, one waits, the next is refused.
    maxConcurrentInference: 1,
    maxQueuedInference: 1,
    record: async (r: ForwardRecord) => {
      // Durable after a moment, as a group commit is.
      await new Promise((res) => setTimeout(res, 5));
      log.push(String(r.entry.decision_id));
      return { origin: 'test', index: log.length - 1 };
    },
  });
  await cell.listen({ host: '127.0.0.1', port: 0 });
  cellUrl = `http://127.0.0.1:${(cell.server.address() as { port: number }).port}`;
});

after(async () => {
  await cell?.close();
  model?.close();
});

type Answer = { status: number; headers: Record<string, unknown>; json: { error?: { type: string; code?: string; message?: string } } };

/** A request with its decision record (for a body, its digest), as the gateway sends one. */
async function sendWithRecord(id: string, method: 'GET' | 'POST', path: string, body: Buffer | null): Promise<Answer> {
  const res = await request(`${cellUrl}${path}`, {
    method,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      'x-sovereign-decision-id': id,
      [RECORD_HEADER]: encodeRecord({ entry: decisionFor(id, REGION), body_sha256: sha256(body ?? Buffer.alloc(0)) }),
    },
    body,
  });
  return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as Answer['json'] };
}

const send = (id: string, text: string): Promise<Answer> => sendWithRecord(id, 'POST', '/v1/chat/completions', chatBody(text));

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends with `send()` and checks the answer is `status`, without a receipt, with the log and the model untouched. */
async function refusedUnrecorded(status: number, send: () => Promise<Answer>): Promise<Answer> {
  const size = log.length;
  const seen = modelSaw.length;
  const res = await send();
  assert.equal(res.status, status);
  assert.equal(res.headers['x-sovereign-ledger'], undefined, 'answered without a receipt');
  assert.equal(log.length, size, 'the refused request is not in the log');
  assert.equal(modelSaw.length, seen, 'the model was not sent the request');
  return res;
}

test('a request over its model\'s input limit is refused with 400 and nothing is appended to the log', async () => {
  const res = await refusedUnrecorded(400, () => send('too-long-1', 'x'.repeat(INPUT_LIMIT + 1)));
  assert.equal(res.json.error?.code, 'context_length_exceeded');
});

test('a body outside the route\'s schema is refused with 400 and nothing is appended to the log', async () => {
  // A chat request without its messages.
  const res = await refusedUnrecorded(400, () => sendWithRecord('no-messages-1', 'POST', '/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'llama-3-8b' }))));
  assert.equal(res.json.error?.type, 'invalid_request_error');
  assert.match(res.json.error?.message ?? '', /messages/);
});

test('a model this region does not serve is refused with 404 and nothing is appended to the log', async () => {
  const chat = await refusedUnrecorded(404, () => sendWithRecord('unknown-model-1', 'POST', '/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'gpt-unknown', messages: [{ role: 'user', content: 'hi' }] }))));
  assert.match(chat.json.error?.message ?? '', /"gpt-unknown" is not served in region eu-frankfurt/);
  // The V2 model metadata route takes a record too.
  await refusedUnrecorded(404, () => sendWithRecord('unknown-model-2', 'GET', '/v2/models/gpt-unknown', null));
  // A served model's metadata is recorded and answered.
  const served = await sendWithRecord('known-model-1', 'GET', '/v2/models/llama-3-8b', null);
  assert.equal(served.status, 200);
  assert.equal(served.headers['x-sovereign-ledger'], `test ${log.indexOf('known-model-1')}`);
});

test('a request the busy gate would refuse is answered 429 before its record is appended', async () => {
  let letGo = (): void => {};
  hold = new Promise<void>((r) => (letGo = r));
  try {
    // One request takes the slot (held by the model), one waits in the queue.
    const running = send('busy-running', 'first');
    await until('the first request to reach the model', () => modelSaw.length > 0 && log.includes('busy-running'));
    const queued = send('busy-queued', 'second');
    await until('the second request to be recorded', () => log.includes('busy-queued'));
    // Recorded, it enters the gate's queue at once (no I/O in between); give it the turn.
    await new Promise((r) => setTimeout(r, 20));
    const size = log.length;
    const refused = await send('busy-refused', 'third');
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error?.code, 'cell_busy');
    assert.equal(refused.headers['x-sovereign-cell-refused'], 'busy');
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers['x-sovereign-ledger'], undefined, 'answered without a receipt');
    assert.equal(log.length, size, 'the refused request is not in the log');
    assert.ok(!log.includes('busy-refused'));
    letGo();
    assert.equal((await running).status, 200);
    assert.equal((await queued).status, 200);
  } finally {
    letGo();
    hold = null;
  }
  assert.ok(!modelSaw.some((s) => s.content === 'third'), 'the refused request did not reach the model');
});

test('a request the cell takes is still recorded before the model sees it, and answered with its receipt', async () => {
  const res = await send('taken-1', 'within the limit');
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-sovereign-ledger'], `test ${log.indexOf('taken-1')}`);
  const saw = modelSaw.find((s) => s.content === 'within the limit');
  assert.ok(saw, 'the model was sent the request');
  assert.equal(log[saw.logSize - 1], 'taken-1', 'the record was durable when the model got the request');
});
