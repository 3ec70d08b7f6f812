// npm run bench:gateway-workers — throughput of Sovereign's gateway with 1 and 2 workers
// (gateway.workers), in front of the fast upstream of bench:gateway (nginx serving a fixed
// chat.completion; the cells forward to it), mTLS on. One system of cells; beside it three
// gateways on the same topology: 1 worker, 2 workers with node:cluster round-robin (SCHED_RR,
// the primary accepts and hands connections over) and 2 workers with SCHED_NONE (the kernel
// wakes a worker on the shared socket). Variants are interleaved for several rounds; medians.
//
// On a machine whose cores are shared (the cells, wrk and other work run on the same two
// cores), 2 workers cannot show 2x. So beside wrk's requests/s this reports, per variant, the
// CPU the gateway processes spend per request (utime+stime from /proc, the primary included,
// their idle CPU measured just before taken off) and the load average; `projected` is the 2-worker throughput on two free cores implied by
// those costs: 2 x (1-worker CPU per request) / (2-worker CPU per request).
// Writes bench/results/gateway-workers-<date>.json and .md.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, median, today } from '../lib/stats.ts';
import { freePort, ProcessGroup, waitUntil, type Started } from '../lib/procs.ts';
import { writeResults } from '../lib/results.ts';
import { ROOT, sovereignConfig, startNginxUpstream } from './targets.ts';

const { values: flags } = parseArgs({
  options: { rounds: { type: 'string' }, seconds: { type: 'string' }, connections: { type: 'string' }, quick: { type: 'boolean' }, keep: { type: 'boolean' }, help: { type: 'boolean' } },
  strict: true,
});
if (flags.help) {
  console.log('npm run bench:gateway-workers -- [--rounds n (3)] [--seconds s (8)] [--connections n (32)] [--quick] [--keep]');
  process.exit(0);
}
const rounds = Number(flags.rounds ?? (flags.quick ? 1 : 3));
const seconds = Number(flags.seconds ?? (flags.quick ? 3 : 8));
const connections = Number(flags.connections ?? 32);
for (const [k, v] of Object.entries({ rounds, seconds, connections })) if (!Number.isInteger(v) || v < 1) throw new Error(`--${k}: expected a positive whole number, got ${v}`);

const NODE = process.execPath;
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const group = new ProcessGroup();
const log = (s: string): void => console.log(s);
const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-bench-workers-'));

/** utime + stime of a process and its children still running (/proc/<pid>/stat fields 14, 15), seconds. */
function cpuSeconds(pids: number[]): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      // ended
    }
  }
  return total;
}

function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    })
    .map(Number);
}

interface Variant {
  name: string;
  workers: number;
  sched: 'rr' | 'none';
  proc?: Started;
  url?: string;
}

interface Run {
  variant: string;
  round: number;
  rps: number;
  requests: number;
  errors: number;
  gatewayCpuUsPerRequest: number;
  primaryCpuUsPerRequest: number;
  loadavg1: number;
}

async function wrk(url: string, secs: number, body: string, headers: string): Promise<{ rps: number; requests: number; errors: number }> {
  const s = group.start('wrk', 'wrk', ['-t1', `-c${connections}`, `-d${secs}s`, '--timeout', '10s', '-s', path.join(ROOT, 'bench/gateway/post.lua'), url], { env: { ...process.env, BENCH_BODY_FILE: body, BENCH_HEADERS_FILE: headers } });
  await new Promise<void>((r) => s.proc.once('exit', () => r()));
  const out = s.output();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 'NaN');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? '0');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? '0');
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return { rps, requests, errors: non2xx + (se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0) };
}

// Ctrl-C: the process group stops every child (bench/lib/procs.ts).

