// One hop: a request that carries its decision record (x-sovereign-record) is recorded in the
// cell's own log before any byte of it reaches the model, and answered with the receipt. The
// model is a real HTTP model server process that reports what it received, so "the model was
// not invoked" is read from the model server itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { startCell, type RunningCell } from '../../src/cell/index.ts';
import { RECORD_HEADER, encodeRecord, type ForwardRecord } from '../../src/common/index.ts';
import { MAX_ENTRY_JURISDICTIONS } from '../../src/common/jurisdictions.ts';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { initTrustDomain } from '../../src/mesh/index.ts';
import { parseEntry } from '../../src/ledger/index.ts';
import { meshClient, type MeshClient } from '../helpers/mesh.ts';
import { chatBody, decisionFor, received, sha256, startModelServer } from '../helpers/one-hop.ts';
import { freePort } from '../helpers/ports.ts';

const REGION = 'uae-dubai';
/** llama-3-8b's input limit here (UTF-8 bytes of model input). */
const INPUT_LIMIT = 4096;
let model: ChildProcess;
let modelUrl: string;
let topology: Topology;
let cell: RunningCell;
let gw: MeshClient;

before(async () => {
  ({ proc: model, url: modelUrl } = await startModelServer());
  topology = topologyFrom({
    dataDir: mkdtempSync(path.join(tmpdir(), 'sovereign-onehop-')),
    jurisdictions: { AE: ['AE'], EU: ['FR'] },
    models: { 'llama-3-8b': { maxInputBytes: INPUT_LIMIT } },
    regions: [
      { id: REGION, jurisdiction: 'AE', country: 'AE', url: `http://127.0.0.1:${await freePort()}`, runtime: { kind: 'upstream', url: modelUrl }, models: ['llama-3-8b'] },
      { id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: `http://127.0.0.1:${await freePort()}`, runtime: { kind: 'upstream', url: modelUrl }, models: ['llama-3-8b'] },
    ],
  });
  await initTrustDomain(topology);
  cell = await startCell({ topology, region: REGION, logger: pino({ level: 'silent' }) });
  gw = await meshClient(topology);
});

after(async () => {
  await gw?.close();
  await cell?.close();
  model?.kill('SIGTERM');
});

