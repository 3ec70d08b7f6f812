// npm run bench:store — what the region store costs and how it holds up:
//  1. added CPU per request (gateway + cell processes, from /proc; mTLS between them) with the store on against off,
//     at a fixed 200 requests/s, interleaved rounds (off, on, off, on, ...), medians;
//  2. store write throughput of one region (records sealed and written per second), for the
//     embedded file database and PostgreSQL (when reachable);
//  3. export and erase time for a subject with 10,000 records, both backends;
//  4. records lost by kill -9 of a cell under 200 requests/s: answered requests whose record
//     is not in the store after the cell is restarted (only those still queued may be lost).
// Writes bench/results/store-<date>.json and .md. Flags: --quick, --rounds <n>, --seconds <s>.
import { readFileSync } from 'node:fs';
import { createSecretKey, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Pool } from 'undici';
import { loadTopology } from '../src/config/index.ts';
import { initTrustDomain } from '../src/mesh/index.ts';
import { PgBackend, RegionStore, SqliteBackend, type ServedRecord, type StoreBackend } from '../src/store/index.ts';
import { freePort as freePortForBench } from '../test/helpers/ports.ts';
import { startProcess, stop, waitReady, workDir, writeConfig } from './lib/processes.ts';
import { machine, writeResults } from './lib/results.ts';
import { fmt, median } from './lib/stats.ts';
import { EU_COUNTRIES_FOR_BENCH } from './lib/topology.ts';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean' }, rounds: { type: 'string' }, seconds: { type: 'string' } }, strict: true });
const quick = flags.quick === true;
const rounds = Number(flags.rounds ?? (quick ? 1 : 3));
const seconds = Number(flags.seconds ?? (quick ? 4 : 8));
const RATE = 200;
const PG_URL = process.env.SOVEREIGN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (s: string): void => console.log(s);

const BODY = JSON.stringify({
  model: 'text-analysis',
  messages: [{ role: 'user', content: 'Please summarise the following customer note in two sentences. The delivery to our Berlin office was late again and the invoice number on the parcel did not match the order we placed last week.' }],
});

/** utime + stime of a process, in seconds (/proc/<pid>/stat, fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface System {
  dir: string;
  gateway: string;
  cellUrl: string;
  cellPort: number;
  config: string;
  cell: ChildProcess;
  gw: ChildProcess;
  golden: ChildProcess;
}

async function startSystem(store: Record<string, unknown>): Promise<System> {
  const dir = workDir('bench-store');
  const cellPort = await freePortForBench();
  const gwPort = await freePortForBench();
  const config = writeConfig(dir, {
    dataDir: path.join(dir, 'data'),
    jurisdictions: { EU: EU_COUNTRIES_FOR_BENCH, AE: ['AE'], SG: ['SG'] },
    regions: [{ id: 'eu-frankfurt', jurisdiction: 'EU', country: 'DE', url: `http://127.0.0.1:${cellPort}` }],
    // workers 1: the gateway's CPU is read from /proc by its pid.
    gateway: { host: '127.0.0.1', port: gwPort, probeIntervalMs: 1000, workers: 1 },
    store,
  });
  // The real path: mutual TLS between the gateway and the cell (as `sovereign up` sets it up).
  await initTrustDomain(loadTopology(config));
  // Golden publishes the shipped model and promotes it to the cell (as `up` does).
  const golden = startProcess(dir, 'golden', ['--config', config, 'golden', '--port', String(await freePortForBench())]);
  const cell = startProcess(dir, 'eu-frankfurt', ['--config', config, 'cell', '--region', 'eu-frankfurt']);
  const gw = startProcess(dir, 'gateway', ['--config', config, 'gateway']);
  // The gateway is ready once it reaches the cell (over mTLS).
  await waitReady(`http://127.0.0.1:${gwPort}`);
  return { dir, gateway: `http://127.0.0.1:${gwPort}`, cellUrl: `http://127.0.0.1:${cellPort}`, cellPort, config, cell, gw, golden };
}

interface Answer {
  status: number;
  decision: string | null;
  /** performance.now() when the whole response was received. */
  at: number;
}

