import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, existsSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { openLedger, verifyLog, verifyProof, createWitness, anchored, serializeEntry, LedgerError } from '../../src/ledger/index.ts';
import { bundlePath, tilePath } from '../../src/ledger/tiles.ts';
import { decision, tempDir } from './helpers.ts';

const ORIGIN = 'sovereign.example/ledger/eu-frankfurt';

async function fresh(n: number) {
  const root = tempDir();
  const dir = path.join(root, 'ledger');
  const keyDir = path.join(root, 'keys');
  const l = await openLedger({ dir, origin: ORIGIN, keyDir, checkpointIntervalMs: 50 });
  await Promise.all(Array.from({ length: n }, (_, i) => l.append(decision(i))));
  await l.publish();
  return { root, dir, keyDir, l };
}

test('entries: strict schemas, RFC 8785 canonical JSON', () => {
  const bytes = serializeEntry(decision(1)).toString();
  assert.ok(bytes.startsWith('{"attempts":[{"outcome":"ok","region":"eu-frankfurt"}],"data_class":"personal"'));
  assert.throws(() => serializeEntry({ ...decision(1), prompt: 'my name is Alice' }), (e: LedgerError) => e.code === 'SOVEREIGN_LEDGER_BAD_ENTRY');
  assert.throws(() => serializeEntry({ ...decision(1), jurisdictions: [{ jurisdiction: 'EU', source: 'geoip', ip: '1.2.3.4' }] }));
  assert.doesNotThrow(() => serializeEntry({ v: 1, kind: 'trigger', time: '2026-01-02T03:04:05Z', action: 'suspend', region: 'eu-paris', jurisdictions: ['EU'], reason: 'court order', ref: 'case-42' }));
  assert.doesNotThrow(() => serializeEntry({ v: 1, kind: 'model', time: '2026-01-02T03:04:05Z', event: 'arrival', name: 'text-analysis', digest: `sha256:${'1'.repeat(64)}`, region: 'eu-paris' }));
});

test('append, static layout, proofs, keys, verify, reopen', async () => {
  const { root, dir, keyDir, l } = await fresh(600);
  assert.equal(l.size, 600);
  assert.equal(l.checkpointSize, 600);
  // Static layout per tlog-tiles.
  for (const rel of ['checkpoint', tilePath(0, 0), tilePath(0, 1), tilePath(0, 2, 88), tilePath(1, 0, 2), bundlePath(0), bundlePath(2, 88)]) {
    assert.ok(existsSync(path.join(dir, rel)), rel);
  }
  const cp = l.checkpoint();
  assert.match(cp, new RegExp(`^${ORIGIN.replace(/\//g, '\\/')}\\n600\\n[A-Za-z0-9+/]{43}=\\n\\n\u2014 ${ORIGIN.replace(/\//g, '\\/')} `));
  // Keys: 0600, HMAC request hash is keyed.
  for (const f of ['ledger-signing.key', 'ledger-request-hash.key']) assert.equal(statSync(path.join(keyDir, f)).mode & 0o777, 0o600);
  assert.match(l.requestHash('hi'), /^[0-9a-f]{64}$/);
  assert.notEqual(l.requestHash('hi'), '8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4'); // plain SHA-256("hi")
  // Proofs.
  for (const i of [0, 255, 256, 599]) {
    const p = await l.proof(i);
    assert.ok(p.startsWith('c2sp.org/tlog-proof@v1\nextra '));
    const v = verifyProof(p, l.verifierKey);
    assert.equal(v.index, i);
    assert.equal((JSON.parse(v.entry.toString()) as { decision_id: string }).decision_id, `dec-${i}`);
    assert.throws(() => verifyProof(p.replace(/index \d+/, `index ${i === 0 ? 1 : 0}`), l.verifierKey), (e: LedgerError) => e.code === 'SOVEREIGN_LEDGER_PROOF_INVALID');
  }
  // readStatic.
  const s = await l.readStatic('checkpoint');
  assert.equal(s?.contentType, 'text/plain; charset=utf-8');
  assert.equal(s?.immutable, false);
  assert.equal((await l.readStatic('tile/0/000'))?.body.length, 8192);
  assert.equal((await l.readStatic('tile/entries/002.p/88'))?.immutable, true);
  for (const bad of ['../keys/ledger-signing.key', 'tile/../../keys/ledger-signing.key', '/etc/passwd', 'tile/0/000.p/300', 'checkpoint/../checkpoint']) {
    assert.equal(await l.readStatic(bad), null, bad);
  }
  // Full verification, with consistency across runs.
  const stateFile = path.join(root, 'verified.json');
  const r1 = await verifyLog({ dir, verifierKey: l.verifierKey, stateFile });
  assert.equal(r1.ok, true, r1.error);
  await Promise.all(Array.from({ length: 100 }, (_, i) => l.append(decision(600 + i))));
  await l.close();
  const l2 = await openLedger({ dir, origin: ORIGIN, keyDir });
  assert.equal(l2.size, 700);
  const idx = await l2.append(decision(700));
  assert.equal(idx.index, 700);
  await l2.close();
  const r2 = await verifyLog({ dir, verifierKey: l2.verifierKey, stateFile });
  assert.equal(r2.ok, true, r2.error);
  assert.equal(r2.size, 701);
});

