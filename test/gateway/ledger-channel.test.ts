// Records that belong to other regions (transfers to the subjects' home regions, denials,
// 'unavailable') travel over one long-lived HTTP/2 connection per region, over the mesh's
// mutual TLS: many appends at once on that one connection, the cell's identity checks and
// authorization hook applied to its streams, and a revocation closing it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { startCell, type RunningCell } from '../../src/cell/index.ts';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { Recorder } from '../../src/gateway/record.ts';
import { Outbox } from '../../src/gateway/outbox.ts';
import { parseEntry } from '../../src/ledger/index.ts';
import { Mesh, initTrustDomain, spiffeId, trustDomainPaths, writeRevocations } from '../../src/mesh/index.ts';
import { decisionFor, startModelServer } from '../helpers/one-hop.ts';
import { freePort } from '../helpers/ports.ts';

const HOME = 'uae-dubai';
const GW = 'spiffe://sovereign.internal/gateway/channel-test';
let model: ChildProcess;
let topology: Topology;
let cell: RunningCell;
const sockets: TLSSocket[] = [];

before(async () => {
  const m = await startModelServer();
  model = m.proc;
  topology = topologyFrom({
    dataDir: mkdtempSync(path.join(tmpdir(), 'sovereign-channel-')),
    jurisdictions: { AE: ['AE'], EU: ['FR'] },
    regions: [
      { id: HOME, jurisdiction: 'AE', country: 'AE', url: `http://127.0.0.1:${await freePort()}`, runtime: { kind: 'upstream', url: m.url }, models: ['llama-3-8b'] },
      { id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: `http://127.0.0.1:${await freePort()}`, runtime: { kind: 'upstream', url: m.url }, models: ['llama-3-8b'] },
    ],
  });
  await initTrustDomain(topology);
  cell = await startCell({ topology, region: HOME, logger: pino({ level: 'silent' }) });
  // Every connection the cell accepts, with the protocol its handshake chose.
  cell.app.server.on('secureConnection', (s: TLSSocket) => sockets.push(s));
});

after(async () => {
  await cell?.close();
  model?.kill('SIGTERM');
});

/** A transfer record for the home region: EU-served data of a subject of AE. */
function transfer(id: string): Record<string, unknown> {
  return { ...decisionFor(id, 'eu-paris'), outcome: 'transfer' };
}

test('transfer records from many requests reach the home region over one multiplexed HTTP/2 connection', async () => {
  const mesh = await Mesh.open(topology, GW, pino({ level: 'silent' }));
  const recorder = new Recorder(topology, new Outbox(mkdtempSync(path.join(tmpdir(), 'sovereign-outbox-')), 'r1', pino({ level: 'silent' })), mesh);
  try {
    const from = sockets.length;
    // Requests over several turns of the event loop: a batch per turn, sent while the previous
    // batches are still being committed.
    const pending: Promise<void>[] = [];
    for (let turn = 0; turn < 6; turn++) {
      for (let i = 0; i < 30; i++) pending.push(recorder.recordElsewhere([{ region: HOME, entry: transfer(`t-${turn}-${i}`), body_sha256: 'ab'.repeat(32) }]));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(pending);
    assert.equal(recorder.pending, 0, 'a record went to the outbox');
    const opened = sockets.slice(from);
    assert.equal(opened.length, 1, `the gateway opened ${opened.length} connections to the home region`);
    assert.equal(opened[0]?.alpnProtocol, 'h2');
    const log = cell.ledger.ledger;
    const ids = new Set<string>();
    for (let i = 0; i < log.size; i++) {
      const e = parseEntry(log.entry(i));
      if (e.kind === 'decision' && e.outcome === 'transfer') ids.add(e.decision_id);
    }
    for (let turn = 0; turn < 6; turn++) for (let i = 0; i < 30; i++) assert.ok(ids.has(`t-${turn}-${i}`), `t-${turn}-${i} is not in the home region's log`);
  } finally {
    await recorder.close();
    mesh.close();
  }
});

test('on the HTTP/2 channel the cell still authorizes by identity: another jurisdiction\'s cell may read keys but not append', async () => {
  const mesh = await Mesh.open(topology, spiffeId.cell(topology.data.mesh.trustDomain, 'eu-paris'), pino({ level: 'silent' }));
  const pool = mesh.cellPool(HOME, { connections: 1, allowH2: true });
  try {
    const from = sockets.length;
    const keys = await pool.request({ method: 'GET', path: `/sovereign/ledger/${HOME}/key` });
    assert.equal(keys.statusCode, 200);
    await keys.body.dump();
    const append = await pool.request({ method: 'POST', path: '/sovereign/ledger/append', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entry: transfer('forged') }) });
    assert.equal(append.statusCode, 403);
    assert.match(((await append.body.json()) as { error: { message: string } }).error.message, /region\/eu-paris\/cell may not call POST \/sovereign\/ledger\/append/);
    assert.deepEqual(sockets.slice(from).map((s) => s.alpnProtocol), ['h2']);
  } finally {
    await pool.close();
    mesh.close();
  }
});

test('revoking the gateway closes its open HTTP/2 channel; its records then wait in the outbox', async () => {
  const mesh = await Mesh.open(topology, GW, pino({ level: 'silent' }));
  const recorder = new Recorder(topology, new Outbox(mkdtempSync(path.join(tmpdir(), 'sovereign-outbox-')), 'r1', pino({ level: 'silent' })), mesh);
  try {
    const from = sockets.length;
    await recorder.recordElsewhere([{ region: HOME, entry: transfer('before-revocation'), body_sha256: 'ab'.repeat(32) }]);
    const channel = sockets[from];
    assert.equal(channel?.alpnProtocol, 'h2');
    const closed = new Promise<void>((r) => (channel).once('close', () => r()));
    await writeRevocations(trustDomainPaths(topology).revoked, { version: 1, revoked: [{ spiffe_id: GW, time: new Date().toISOString(), reason: 'test' }] });
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the revoked gateway\'s HTTP/2 connection was still open after 3 s')), 3000))]);
    await recorder.recordElsewhere([{ region: HOME, entry: transfer('after-revocation'), body_sha256: 'ab'.repeat(32) }]);
    assert.equal(recorder.pending, 1, 'the record refused to a revoked gateway is kept in the outbox');
  } finally {
    await writeRevocations(trustDomainPaths(topology).revoked, { version: 2, revoked: [] });
    await recorder.close();
    mesh.close();
  }
});