/** Open-loop load at `rate`/s for `ms`; every answer with its decision id. */
async function load(url: string, rate: number, ms: number, subject: (i: number) => string, onTick?: (elapsed: number) => void): Promise<Answer[]> {
  const pool = new Pool(new URL(url).origin, { connections: 64, keepAliveTimeout: 10_000 });
  const out: Answer[] = [];
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let n = 0; performance.now() - t0 < ms; n++) {
    const wait = t0 + (n * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    onTick?.(performance.now() - t0);
    inflight.push(
      pool
        .request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE', 'x-sovereign-subject': subject(n) }, body: BODY, headersTimeout: 10_000, bodyTimeout: 10_000 })
        .then(async (res) => {
          await res.body.dump();
          out.push({ status: res.statusCode, decision: (res.headers['x-sovereign-decision-id'] as string | undefined) ?? null, at: performance.now() });
        })
        .catch(() => {
          out.push({ status: 0, decision: null, at: performance.now() });
        }),
    );
  }
  await Promise.all(inflight);
  await pool.close();
  return out;
}

async function cpuRound(storeOn: boolean): Promise<{ cpuUsPerRequest: number; gatewayUs: number; cellUs: number; ok: number }> {
  const sys = await startSystem(storeOn ? { enabled: true } : { enabled: false });
  try {
    // Warm-up (JIT, pools), not counted.
    await load(sys.gateway, RATE, 1500, (i) => `bench-${i % 100}`);
    const g0 = cpuSeconds(sys.gw.pid as number);
    const c0 = cpuSeconds(sys.cell.pid as number);
    const answers = await load(sys.gateway, RATE, seconds * 1000, (i) => `bench-${i % 100}`);
    // Let the store's last batch be written (its cost belongs to these requests).
    await new Promise((r) => setTimeout(r, 500));
    const g = cpuSeconds(sys.gw.pid as number) - g0;
    const c = cpuSeconds(sys.cell.pid as number) - c0;
    const ok = answers.filter((a) => a.status === 200).length;
    return { cpuUsPerRequest: ((g + c) / ok) * 1e6, gatewayUs: (g / ok) * 1e6, cellUs: (c / ok) * 1e6, ok };
  } finally {
    await stop(sys.gw);
    await stop(sys.cell);
    await stop(sys.golden);
  }
}