try {
  const startLoad = loadavg().map((x) => x.toFixed(2)).join(' ');
  log(`gateway workers benchmark: ${cpus().length} CPUs, load average ${startLoad}; ${rounds} rounds x ${seconds} s, wrk 1 thread ${connections} connections`);
  const up = await startNginxUpstream(group, dir, 1);
  const cfg = await sovereignConfig({ group, dir, upstream: up.origin, workers: 1, gatewayWorkers: 1 }, dir);
  const system = group.start('sovereign up', NODE, [MAIN, '--config', cfg.file, 'up'], { cwd: ROOT });
  await system.waitFor('Sovereign is up', 180_000);
  log('  cells up');
  const variants: Variant[] = [
    { name: '1 worker', workers: 1, sched: 'rr' },
    { name: '2 workers, SCHED_RR', workers: 2, sched: 'rr' },
    { name: '2 workers, SCHED_NONE', workers: 2, sched: 'none' },
  ];
  for (const v of variants) {
    const port = await freePort();
    v.url = `http://127.0.0.1:${port}/v1/chat/completions`;
    v.proc = group.start(`gateway ${v.name}`, NODE, [MAIN, '--config', cfg.file, 'gateway', '--port', String(port), '--workers', String(v.workers), '--replica', `bench-${v.workers}-${v.sched}`], {
      cwd: ROOT,
      env: { ...process.env, NODE_CLUSTER_SCHED_POLICY: v.sched },
    });
    await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/v2/health/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    }, 180_000, `gateway ${v.name}`);
    log(`  started gateway ${v.name} on ${port}`);
  }
  const body = path.join(dir, 'body.json');
  const headers = path.join(dir, 'headers.txt');
  writeFileSync(body, JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Summarise the state of the deployment in one sentence.' }], max_tokens: 64 }));
  writeFileSync(headers, 'x-sovereign-jurisdiction: DE\n');

  const runs: Run[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const v of variants) {
      const primary = v.proc?.pid as number;
      const pids = (): number[] => [primary, ...childrenOf(primary)];
      await wrk(v.url as string, Math.min(3, seconds), body, headers); // warm-up (JIT, pools)
      // Idle CPU (probes, timers, the primary's health broadcasts) over 2 s, taken off the loaded
      // run: at the low rates of a saturated machine it would otherwise weigh on every request.
      const i0 = cpuSeconds(pids());
      const ip0 = cpuSeconds([primary]);
      await new Promise((res) => setTimeout(res, 2000));
      const idleRate = (cpuSeconds(pids()) - i0) / 2;
      const idlePrimary = (cpuSeconds([primary]) - ip0) / 2;
      const p0 = cpuSeconds([primary]);
      const c0 = cpuSeconds(pids());
      const t0 = performance.now();
      const w = await wrk(v.url as string, seconds, body, headers);
      const took = (performance.now() - t0) / 1000;
      const c = Math.max(0, cpuSeconds(pids()) - c0 - idleRate * took);
      const p = Math.max(0, cpuSeconds([primary]) - p0 - idlePrimary * took);
      const run: Run = { variant: v.name, round: r, rps: w.rps, requests: w.requests, errors: w.errors, gatewayCpuUsPerRequest: (c / w.requests) * 1e6, primaryCpuUsPerRequest: (p / w.requests) * 1e6, loadavg1: loadavg()[0] ?? 0 };
      runs.push(run);
      log(`  round ${r} ${v.name.padEnd(22)} ${fmt(w.rps, 0).padStart(6)} req/s  gateway CPU ${fmt(run.gatewayCpuUsPerRequest, 0)} µs/request (primary ${fmt(run.primaryCpuUsPerRequest, 0)})  errors ${w.errors}  load ${fmt(run.loadavg1, 2)}`);
    }
  }
  const by = (name: string): { rps: number; cpu: number; primary: number; load: number } => {
    const xs = runs.filter((x) => x.variant === name);
    return { rps: median(xs.map((x) => x.rps)), cpu: median(xs.map((x) => x.gatewayCpuUsPerRequest)), primary: median(xs.map((x) => x.primaryCpuUsPerRequest)), load: median(xs.map((x) => x.loadavg1)) };
  };
  const one = by('1 worker');
  const summary = variants.map((v) => {
    const m = by(v.name);
    return { variant: v.name, ...m, measuredRatio: m.rps / one.rps, projectedRatio: v.workers === 1 ? 1 : (v.workers * one.cpu) / m.cpu };
  });
  const endLoad = loadavg().map((x) => x.toFixed(2)).join(' ');
  const json = { date: today(), node: process.version, cpus: cpus().length, loadavgStart: startLoad, loadavgEnd: endLoad, rounds, seconds, connections, runs, summary };
  const md = [
    `# Gateway workers ${today()}`,
    '',
    `Node ${process.version}, ${cpus().length} CPUs shared with the cells, the nginx upstream and wrk (1 thread, ${connections} connections, ${seconds} s per run), mTLS on; ${rounds} interleaved rounds, medians. Load average at start ${startLoad}, at end ${endLoad}.`,
    '',
    '| variant | req/s | vs 1 worker | gateway CPU µs/request (all its processes) | of which primary (with 1 worker: the one process) | projected on free cores | load avg |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...summary.map((s) => `| ${s.variant} | ${fmt(s.rps, 0)} | ${fmt(s.measuredRatio, 2)}x | ${fmt(s.cpu, 0)} | ${fmt(s.primary, 0)} | ${fmt(s.projectedRatio, 2)}x | ${fmt(s.load, 2)} |`),
    '',
    'projected: 2 x (1-worker CPU per request) / (2-worker CPU per request), the throughput ratio when each worker has a core of its own and the gateway is the bottleneck.',
  ].join('\n');
  const files = writeResults('gateway-workers', json, md);
  log(`\n${md}\n\nwrote ${files.json}${files.md ? ` and ${files.md}` : ''}`);
} finally {
  await group.stopAll();
  if (!flags.keep) rmSync(dir, { recursive: true, force: true });
}