test('checkpoints are signed on a timer while there are new entries', async () => {
  const { l } = await fresh(1);
  await l.append(decision(2));
  const t0 = Date.now();
  while (l.checkpointSize < 2 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
  assert.equal(l.checkpointSize, 2);
  await l.close();
});

test('tampering with a tile, a bundle, or the checkpoint is caught and named', async () => {
  const { root, dir, l } = await fresh(700);
  const vkey = l.verifierKey;
  await l.close();
  const flip = (rel: string, at: number) => {
    const f = path.join(dir, rel);
    const b = readFileSync(f);
    const orig = Buffer.from(b);
    b[at] = (b[at] as number) ^ 1;
    writeFileSync(f, b);
    return () => writeFileSync(f, orig);
  };
  let undo = flip(tilePath(0, 1), 32 * 5);
  let r = await verifyLog({ dir, verifierKey: vkey });
  assert.equal(r.ok, false);
  assert.equal(r.badPath, 'tile/0/001');
  undo();
  // Entry 300 is in bundle 1; flip a byte inside its JSON (skip the 2-byte length prefixes).
  const b1 = readFileSync(path.join(dir, bundlePath(1)));
  const len0 = b1.readUInt16BE(0);
  const off = 2 + len0 + 2 + len0 + 2 + 20; // inside entry 258's body (entries have equal-ish length)
  undo = flip(bundlePath(1), off);
  r = await verifyLog({ dir, verifierKey: vkey });
  assert.equal(r.ok, false);
  assert.equal(r.badPath, 'tile/entries/001');
  assert.ok(r.firstBadIndex !== undefined && r.firstBadIndex >= 256 && r.firstBadIndex < 512, String(r.firstBadIndex));
  undo();
  undo = flip('checkpoint', ORIGIN.length + 6);
  r = await verifyLog({ dir, verifierKey: vkey });
  assert.equal(r.ok, false);
  assert.equal(r.badPath, 'checkpoint');
  undo();
  r = await verifyLog({ dir, verifierKey: vkey });
  assert.equal(r.ok, true, r.error);
  void root;
});

test('witness: add-checkpoint protocol, cosignature and quorum', async () => {
  const { root, l } = await fresh(10);
  const w = createWitness({ dir: path.join(root, 'witness'), name: 'witness.example/w1', logs: [l.verifierKey], now: () => 1700000000 });
  // First contact: old 0.
  let res = w.addCheckpoint(l.witnessRequest(0));
  assert.equal(res.status, 200, res.body);
  assert.match(res.body, /^\u2014 witness\.example\/w1 /);
  assert.equal(await l.addCosignature(res.body, [w.verifierKey]), 1);
  assert.deepEqual(anchored(l.checkpoint(), [w.verifierKey], 1), { ok: true, cosigners: ['witness.example/w1'] });
  const p = await l.proof(3);
  assert.deepEqual(verifyProof(p, { log: l.verifierKey, witnesses: [w.verifierKey], quorum: 1 }).cosigners, ['witness.example/w1']);
  assert.throws(() => verifyProof(p, { log: l.verifierKey, witnesses: [w.verifierKey], quorum: 2 }));
  // Grow; a stale old size gets 409 with the witness's size.
  await Promise.all(Array.from({ length: 20 }, (_, i) => l.append(decision(100 + i))));
  await l.publish();
  res = w.addCheckpoint(l.witnessRequest(0));
  assert.deepEqual(res, { status: 409, body: '10\n', contentType: 'text/x.tlog.size' });
  // Bad consistency proof: 422.
  const good = l.witnessRequest(10);
  const lines = good.split('\n');
  lines[1] = Buffer.alloc(32).toString('base64');
  assert.equal(w.addCheckpoint(lines.join('\n')).status, 422);
  assert.equal(w.addCheckpoint(good).status, 200);
  // Unknown origin 404; bad signature 403; old > size 400.
  const other = createWitness({ dir: path.join(root, 'w2'), name: 'witness.example/w2', logs: [] });
  assert.equal(other.addCheckpoint(good).status, 404);
  assert.equal(w.addCheckpoint(good.replace(/\n30\n/, '\n31\n')).status, 403);
  assert.equal(w.addCheckpoint(good.replace('old 10', 'old 31')).status, 400);
  // State persists across witness restarts.
  const again = createWitness({ dir: path.join(root, 'witness'), name: 'witness.example/w1', logs: [l.verifierKey] });
  assert.equal(again.addCheckpoint(l.witnessRequest(0)).body, '30\n');
  await l.close();
});

test('fail closed: append rejects with SOVEREIGN_LEDGER_UNAVAILABLE when the WAL cannot be written', async () => {
  const root = tempDir();
  // Rotate the WAL after every batch, so the next segment is opened when decision 2 arrives.
  const l = await openLedger({ dir: path.join(root, 'ledger'), origin: ORIGIN, keyDir: path.join(root, 'keys'), checkpointIntervalMs: 50, walSegmentBytes: 1 });
  await l.append(decision(0));
  await l.append(decision(1));
  // The next WAL segment (starting at index 2) is /dev/full: writes fail ENOSPC.
  symlinkSync('/dev/full', path.join(l.stateDir, 'wal', '0000000000000002.wal'));
  await l.publish();
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(l.append(decision(2)), (e: LedgerError) => e.code === 'SOVEREIGN_LEDGER_UNAVAILABLE' && /ENOSPC|no space/i.test(e.message));
  await assert.rejects(l.append(decision(3)), (e: LedgerError) => e.code === 'SOVEREIGN_LEDGER_UNAVAILABLE');
  await l.close();
});

test('entries read before their bundle is written stay intact while the log moves on', async () => {
  const root = tempDir();
  const l = await openLedger({ dir: path.join(root, 'ledger'), origin: ORIGIN, keyDir: path.join(root, 'keys'), checkpointIntervalMs: 60_000 });
  // Bundle 0 is full but not yet written: its entries are read from memory.
  await Promise.all(Array.from({ length: 300 }, (_, i) => l.append(decision(i))));
  const early = [l.entry(7), l.entry(255)];
  const proof = await l.proof(7);
  // Many more bundles fill, are written and their memory reused.
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 3000 }, (_, i) => l.append(decision(`r${round}-${i}`))));
    await l.publish();
  }
  assert.deepEqual(early.map((b) => b.toString()), [serializeEntry(decision(7)).toString(), serializeEntry(decision(255)).toString()]);
  assert.equal(verifyProof(proof, l.verifierKey).entry.toString(), serializeEntry(decision(7)).toString());
  assert.equal(l.entry(255).toString(), serializeEntry(decision(255)).toString());
  await l.close();
});