function served(subject: string, i: number): ServedRecord {
  return {
    tenant: 'acme',
    subject,
    decisionId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    dataClass: 'personal',
    receipt: `sovereign.example/ledger/eu-frankfurt ${i}`,
    model: 'text-analysis',
    modelVersion: 'text-analysis@1.8.1 sha256:c90a726a172734a7e7dfd7cf703cc14b34d5d15c4a083d49fdedd7803368f1e9',
    path: '/v1/chat/completions',
    status: 200,
    time: Date.now(),
    retentionDays: 30,
    input: BODY,
    output: JSON.stringify({ id: `chatcmpl-${i}`, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Sentiment: negative (0.62). Entities: Berlin (LOCATION). 41 tokens.' }, finish_reason: 'stop' }] }),
  };
}

async function openStore(kind: 'sqlite' | 'postgres'): Promise<{ store: RegionStore; drop: () => Promise<void> }> {
  const schema = `bench_store_${randomBytes(4).toString('hex')}`;
  const backend: StoreBackend = kind === 'sqlite' ? new SqliteBackend(mkdtempSync(path.join(tmpdir(), 'bench-store-'))) : await PgBackend.open({ connectionString: PG_URL, schema }, () => undefined);
  const secret = createSecretKey(randomBytes(32));
  let n = 0;
  const store = await RegionStore.open({
    region: 'eu-frankfurt',
    backend,
    kek: { key: createSecretKey(randomBytes(32)), source: 'bench' },
    subjectHash: (s) => createHmac('sha256', secret).update(s).digest('hex'),
    appendLedger: async () => `bench ${n++}`,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    flushIntervalMs: 60_000,
    sweepIntervalMs: 3_600_000,
    maxQueued: 1_000_000,
  });
  return {
    store,
    drop: async () => {
      await store.close();
      if (kind === 'postgres') {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      }
    },
  };
}

async function storeFigures(kind: 'sqlite' | 'postgres'): Promise<Record<string, number>> {
  const N = quick ? 10_000 : 50_000;
  const w = await openStore(kind);
  try {
    // CPU of the store per record (work counted, not wall time): sealed and written in batches of
    // 4, what a 20 ms flush interval gives at 200 requests/s.
    const PER = 2000;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < PER; i += 4) {
      for (let j = 0; j < 4; j++) w.store.record(served(`subject-${(i + j) % 100}`, i + j));
      await w.store.flush();
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuUsPerRecord = (cpu.user + cpu.system) / PER;
    for (let i = 0; i < N; i++) w.store.record(served(`subject-${i % 1000}`, i));
    const t0 = performance.now();
    await w.store.flush();
    const writeS = (performance.now() - t0) / 1000;
    // One subject with 10,000 records among the others.
    for (let i = 0; i < 10_000; i++) w.store.record(served('heavy-subject', N + i));
    await w.store.flush();
    const e0 = performance.now();
    const exp = await w.store.export('heavy-subject', null);
    const exportMs = performance.now() - e0;
    if (exp.records.length !== 10_000) throw new Error(`export returned ${exp.records.length} records, expected 10000`);
    const x0 = performance.now();
    const er = await w.store.erase('heavy-subject', null, new Date().toISOString());
    const eraseMs = performance.now() - x0;
    if (er.records !== 10_000) throw new Error(`erase reported ${er.records} records`);
    const s0 = performance.now();
    const swept = await w.store.sweep();
    const sweepMs = performance.now() - s0;
    return { cpuUsPerRecord, records: N, writeSeconds: writeS, writesPerSecond: N / writeS, export10kMs: exportMs, erase10kMs: eraseMs, sweep10kMs: sweepMs, swept: swept.shredded };
  } finally {
    await w.drop();
  }
}

async function killRun(): Promise<Record<string, number>> {
  const sys = await startSystem({ enabled: true });
  const ms = seconds * 1000;
  let killedAt = 0;
  try {
    const answers = await load(sys.gateway, RATE, ms, () => 'kill-subject', (elapsed) => {
      if (killedAt === 0 && elapsed > ms / 2) {
        killedAt = performance.now();
        sys.cell.kill('SIGKILL');
      }
    });
    const answered = answers.filter((a) => a.status === 200 && a.decision !== null);
    // Restart the cell on the same data directory and ask what it holds.
    sys.cell = startProcess(sys.dir, 'eu-frankfurt-restarted', ['--config', sys.config, 'cell', '--region', 'eu-frankfurt']);
    await waitReady(sys.gateway);
    const token = readFileSync(path.join(sys.dir, 'data', 'gateway', 'admin-token'), 'utf8').trim();
    const res = await fetch(`${sys.gateway}/sovereign/admin/data/export`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ subject: 'kill-subject' }) });
    const exp = (await res.json()) as { records: { decision_id: string }[] };
    const stored = new Set(exp.records.map((r) => r.decision_id));
    const lost = answered.filter((a) => !stored.has(a.decision as string));
    // When the client got each lost answer, relative to the kill (negative: before it). An answer
    // reaching the client after the kill left the cell before it: the record was still queued.
    const rel = lost.map((a) => a.at - killedAt);
    return {
      answered: answered.length,
      stored: stored.size,
      lost: lost.length,
      lostAnsweredFromMs: rel.length > 0 ? Math.min(...rel) : 0,
      lostAnsweredToMs: rel.length > 0 ? Math.max(...rel) : 0,
      answeredWithin20MsBeforeKill: answered.filter((a) => a.at <= killedAt && a.at > killedAt - 20).length,
      flushIntervalMs: 20,
    };
  } finally {
    await stop(sys.gw);
    await stop(sys.cell);
    await stop(sys.golden);
  }
}

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

