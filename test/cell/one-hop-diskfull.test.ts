// A region whose log cannot write is never sent the payload: with the cell's ledger on a full
// disk (a small tmpfs, so root), a request that carries its decision record is answered 503
// ledger_unavailable and the region's model server receives nothing; the gateway's forwarder
// counts the region as unable to record and sends the request nowhere else it may not go.
// Skipped with the reason without root, required under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startCell } from '../../src/cell/index.ts';
import { RECORD_HEADER, encodeRecord } from '../../src/common/index.ts';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { Forwarder, newClientWatch } from '../../src/gateway/forward.ts';
import type { Decision } from '../../src/gateway/decision.ts';
import { HealthMonitor } from '../../src/health/index.ts';
import { Mesh, initTrustDomain, spiffeId } from '../../src/mesh/index.ts';
import { meshClient } from '../helpers/mesh.ts';
import { chatBody, decisionFor, received, sha256, startModelServer } from '../helpers/one-hop.ts';
import { freePort } from '../helpers/ports.ts';
import { fill, mountTmpfs } from '../helpers/tmpfs.ts';

const REGION = 'uae-dubai';
const root = mkdtempSync(path.join(tmpdir(), 'sovereign-onehop-full-'));
const port = await freePort();
const topologyFor = (modelUrl: string): Topology =>
  topologyFrom({
    dataDir: path.join(root, 'data'),
    jurisdictions: { AE: ['AE'] },
    regions: [{ id: REGION, jurisdiction: 'AE', country: 'AE', url: `http://127.0.0.1:${port}`, runtime: { kind: 'upstream', url: modelUrl }, models: ['llama-3-8b'] }],
  });
// The log's write-ahead log, where an append becomes durable, is in its private state directory.
const ledgerDir = path.join(topologyFor('http://127.0.0.1:1').regionDataDir(REGION), 'ledger-state');
mkdirSync(ledgerDir, { recursive: true });
const why = mountTmpfs(ledgerDir, '8m');
if (why !== null && process.env.CI === 'true') throw new Error(`the one-hop disk-full test must run under CI: ${why}`);

test('a cell whose log cannot append answers 503 ledger_unavailable and never invokes the model', { skip: why ?? false, timeout: 180_000 }, async (t) => {
  // Hooks run in the order they are added: the cell first, the file system it writes to last.
  const closers: (() => unknown)[] = [];
  t.after(async () => {
    for (const c of closers.reverse()) await c();
    execFileSync('umount', [ledgerDir], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  });
  const model = await startModelServer();
  closers.push(() => model.proc.kill('SIGTERM'));
  // The region's model server is the real process started above.
  const topo = topologyFor(model.url);
  await initTrustDomain(topo);
  const cell = await startCell({ topology: topo, region: REGION, logger: pino({ level: 'silent' }) });
  closers.push(() => cell.close());
  const gw = await meshClient(topo);
  closers.push(() => gw.close());

  // While the disk has room, a record-carrying request is recorded and served.
  const okBody = chatBody('before the disk filled up');
  const ok = await gw.request(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', [RECORD_HEADER]: encodeRecord({ entry: decisionFor('full-0', REGION), body_sha256: sha256(okBody) }) }, body: okBody });
  await ok.body.dump();
  assert.equal(ok.statusCode, 200);
  assert.ok((await received(model.url)).some((r) => r.body.includes('before the disk filled up')));

  // Fill the disk, then append until even a single entry cannot be written (the write-ahead
  // log is preallocated ahead of its end, and after a failed write it is cut back, so smaller
  // writes may still fit for a while).
  fill(path.join(ledgerDir, 'filler'));
  let n = 0;
  const exhaust = async (): Promise<void> => {
    for (const width of [500, 50, 5, 1]) {
      for (let round = 0; round < 2000; round++) {
        const settled = await Promise.allSettled(Array.from({ length: width }, () => cell.ledger.ledger.append({ ...decisionFor(`filler-${n++}`, REGION), request_hash: 'ab'.repeat(32) })));
        if (settled.some((r) => r.status === 'rejected')) break;
      }
    }
  };
  // The request is sent right after a single append failed; a page with room left for it may
  // still take it (then it is served, rightly), so the round is repeated until the log refuses.
  let refused: { status: number; headers: Record<string, unknown>; error: { type: string }; marker: string; size: number } | null = null;
  let body: Buffer = Buffer.alloc(0);
  for (let round = 0; round < 20 && refused === null; round++) {
    await exhaust();
    const marker = `this must not reach the model ${round}`;
    body = chatBody(marker);
    const size = cell.ledger.ledger.size;
    const res = await gw.request(`${cell.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', [RECORD_HEADER]: encodeRecord({ entry: decisionFor(`full-${round}`, REGION), body_sha256: sha256(body) }) }, body });
    const answer = (await res.body.json()) as { error: { type: string } };
    if (res.statusCode !== 200) refused = { status: res.statusCode, headers: res.headers, error: answer.error, marker, size };
  }
  assert.ok(refused, 'the full disk never refused a record');
  assert.equal(refused.status, 503);
  assert.equal(refused.error.type, 'ledger_unavailable');
  assert.equal(refused.headers['x-sovereign-record-refused'], 'unavailable');
  assert.equal(refused.headers['x-sovereign-ledger'], undefined, 'no receipt without a record');
  assert.equal(cell.ledger.ledger.size, refused.size, 'nothing was added to the log');
  assert.ok(!(await received(model.url)).some((r) => r.body.includes(refused.marker)), 'the model server received a request its region could not record');

  await exhaust();
  // The gateway's forwarder: the region is an attempt that could not record, and nothing is served.
  const mesh = await Mesh.open(topo, spiffeId.gateway(topo.data.mesh.trustDomain, 'test'), pino({ level: 'silent' }));
  closers.push(() => mesh.close());
  const health = new HealthMonitor([{ region: REGION, url: mesh.cellOrigin(REGION), dispatcher: mesh.cellClient(REGION) }], { intervalMs: 1000 });
  await health.probe(REGION);
  const forwarder = new Forwarder(topo, health, mesh, { recordElsewhere: async () => undefined });
  closers.push(() => forwarder.close());
  body = chatBody('forwarded, must not reach the model');
  const d = { id: 'full-2', tenant: null, candidates: [REGION], permitted: [REGION], dataClass: 'internal', retentionDays: 0, subject: null } as unknown as Decision;
  const out = await forwarder.send(d, {
    model: 'llama-3-8b',
    method: 'POST',
    path: '/v1/chat/completions',
    body,
    contentType: 'application/json',
    client: newClientWatch(),
    permitted: () => true,
    plan: (region) => ({ record: { entry: decisionFor('full-2', region), body_sha256: sha256(body) }, elsewhere: [] }),
  });
  assert.equal(out.ok, false);
  assert.deepEqual(out.attempts.map((a) => `${a.region}=${a.outcome}`), [`${REGION}=ledger_unavailable`]);

  assert.ok(!(await received(model.url)).some((r) => r.body.includes('forwarded, must not reach the model')), 'the model server received a request its region could not record');
});
