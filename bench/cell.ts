// npm run bench:cell — what the region cell costs per request on Sovereign's default path: the
// shipped topology (`sovereign up`: gateway + four cells with the embedded runtime, mutual TLS),
// one EU chat request (served by eu-frankfurt) through the gateway, so the cell gets exactly the
// gateway's one-hop request (payload, served-for headers, x-sovereign-record). Reported per
// system: the eu-frankfurt cell's CPU per request (utime + stime of the process, all its threads,
// from /proc) and the gateway's at full load (wrk, 32 connections) and at a fixed rate, with the
// latency at that rate.
//
// With --base <dir> (a checkout of other code, e.g. `git worktree add --detach /tmp/base main`
// with node_modules linked) both systems run at once and are measured in interleaved rounds
// (A B A B ...): on a shared machine, compare the per-round ratios, not absolute figures.
// --profile: one more full-load run of each system under node --cpu-prof; the cell's profile is
// summarised (self time by function and area).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { cpuMs, freePort, pidsWith, ProcessGroup, type Started } from './lib/procs.ts';
import { median } from './lib/stats.ts';
import type { LoadResult, LoadSpec } from './gateway/loadgen.ts';
import { summarise, summaryMarkdown, type ProfileSummary } from './gateway/profile.ts';
import { embeddedBody, EMBEDDED_REGION } from './gateway/embedded.ts';
import { ROOT } from './gateway/targets.ts';

const HELP = `npm run bench:cell -- [flags]
  --base <dir>         also run the code in <dir> (a checkout with node_modules), side by side
  --rounds <n>         interleaved rounds (default 3)
  --seconds <s>        wrk run per system and round (default 8)
  --rate <n>           fixed request rate (default 200)
  --rate-seconds <s>   fixed-rate run per system and round (default 6; first second not counted)
  --profile            one profiled full-load run per system; the cell's profile summarised
  --out <file>         write the markdown report there too
  --keep               keep the temporary directory (configs, logs, profiles)`;

const { values: flags } = parseArgs({
  options: {
    help: { type: 'boolean' }, base: { type: 'string' }, rounds: { type: 'string' }, seconds: { type: 'string' },
    rate: { type: 'string' }, 'rate-seconds': { type: 'string' }, profile: { type: 'boolean' }, out: { type: 'string' }, keep: { type: 'boolean' },
  },
  strict: true,
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}
function num(v: string | undefined, dflt: number, name: string, min: number, max: number): number {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name}: expected a number from ${min} to ${max}, got "${v}"`);
  return n;
}
const cfg = {
  rounds: num(flags.rounds, 3, 'rounds', 1, 20),
  seconds: num(flags.seconds, 8, 'seconds', 1, 120),
  rate: num(flags.rate, 200, 'rate', 1, 5000),
  rateSeconds: num(flags['rate-seconds'], 6, 'rate-seconds', 2, 120),
};

const group = new ProcessGroup();
let interrupted = false;
group.installSignalHandlers(() => (interrupted = true));
const log = (s: string): void => console.log(s);
const CHAT = '/v1/chat/completions';
const HEADERS = { 'x-sovereign-jurisdiction': 'DE' };

interface System {
  name: string;
  root: string;
  config: string;
  gateway: string;
  up: Started;
}

async function startSystem(name: string, root: string, dir: string, env: NodeJS.ProcessEnv = process.env): Promise<System> {
  const sysDir = path.join(dir, `${name}-${await freePort()}`);
  mkdirSync(sysDir, { recursive: true });
  const shipped = parse(readFileSync(path.join(root, 'sovereign.yaml'), 'utf8')) as Record<string, unknown> & { regions: { url: string }[]; gateway: Record<string, unknown> };
  shipped.dataDir = path.join(sysDir, 'data');
  for (const r of shipped.regions) {
    const u = new URL(r.url);
    u.port = String(await freePort());
    r.url = u.origin;
  }
  const gwPort = await freePort();
  shipped.gateway = { ...shipped.gateway, port: gwPort, maxConnectionsPerClient: 0, workers: 1 };
  const config = path.join(sysDir, 'sovereign.yaml');
  writeFileSync(config, stringify(shipped));
  const up = group.start(`sovereign up (${name})`, process.execPath, [path.join(root, 'src/cli/main.ts'), '--config', config, 'up'], { cwd: root, env });
  await up.waitFor('Sovereign is up', 240_000);
  const gateway = `http://127.0.0.1:${gwPort}`;
  const res = await fetch(`${gateway}${CHAT}`, { method: 'POST', headers: { 'content-type': 'application/json', ...HEADERS }, body: embeddedBody(false), signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status !== 200 || res.headers.get('x-sovereign-region') !== EMBEDDED_REGION) throw new Error(`${name}: the benchmark request got ${res.status} from ${res.headers.get('x-sovereign-region')}: ${text.slice(0, 300)}`);
  return { name, root, config, gateway, up };
}

const cellPids = (s: System): number[] => pidsWith(s.config, 'cell', '--region', EMBEDDED_REGION);
const gatewayPids = (s: System): number[] => pidsWith(s.config, 'gateway');

async function wrk(url: string, seconds: number, files: { body: string; headers: string }): Promise<{ rps: number; requests: number; bad: number }> {
  const s = group.start('wrk', 'wrk', ['-t2', '-c32', `-d${Math.round(seconds)}s`, '--timeout', '10s', '-s', path.join(ROOT, 'bench/gateway/post.lua'), url], {
    env: { ...process.env, BENCH_BODY_FILE: files.body, BENCH_HEADERS_FILE: files.headers },
  });
  const out = await group.runToExit(s, (seconds + 30) * 1000);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 'NaN'),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? '0'),
    bad: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? '0') + (se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}

