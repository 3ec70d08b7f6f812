// Ledger benchmark: durable appends/s with 64 concurrent appenders, append p99 latency,
// full verification of 1,000,000 small entries, inclusion proof time; work counts (fsyncs per
// append, appends per group commit); optionally the PostgreSQL backend (SOVEREIGN_BENCH_PG).
// Writes bench/results/ledger-<YYYY-MM-DD>.json and prints a table.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLedger, verifyLog, verifyProof } from '../src/ledger/index.ts';
import { percentileSorted } from './lib/stats.ts';

const root = mkdtempSync(path.join(tmpdir(), 'ledger-bench-'));
const results: { metric: string; value: number; unit: string; target: string; pass: boolean }[] = [];
const record = (metric: string, value: number, unit: string, target: string, pass: boolean): void => {
  results.push({ metric, value: Math.round(value * 1000) / 1000, unit, target, pass });
};

// 1. Durable appends with 64 concurrent appenders for 10 s (each awaits its own durability before
//    its next append; each entry is built, schema-validated and serialized as a caller's would be).
{
  const l = await openLedger({ dir: path.join(root, 'a', 'ledger'), origin: 'bench.example/ledger/a', keyDir: path.join(root, 'a', 'keys') });
  const entry = (i: number) => ({
    v: 1, kind: 'decision', time: '2026-01-02T03:04:05.000Z', decision_id: `d-${i}`, request_hash: 'ab'.repeat(32), tenant: 'acme',
    jurisdictions: [{ jurisdiction: 'EU', source: 'geoip' }], data_class: 'internal', detected_types: [], region: 'eu-frankfurt',
    mode: 'legal-first', outcome: 'routed', attempts: [{ region: 'eu-frankfurt', outcome: 'ok' }], policy_ids: ['p1'], model: 'm', model_digest: null,
  });
  const durationMs = 10_000;
  const lat: number[] = [];
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() - t0 < durationMs) {
        const s = performance.now();
        await l.append(entry(n++));
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  record('durable appends/s (64 concurrent, schema-validated)', lat.length / secs, 'ops/s', '>= 20000', lat.length / secs >= 20000);
  const p99 = percentileSorted(lat, 99);
  record('append latency p50', percentileSorted(lat, 50), 'ms', '-', true);
  record('append latency p99', p99, 'ms', '<= 5', p99 <= 5);
  record('append latency p99.9', percentileSorted(lat, 99.9), 'ms', '-', true);
  // Work counted, not timed: group commit must batch (WAL syncs/s << appends/s).
  const st = l.stats();
  record('appends per WAL sync (group commit batch)', st.appends / Math.max(1, st.walSyncs), 'appends', '-', true);
  record('fsyncs per append (WAL + tiles + checkpoints)', (st.walSyncs + st.walPreallocs + st.fileSyncs) / Math.max(1, st.appends), 'fsyncs', '-', true);
  record('checkpoints signed', st.checkpoints, 'count', '-', true);
  await l.close();
}

// 1b. One appender at the rate of a lightly loaded cell (200/s): what a request waits for its
//     decision to become durable before its payload may be processed (the group commit has
//     nothing to batch here, so this is close to the disk's own sync latency).
{
  const l = await openLedger({ dir: path.join(root, 'a2', 'ledger'), origin: 'bench.example/ledger/a2', keyDir: path.join(root, 'a2', 'keys') });
  const lat: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const due = performance.now() + 5;
    const s = performance.now();
    await l.append({ v: 1, kind: 'decision', time: '2026-01-02T03:04:05.000Z', decision_id: `s-${i}`, request_hash: 'ab'.repeat(32), tenant: 'acme', jurisdictions: [{ jurisdiction: 'EU', source: 'geoip' }], data_class: 'internal', detected_types: [], region: 'eu-frankfurt', mode: 'legal-first', outcome: 'routed', attempts: [], policy_ids: ['p1'], model: 'm', model_digest: null });
    lat.push(performance.now() - s);
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  lat.sort((a, b) => a - b);
  record('append latency at 200/s, one appender, p50', percentileSorted(lat, 50), 'ms', '-', true);
  record('append latency at 200/s, one appender, p99', percentileSorted(lat, 99), 'ms', '-', true);
  await l.close();
}

// 2. Build a 1,000,000-entry log quickly (small raw entries, big group commits), verify it all.
{
  const dir = path.join(root, 'b', 'ledger');
  const l = await openLedger({ dir, origin: 'bench.example/ledger/b', keyDir: path.join(root, 'b', 'keys'), checkpointIntervalMs: 60_000 });
  const N = 1_000_000;
  const tb = performance.now();
  const chunk = 20_000;
  for (let i = 0; i < N; i += chunk) {
    await Promise.all(Array.from({ length: chunk }, (_, j) => l.appendRaw(Buffer.from(`e${i + j}`))));
    if ((i / chunk) % 10 === 9) await l.publish();
  }
  await l.publish();
  record('build 1M-entry log', (performance.now() - tb) / 1000, 's', '-', true);

  // Inclusion proofs over random indices (tiles read from disk through a small cache).
  const P = 2000;
  const tp = performance.now();
  let last = '';
  for (let k = 0; k < P; k++) last = await l.proof(Math.floor(Math.random() * N));
  const proofMs = (performance.now() - tp) / P;
  record('inclusion proof (generate tlog-proof, random index of 1M)', proofMs, 'ms', '<= 1', proofMs <= 1);
  const tv = performance.now();
  for (let k = 0; k < P; k++) verifyProof(last, l.verifierKey);
  record('tlog-proof verification (offline)', (performance.now() - tv) / P, 'ms', '-', true);
  const vkey = l.verifierKey;
  await l.close();

  const t = performance.now();
  const r = await verifyLog({ dir, verifierKey: vkey });
  const secs = (performance.now() - t) / 1000;
  if (!r.ok) throw new Error(`verification failed: ${r.error}`);
  record('full verification of 1,000,000 entries', secs, 's', '<= 20', secs <= 20);
}

// 3. Optional: the PostgreSQL backend (SOVEREIGN_BENCH_PG=postgres://...), same 64 appenders.
if (process.env.SOVEREIGN_BENCH_PG !== undefined) {
  const tablePrefix = `sovereign_ledger_bench${process.pid}`;
  const l = await openLedger({
    dir: path.join(root, 'pg', 'ledger'), origin: 'bench.example/ledger/pg', keyDir: path.join(root, 'pg', 'keys'),
    backend: { kind: 'postgres', connectionString: process.env.SOVEREIGN_BENCH_PG, tablePrefix },
  });
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() - t0 < 3000) {
        const s = performance.now();
        await l.appendRaw(Buffer.from(`pg entry ${lat.length}`));
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  record('PostgreSQL backend: durable appends/s (64 concurrent)', lat.length / secs, 'ops/s', '-', true);
  record('PostgreSQL backend: append latency p99', percentileSorted(lat, 99), 'ms', '-', true);
  record('PostgreSQL backend: appends per transaction', l.stats().appends / Math.max(1, l.stats().walSyncs), 'appends', '-', true);
  await l.close();
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: process.env.SOVEREIGN_BENCH_PG });
  await c.connect();
  for (const t of ['head', 'entries', 'checkpoints']) await c.query(`DROP TABLE IF EXISTS ${tablePrefix}_${t}`);
  await c.end();
}

rmSync(root, { recursive: true, force: true });
const date = new Date().toISOString().slice(0, 10);
const outDir = path.join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });
const out = path.join(outDir, `ledger-${date}.json`);
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
console.table(results);
console.log(`wrote ${out}`);
