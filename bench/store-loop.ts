// npm run bench:store-loop — what the region store's writes cost the cell's event loop: a
// RegionStore records served requests at a steady rate (the cell's hot path: record() queues,
// a timer seals and writes a batch every store.flushIntervalMs) while the event loop's delay is
// sampled (perf_hooks.monitorEventLoopDelay, the delay a request arriving then would wait).
// Reported: the event loop's busy time per record, its delay percentiles and the process CPU
// per record (every thread's). The embedded database runs on the event loop (a worker-thread
// backend was tried: it cut the busy time but cost about 20 µs more CPU per record, see
// bench/results/gateway-cellcpu-2026-12-01-loaded.md); its WAL checkpoints run on a thread of
// their own (src/store/wal-checkpointer.ts). Each round runs both placements of the checkpoint,
// alternating which goes first: 'thread' (the shipped one) and 'inline' (SQLite's automatic
// checkpoint in the commit that crosses 1,000 WAL pages).
// Flags: --rounds <n> (default 3), --seconds <s> (default 8), --rate <records/s> (default 1500).
// Writes bench/results/store-loop-<date>.{json,md}.
import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { CHECKPOINT_INTERVAL_MS, RegionStore, SqliteBackend, type ServedRecord } from '../src/store/index.ts';
import { machine, writeResults } from './lib/results.ts';
import { median } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { rounds: { type: 'string' }, seconds: { type: 'string' }, rate: { type: 'string' } }, strict: true });
const rounds = Number(flags.rounds ?? 3);
const seconds = Number(flags.seconds ?? 8);
const rate = Number(flags.rate ?? 1500);
for (const [n, v] of [['rounds', rounds], ['seconds', seconds], ['rate', rate]] as const) if (!Number.isFinite(v) || v <= 0) throw new Error(`--${n}: expected a positive number, got ${v}`);

// What a cell keeps of the benchmark's chat request (bench/gateway/embedded.ts) and its answer.
const input = JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'Please summarise the following release note in two sentences. '.repeat(4) }] });
const output = JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Sentiment: positive. '.repeat(12) }, finish_reason: 'stop' }] });
function served(i: number): ServedRecord {
  return { tenant: 'anonymous', subject: 'anonymous', decisionId: `d-${i}`, dataClass: 'public', receipt: `sovereign.example/ledger/eu-frankfurt ${i}`, model: 'text-analysis', modelVersion: 'text-analysis@1.0.0 sha256:00', path: '/v1/chat/completions', status: 200, time: Date.now(), retentionDays: 30, input, output };
}

type Placement = 'thread' | 'inline';
interface Result { p50: number; p99: number; max: number; cpuUsPerRecord: number; loopUsPerRecord: number; written: number }

async function run(checkpoint: Placement): Promise<Result> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-store-loop-'));
  const backend = new SqliteBackend(dir, { checkpoint, onWarning: (m) => console.error(m) });
  const store = await RegionStore.open({
    region: 'eu-bench',
    backend,
    kek: { key: createSecretKey(randomBytes(32)), source: 'the benchmark' },
    subjectHash: (s) => s.padEnd(64, '0').slice(0, 64),
    appendLedger: async () => 'bench 0',
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    flushIntervalMs: 20,
    sweepIntervalMs: 3_600_000,
    maxQueued: 100_000,
  });
  const h = monitorEventLoopDelay({ resolution: 5 });
  const c0 = process.cpuUsage();
  const e0 = performance.eventLoopUtilization();
  h.enable();
  // Records arrive in 5 ms ticks, as requests would.
  let made = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      for (; made < due; made++) store.record(served(made));
      if (performance.now() - t0 >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  await store.flush();
  h.disable();
  const c = process.cpuUsage(c0);
  // Time the event loop was busy (not waiting for events): what a request arriving then waits behind.
  const e = performance.eventLoopUtilization(e0);
  const written = store.status().written;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, cpuUsPerRecord: (c.user + c.system) / Math.max(1, made), loopUsPerRecord: (e.active * 1000) / Math.max(1, made), written };
}

const load0 = loadavg();
const placements: Placement[] = ['thread', 'inline'];
const results: Record<Placement, Result[]> = { thread: [], inline: [] };
for (let r = 1; r <= rounds; r++) {
  for (const p of r % 2 === 1 ? placements : [...placements].reverse()) {
    const x = await run(p);
    results[p].push(x);
    console.log(`round ${r} ${p.padEnd(6)} event-loop delay p50 ${x.p50.toFixed(2)} ms  p99 ${x.p99.toFixed(2)} ms  max ${x.max.toFixed(2)} ms  CPU ${x.cpuUsPerRecord.toFixed(1)} µs/record, event loop busy ${x.loopUsPerRecord.toFixed(1)} µs/record  (${x.written} written)  load ${loadavg()[0]?.toFixed(2)}`);
  }
}
const med = (p: Placement, f: (x: Result) => number): number => median(results[p].map(f));
const row = (p: Placement): string => `| ${p} | ${med(p, (x) => x.loopUsPerRecord).toFixed(1)} | ${med(p, (x) => x.p50).toFixed(2)} | ${med(p, (x) => x.p99).toFixed(2)} | ${med(p, (x) => x.max).toFixed(2)} | ${med(p, (x) => x.cpuUsPerRecord).toFixed(1)} |`;
const load1 = loadavg();
const md = [
  `# The region store's writes and the event loop, ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Command: \`npm run bench:store-loop -- --rounds ${rounds} --seconds ${seconds} --rate ${rate}\`. Node ${process.version}; load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}. A RegionStore on SQLite records ${rate} served requests/s for ${seconds} s (20 ms batches) while perf_hooks.monitorEventLoopDelay samples the event loop's delay (what a request arriving then waits; each sample includes the 5 ms sampling interval). ${rounds} rounds, each running both placements of the WAL checkpoint, alternating which goes first; medians. CPU is the process's, every thread's.`,
  '',
  '| WAL checkpoint | event loop busy µs/record | event-loop delay p50 ms | p99 ms | max ms | process CPU µs/record |',
  '|---|---:|---:|---:|---:|---:|',
  row('thread'),
  row('inline'),
  '',
  `thread: a worker thread's own connection, PASSIVE checkpoint every ${CHECKPOINT_INTERVAL_MS / 1000} s (the shipped placement). inline: SQLite's automatic checkpoint in the commit that crosses 1,000 WAL pages, on the event loop.`,
  '',
].join('\n');
console.log(`\n${md}`);
const files = writeResults('store-loop', { date: new Date().toISOString(), machine: machine(), rate, seconds, rounds, results }, md);
console.log(`written to ${files.json} and ${files.md}`);