async function loadgen(url: string, bodyFile: string): Promise<LoadResult> {
  const spec: LoadSpec = { url, rate: cfg.rate, durationMs: cfg.rateSeconds * 1000, warmupMs: 1000, bodyFile, headers: HEADERS, mode: 'latency', connections: 256, maxInflight: 5000 };
  const s = group.start('loadgen', process.execPath, [path.join(ROOT, 'bench/gateway/loadgen.ts'), JSON.stringify(spec)]);
  const out = await group.runToExit(s, spec.durationMs + 60_000);
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`loadgen printed no result:\n${out.slice(-2000)}`);
  return JSON.parse(line) as LoadResult;
}

/** CPU µs per request of each group of pids over `run`. */
async function cpuOver<T>(groups: Record<string, number[]>, requests: (r: T) => number, run: () => Promise<T>): Promise<{ r: T; us: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, pids.map((p) => cpuMs(p))]));
  const r = await run();
  const n = Math.max(1, requests(r));
  const us = Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, (pids.reduce((a, p, i) => a + cpuMs(p) - (before[k]?.[i] ?? 0), 0) / n) * 1000]));
  return { r, us };
}

interface Sample { rps: number; cellFull: number; gatewayFull: number; cellRate: number; p50: number; p99: number; bad: number }

async function measure(s: System, files: { body: string; headers: string }): Promise<Sample> {
  const pids = { cell: cellPids(s), gateway: gatewayPids(s) };
  const full = await cpuOver(pids, (r) => r.requests, () => wrk(`${s.gateway}${CHAT}`, cfg.seconds, files));
  const rate = await cpuOver(pids, (r) => r.sent, () => loadgen(`${s.gateway}${CHAT}`, files.body));
  return { rps: full.r.rps, cellFull: full.us.cell ?? NaN, gatewayFull: full.us.gateway ?? NaN, cellRate: rate.us.cell ?? NaN, p50: rate.r.p50, p99: rate.r.p99, bad: full.r.bad + rate.r.errors + rate.r.non2xx + rate.r.dropped };
}