async function send(client: MeshClient, body: Buffer, record: ForwardRecord, pathname = '/v1/chat/completions'): Promise<{ status: number; headers: Record<string, unknown>; json: Record<string, unknown> }> {
  const res = await client.request(`${cell.url}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json', [RECORD_HEADER]: encodeRecord(record), 'x-sovereign-decision-id': String(record.entry.decision_id) }, body });
  return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as Record<string, unknown> };
}

test('a record whose body digest does not match the bytes received is refused with 400: nothing recorded, nothing sent to the model', async () => {
  const before = cell.ledger.ledger.size;
  const seen = (await received(modelUrl)).length;
  const body = chatBody('the bytes that arrive');
  const res = await send(gw, body, { entry: decisionFor('mismatch-1', REGION), body_sha256: sha256(chatBody('other bytes')) });
  assert.equal(res.status, 400);
  assert.equal(res.headers['x-sovereign-record-refused'], 'invalid');
  assert.equal((res.json.error as { type: string }).type, 'record_mismatch');
  assert.match((res.json.error as { message: string }).message, /body_sha256 .* is not the SHA-256 of the \d+-byte body received/);
  assert.equal(cell.ledger.ledger.size, before, 'the refused record is not in the log');
  assert.equal((await received(modelUrl)).length, seen, 'the model server was sent the request');
});

test('a request over its model\'s input limit is refused with 400 before its record is appended: nothing recorded, nothing sent to the model', async () => {
  const before = cell.ledger.ledger.size;
  const seen = (await received(modelUrl)).length;
  const body = chatBody('x'.repeat(INPUT_LIMIT + 1));
  const res = await send(gw, body, { entry: decisionFor('too-long-1', REGION), body_sha256: sha256(body) });
  assert.equal(res.status, 400);
  assert.equal((res.json.error as { code: string }).code, 'context_length_exceeded');
  assert.equal(res.headers['x-sovereign-ledger'], undefined, 'answered without a receipt');
  assert.equal(cell.ledger.ledger.size, before, 'the refused request is not in the log');
  assert.equal((await received(modelUrl)).length, seen, 'the model server was sent the request');
});

test('a record for another region, or a malformed one, is refused with 400 before the model is invoked', async () => {
  const seen = (await received(modelUrl)).length;
  const body = chatBody('hello');
  const other = await send(gw, body, { entry: decisionFor('elsewhere-1', 'eu-paris'), body_sha256: sha256(body) });
  assert.equal(other.status, 400);
  assert.match((other.json.error as { message: string }).message, /record is for region eu-paris; this is region uae-dubai/);
  const res = await gw.request(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', [RECORD_HEADER]: 'not-json' }, body });
  assert.equal(res.statusCode, 400);
  assert.match(((await res.body.json()) as { error: { message: string } }).error.message, /x-sovereign-record: not base64url-encoded JSON/);
  assert.equal((await received(modelUrl)).length, seen);
});

test('a non-gateway identity cannot send a record-carrying request (403), even on an endpoint it may call', async () => {
  const before = cell.ledger.ledger.size;
  const seen = (await received(modelUrl)).length;
  const other = await meshClient(topology, 'spiffe://sovereign.internal/region/eu-paris/cell');
  try {
    const body = chatBody('forged');
    const res = await send(other, body, { entry: decisionFor('forged-1', REGION), body_sha256: sha256(body) });
    assert.equal(res.status, 403);
    assert.match((res.json.error as { message: string }).message, /region\/eu-paris\/cell may not send a decision record/);
    // A cell of another jurisdiction may read this region's keys, but not with a record attached.
    const keys = await other.request(`${cell.url}/sovereign/ledger/${REGION}/key`, { headers: { [RECORD_HEADER]: encodeRecord({ entry: decisionFor('forged-2', REGION), body_sha256: sha256(Buffer.alloc(0)) }) } });
    assert.equal(keys.statusCode, 403);
    await keys.body.dump();
    const plain = await other.request(`${cell.url}/sovereign/ledger/${REGION}/key`);
    assert.equal(plain.statusCode, 200);
    await plain.body.dump();
  } finally {
    await other.close();
  }
  assert.equal(cell.ledger.ledger.size, before);
  assert.equal((await received(modelUrl)).length, seen);
});

test('property: the receipt returned for a request is the entry of its decision in the serving region\'s log, recorded before the model saw it', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uuid(), fc.string({ minLength: 1, maxLength: 200 }), fc.boolean(), async (id, text, stream) => {
      const body = Buffer.from(JSON.stringify({ model: 'llama-3-8b', stream, messages: [{ role: 'user', content: text }] }));
      const res = await gw.request(`${cell.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [RECORD_HEADER]: encodeRecord({ entry: decisionFor(id, REGION), body_sha256: sha256(body) }), 'x-sovereign-decision-id': id },
        body,
      });
      await res.body.dump();
      assert.equal(res.statusCode, 200);
      const [origin, index] = String(res.headers['x-sovereign-ledger']).split(' ');
      assert.equal(origin, topology.ledgerOrigin(REGION), 'the receipt names the serving region\'s log');
      assert.equal(res.headers['x-sovereign-region'], REGION);
      const entry = parseEntry(cell.ledger.ledger.entry(Number(index)));
      assert.equal(entry.kind, 'decision');
      if (entry.kind !== 'decision') return;
      assert.equal(entry.decision_id, id);
      assert.equal(entry.region, REGION);
      // The region keyed the digest of exactly the bytes it received.
      assert.equal(entry.request_hash, cell.ledger.ledger.requestHash(Buffer.from(sha256(body), 'hex')));
      // And the model server got the request after the record was durable.
      const last = (await received(modelUrl)).at(-1);
      assert.equal((JSON.parse(last?.body ?? '{}') as { messages: { content: string }[] }).messages[0]?.content, text);
    }),
    { numRuns: 25 },
  );
});

test('property: a record whose entry the ledger schema refuses is refused with 400, nothing appended, the model not invoked (the entry is validated once, by the ledger)', async () => {
  // Each way to break a decision entry that the envelope check alone would let through.
  const breakers: ((e: Record<string, unknown>) => Record<string, unknown>)[] = [
    (e) => ({ ...e, email: 'someone@example.com' }), // a member outside the strict schema
    (e) => ({ ...e, data_class: 'secret' }),
    (e) => ({ ...e, v: 2 }),
    (e) => ({ ...e, time: 'yesterday' }),
    (e) => ({ ...e, decision_id: '' }),
    (e) => ({ ...e, jurisdictions: Array.from({ length: MAX_ENTRY_JURISDICTIONS + 1 }, () => ({ jurisdiction: 'AE', source: 'geoip' })) }),
    (e) => ({ ...e, attempts: [{ region: REGION, outcome: 'ok', extra: 1 }] }),
    (e) => {
      const { tenant: _t, ...rest } = e;
      return rest;
    },
  ];
  await fc.assert(
    fc.asyncProperty(fc.uuid(), fc.integer({ min: 0, max: breakers.length - 1 }), async (id, which) => {
      const before = cell.ledger.ledger.size;
      const seen = (await received(modelUrl)).length;
      const body = chatBody(`bad record ${id}`);
      const entry = (breakers[which] as (e: Record<string, unknown>) => Record<string, unknown>)(decisionFor(id, REGION));
      const res = await send(gw, body, { entry, body_sha256: sha256(body) });
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.headers['x-sovereign-record-refused'], 'invalid');
      assert.match((res.json.error as { message: string }).message, /ledger entry rejected/);
      assert.equal(cell.ledger.ledger.size, before, 'nothing was appended');
      assert.equal((await received(modelUrl)).length, seen, 'the model server was sent the request');
    }),
    { numRuns: 30 },
  );
});