log(`bench:store — ${rounds} round(s) of ${seconds} s at ${RATE} req/s; the machine is shared, figures are medians of one run`);
const off: number[] = [];
const on: number[] = [];
const detail: unknown[] = [];
for (let r = 0; r < rounds; r++) {
  for (const storeOn of [false, true]) {
    const x = await cpuRound(storeOn);
    (storeOn ? on : off).push(x.cpuUsPerRequest);
    detail.push({ round: r, store: storeOn ? 'on' : 'off', ...x });
    log(`  round ${r + 1} store ${storeOn ? 'on ' : 'off'}: ${fmt(x.cpuUsPerRequest, 0)} µs CPU/request (gateway ${fmt(x.gatewayUs, 0)}, cell ${fmt(x.cellUs, 0)}; ${x.ok} requests)`);
  }
}
const cpu = { offUs: median(off), onUs: median(on), addedPercent: (median(on) / median(off) - 1) * 100, rounds: detail };
log(`CPU per request (gateway + cell): off ${fmt(cpu.offUs, 0)} µs, on ${fmt(cpu.onUs, 0)} µs: +${fmt(cpu.addedPercent, 1)}% (target ≤ 10%)`);

const backends: Record<string, Record<string, number>> = {};
for (const kind of ['sqlite', 'postgres'] as const) {
  if (kind === 'postgres' && !(await pgReachable())) {
    log(`postgres: not reachable at ${PG_URL}; skipped`);
    continue;
  }
  const f = await storeFigures(kind);
  backends[kind] = f;
  log(`${kind}: ${fmt(f.cpuUsPerRecord, 1)} µs CPU per record in batches of 4; ${fmt(f.writesPerSecond, 0)} records/s written (${f.records} records); subject with 10,000 records: export ${fmt(f.export10kMs, 0)} ms, erase ${fmt(f.erase10kMs, 1)} ms, sweep ${fmt(f.sweep10kMs, 0)} ms`);
}

const kill = await killRun();
log(`kill -9 of the cell at ${RATE} req/s: ${kill.answered} answered, ${kill.stored} stored, ${kill.lost} lost (the client got those answers ${fmt(kill.lostAnsweredFromMs, 0)} to ${fmt(kill.lostAnsweredToMs, 0)} ms from the kill; records are written every ${kill.flushIntervalMs} ms)`);

const md = `# bench:store (${new Date().toISOString()})

Machine: shared by several developers while this ran (2 cores); medians of one run. Node ${process.version}.

| figure | result |
|---|---|
| CPU per request, gateway + cell, store off | ${fmt(cpu.offUs, 0)} µs |
| CPU per request, gateway + cell, store on | ${fmt(cpu.onUs, 0)} µs |
| added CPU with the store on | ${fmt(cpu.addedPercent, 1)}% (target ≤ 10%) |
${Object.entries(backends)
  .map(([k, f]) => `| ${k}: store CPU per record (sealed and written in batches of 4, in-process) | ${fmt(f.cpuUsPerRecord, 1)} µs (${fmt((100 * (f.cpuUsPerRecord ?? Number.NaN)) / cpu.offUs, 1)}% of the store-off CPU per request) |
| ${k}: store write throughput, one region | ${fmt(f.writesPerSecond, 0)} records/s |
| ${k}: export of a subject with 10,000 records | ${fmt(f.export10kMs, 0)} ms |
| ${k}: erase of a subject with 10,000 records | ${fmt(f.erase10kMs, 1)} ms (sweep of its records ${fmt(f.sweep10kMs, 0)} ms) |`)
  .join('\n')}
| kill -9 of the cell at ${RATE} req/s | ${kill.lost} of ${kill.answered} answered requests not stored (answers reached the client ${fmt(kill.lostAnsweredFromMs, 0)} to ${fmt(kill.lostAnsweredToMs, 0)} ms from the kill; batches every ${kill.flushIntervalMs} ms) |
`;
const files = writeResults('store', { machine: machine(), rate: RATE, seconds, rounds, cpu, backends, kill }, md);
log(`wrote ${files.json} and ${files.md}`);
process.exit(0);