async function profileCell(name: string, root: string, dir: string, files: { body: string; headers: string }): Promise<ProfileSummary | null> {
  const profDir = path.join(dir, `profiles-${name}`);
  mkdirSync(profDir, { recursive: true });
  const s = await startSystem(`${name}-profiled`, root, dir, { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim() });
  const pids = cellPids(s);
  await wrk(`${s.gateway}${CHAT}`, 3, files);
  const t0 = Date.now();
  await wrk(`${s.gateway}${CHAT}`, cfg.seconds, files);
  const window = Date.now() - t0;
  await group.stop(s.up, 20_000);
  const file = readdirSync(profDir).find((f) => pids.some((p) => f.includes(`.${p}.`)));
  return file ? summarise(path.join(profDir, file), 30, window) : null;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-bench-cell-'));
  const files = { body: path.join(dir, 'body.json'), headers: path.join(dir, 'headers.txt') };
  writeFileSync(files.body, embeddedBody(false));
  writeFileSync(files.headers, Object.entries(HEADERS).map(([k, v]) => `${k}: ${v}\n`).join(''));
  const roots: [string, string][] = [['this', ROOT]];
  if (flags.base) roots.push(['base', path.resolve(flags.base)]);
  const load0 = loadavg();
  const systems: System[] = [];
  const samples = new Map<string, Sample[]>();
  const profiles = new Map<string, ProfileSummary | null>();
  try {
    for (const [name, root] of roots) {
      systems.push(await startSystem(name, root, dir));
      samples.set(name, []);
      log(`started ${name} (${root})`);
    }
    for (const s of systems) await wrk(`${s.gateway}${CHAT}`, 4, files); // warm-up: JIT, pools
    for (let r = 1; r <= cfg.rounds && !interrupted; r++) {
      for (const s of r % 2 === 1 ? systems : [...systems].reverse()) {
        const m = await measure(s, files);
        samples.get(s.name)?.push(m);
        log(`round ${r} ${s.name.padEnd(4)} ${m.rps.toFixed(0)} req/s  cell ${m.cellFull.toFixed(0)} µs/req  gateway ${m.gatewayFull.toFixed(0)} µs/req  | @${cfg.rate}/s cell ${m.cellRate.toFixed(0)} µs/req p50 ${m.p50.toFixed(3)} p99 ${m.p99.toFixed(3)} ms${m.bad ? `  (${m.bad} bad)` : ''}  load ${loadavg()[0]?.toFixed(2)}`);
      }
    }
    for (const s of systems) await group.stop(s.up, 20_000);
    if (flags.profile && !interrupted) for (const [name, root] of roots) profiles.set(name, await profileCell(name, root, dir, files));
  } finally {
    await group.stopAll();
  }
  const load1 = loadavg();
  const med = (xs: number[]): number => median(xs.filter(Number.isFinite));
  const lines = [
    `# Cell CPU per request (bench/cell.ts)`,
    '',
    `Load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')}. ${cfg.rounds} interleaved rounds, medians; wrk 32 connections ${cfg.seconds} s; open loop ${cfg.rate} req/s ${cfg.rateSeconds} s. Shipped topology, mTLS, gateway.workers 1, request served by ${EMBEDDED_REGION}.`,
    '',
    '| code | max req/s | cell µs CPU/req (full load) | gateway µs CPU/req (full load) | cell µs CPU/req @rate | p50 ms @rate | p99 ms @rate |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...[...samples].map(([n, xs]) => `| ${n} | ${med(xs.map((x) => x.rps)).toFixed(0)} | ${med(xs.map((x) => x.cellFull)).toFixed(0)} | ${med(xs.map((x) => x.gatewayFull)).toFixed(0)} | ${med(xs.map((x) => x.cellRate)).toFixed(0)} | ${med(xs.map((x) => x.p50)).toFixed(3)} | ${med(xs.map((x) => x.p99)).toFixed(3)} |`),
  ];
  const a = samples.get('this');
  const b = samples.get('base');
  if (a && b && a.length === b.length && a.length > 0) {
    const ratio = (f: (x: Sample) => number): string => med(a.map((x, i) => f(x) / f(b[i] as Sample))).toFixed(3);
    lines.push('', `Per-round ratios this ÷ base (median): cell CPU/req at full load ×${ratio((x) => x.cellFull)}, at ${cfg.rate}/s ×${ratio((x) => x.cellRate)}; max req/s ×${ratio((x) => x.rps)}; gateway CPU/req ×${ratio((x) => x.gatewayFull)}; p50 ×${ratio((x) => x.p50)}; p99 ×${ratio((x) => x.p99)}.`);
  }
  for (const [n, p] of profiles) if (p) lines.push('', summaryMarkdown(p, `cell profile (${n})`));
  const md = `${lines.join('\n')}\n`;
  log(`\n${md}`);
  if (flags.out) writeFileSync(flags.out, md);
  if (flags.keep) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

await main();
