// npm run bench:gateway — the same OpenAI-compatible chat request, against the same upstream,
// through: nothing (direct), nginx, HAProxy, a bare undici proxy (in plaintext to the upstream,
// and with mutual TLS to it: undici-mtls, like for like with Sovereign's mTLS hop to its
// cells), Portkey's AI gateway and Sovereign's full path (identify, classify, decide, durable ledger entry, forward; gateway ->
// region cell -> upstream). Targets are interleaved (A B C A B C ...) for several rounds and
// medians are reported: max throughput at 32 connections (wrk), latency p50/p99 at a fixed
// 200 requests/s (open-loop generator, bench/gateway/loadgen.ts) and streaming time to first
// byte, each also as a ratio to direct and to the bare undici proxy (and to undici-mtls).
// Writes bench/results/gateway-<date>.json and .md. Flags: node bench/gateway.ts --help
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createClassifier } from '../src/classify/index.ts';
import { fmt, median, today } from './lib/stats.ts';
import { ProcessGroup, pidsWith } from './lib/procs.ts';
import type { LoadResult, LoadSpec } from './gateway/loadgen.ts';
import { summarise, summaryMarkdown, type ProfileSummary } from './gateway/profile.ts';
import { meshPairMarkdown, phaseMeshPair, type MeshPairResult } from './gateway/mesh-pair.ts';
import { timingMarkdown } from './gateway/timing.ts';
import { cpuPerRequest, embeddedMarkdown, phaseEmbedded, type EmbeddedResult } from './gateway/embedded.ts';
import { ROOT, TARGET_NAMES, ensureTools, startNginxUpstream, startSseUpstream, startTarget, type Target, type TargetName, type Upstream } from './gateway/targets.ts';

const HELP = `npm run bench:gateway -- [flags]     (every flag also reads env BENCH_<NAME>, e.g. BENCH_ROUNDS=5)
  --quick                 smoke run of about a minute (2 rounds, short loads)
  --rounds <n>            interleaved rounds, medians reported (default 3)
  --throughput-seconds <s> wrk run per target and round, whole seconds (default 5)
  --rate-seconds <s>      fixed-rate run per target and round (default 6; the first second is warm-up)
  --ttfb-seconds <s>      streaming run per target and round (default 4)
  --rate <n>              fixed request rate, requests/s (default 200)
  --cpu-rate <n>          rate at which Sovereign's gateway and the bare undici proxies are also run for their CPU
                          per request at one load (default 1000, quick 300; 0 skips it)
  --ttfb-rate <n>         request rate of the streaming runs (default 50)
  --connections <n>       wrk connections for max throughput (default 32)
  --warmup-seconds <s>    wrk run per target before it is measured (default 20, quick 2; the embedded phase too):
                          JIT, pools and caches warm, so the first round's CPU per request is not the compiler's
  --wrk-threads <n>       wrk threads (default 2)
  --workers <n>           nginx worker_processes / HAProxy nbthread (default 1: one core, like one Node process)
  --targets <list>        comma-separated subset of ${TARGET_NAMES.join(',')}
  --no-stream             skip the streaming (TTFB) phase
  --profile               only profile Sovereign: gateway + first EU cell under node --cpu-prof for one load run
  --no-profile            do not profile automatically when Sovereign misses a target
  --keep                  keep the temporary directory (configs, logs, profiles)
  --no-mesh-pair          skip the mTLS vs plaintext pair of Sovereign's full path
  --mesh-pair-only        only the mTLS vs plaintext pair (writes gateway-mesh-<date>.json/.md)
  --no-embedded           skip Sovereign in front of the embedded cell (the default system)
  --embedded-only         only the embedded-cell phase (writes gateway-embedded-<date>.json/.md)
  --embedded-seconds <s>  wrk run per round in the embedded-cell phase (default 10)
  --gateway-workers <n>   write gateway.workers <n> into Sovereign's topologies (default: not written)`;

const { values: flags } = parseArgs({
  options: {
    help: { type: 'boolean' }, quick: { type: 'boolean' }, rounds: { type: 'string' },
    'throughput-seconds': { type: 'string' }, 'rate-seconds': { type: 'string' }, 'ttfb-seconds': { type: 'string' },
    rate: { type: 'string' }, 'cpu-rate': { type: 'string' }, 'ttfb-rate': { type: 'string' }, 'warmup-seconds': { type: 'string' }, connections: { type: 'string' }, 'wrk-threads': { type: 'string' },
    workers: { type: 'string' }, targets: { type: 'string' }, 'no-stream': { type: 'boolean' }, profile: { type: 'boolean' },
    'no-profile': { type: 'boolean' }, keep: { type: 'boolean' }, 'no-mesh-pair': { type: 'boolean' }, 'mesh-pair-only': { type: 'boolean' },
    'no-embedded': { type: 'boolean' }, 'embedded-only': { type: 'boolean' }, 'embedded-seconds': { type: 'string' }, 'gateway-workers': { type: 'string' },
  },
  strict: true,
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}

function num(name: string, dflt: number, quick: number, min: number, max: number): number {
  const raw = (flags as Record<string, unknown>)[name] ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const v = raw === undefined ? (quick_ ? quick : dflt) : Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`--${name}: expected a number from ${min} to ${max}, got "${JSON.stringify(raw)}"`);
  return v;
}
const quick_ = flags.quick === true || process.env.BENCH_QUICK === '1';
const cfg = {
  quick: quick_,
  rounds: num('rounds', 3, 2, 1, 20),
  throughputSeconds: num('throughput-seconds', 5, 2, 1, 120),
  rateSeconds: num('rate-seconds', 6, 2.5, 2, 120),
  ttfbSeconds: num('ttfb-seconds', 4, 1.5, 1, 120),
  rate: num('rate', 200, 200, 1, 5000),
  cpuRate: num('cpu-rate', 1000, 300, 0, 20000),
  ttfbRate: num('ttfb-rate', 50, 50, 1, 1000),
  connections: num('connections', 32, 32, 1, 1024),
  warmupSeconds: num('warmup-seconds', 20, 2, 1, 300),
  wrkThreads: num('wrk-threads', 2, 2, 1, 16),
  workers: num('workers', 1, 1, 1, 64),
  embeddedSeconds: num('embedded-seconds', 10, 3, 1, 120),
  gatewayWorkers: (flags['gateway-workers'] ?? process.env.BENCH_GATEWAY_WORKERS) === undefined ? undefined : num('gateway-workers', 1, 1, 1, 64),
  warmupMs: 1000,
  stream: !(flags['no-stream'] ?? process.env.BENCH_NO_STREAM === '1'),
};
const targetNames: TargetName[] = (flags.targets ?? process.env.BENCH_TARGETS ?? TARGET_NAMES.join(','))
  .split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    if (!(TARGET_NAMES as readonly string[]).includes(s)) throw new Error(`--targets: unknown target "${s}"; choose from ${TARGET_NAMES.join(', ')}`);
    return s as TargetName;
  });
if (!targetNames.includes('direct')) targetNames.unshift('direct'); // every ratio needs it

const log = (s: string): void => console.log(s);
const group = new ProcessGroup();
let interrupted = false;
group.installSignalHandlers(() => (interrupted = true));

// ---- The request --------------------------------------------------------------------------

/** A realistic ~1 KiB chat prompt without personal data (classifies as public). */
function chatBody(stream: boolean): string {
  const notes =
    'Summarise the following release notes for the operations channel in three bullet points. ' +
    'The routing service moved to a new connection pool, which cut median latency across the ' +
    'European regions by a fifth. The model registry now verifies content digests before every ' +
    'load, and the rollout tooling waits for health probes to pass before shifting traffic. ' +
    'Storage for audit logs grew by twelve percent this quarter, mostly from longer retention. ' +
    'The team plans a failover game day before the next release and asks every service owner to ' +
    'review their runbooks, alert thresholds and dashboards. Capacity planning for the winter ' +
    'peak starts next month; expected growth is around thirty percent in request volume.';
  return JSON.stringify({
    model: 'bench-model',
    messages: [
      { role: 'system', content: 'You are a concise assistant for a platform engineering team.' },
      { role: 'user', content: notes },
    ],
    temperature: 0.2,
    max_tokens: 256,
    ...(stream ? { stream: true } : {}),
  });
}

function headersFor(upstream: string): Record<string, string> {
  // The same headers go to every target: Sovereign reads the first, Portkey the next two.
  return {
    'x-sovereign-jurisdiction': 'DE',
    // The nginx data plane's auth_request cannot read the body: the model is named here.
    'x-sovereign-model': 'bench-model',
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `${upstream}/v1`,
    authorization: 'Bearer bench-not-a-real-key',
  };
}

// ---- Running loads --------------------------------------------------------------------------

interface WrkResult { rps: number; requests: number; non2xx: number; socketErrors: number; latencyP50Ms: number; latencyP99Ms: number; valid: boolean; cpuUsPerReq?: number; cellsCpuUsPerReq?: number }

function wrkMs(s: string | undefined): number {
  const m = /([\d.]+)(us|ms|s)/.exec(s ?? '');
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

async function wrk(url: string, seconds: number, files: { body: string; headers: string }): Promise<WrkResult> {
  const s = group.start('wrk', 'wrk', [`-t${cfg.wrkThreads}`, `-c${cfg.connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency', '--timeout', '10s', '-s', path.join(ROOT, 'bench/gateway/post.lua'), url], {
    env: { ...process.env, BENCH_BODY_FILE: files.body, BENCH_HEADERS_FILE: files.headers },
  });
  const out = await group.runToExit(s, (seconds + 30) * 1000);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 'NaN');
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? '0');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? '0');
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = se ? se.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const bad = non2xx + socketErrors;
  return {
    rps, requests, non2xx, socketErrors,
    latencyP50Ms: wrkMs(/\s50%\s+(\S+)/.exec(out)?.[1]), latencyP99Ms: wrkMs(/\s99%\s+(\S+)/.exec(out)?.[1]),
    valid: Number.isFinite(rps) && requests > 0 && bad <= requests * 0.01,
  };
}

async function loadgen(spec: Omit<LoadSpec, 'connections' | 'maxInflight' | 'warmupMs'>): Promise<LoadResult> {
  const full: LoadSpec = { ...spec, warmupMs: cfg.warmupMs, connections: 256, maxInflight: 5000 };
  const s = group.start('loadgen', process.execPath, [path.join(ROOT, 'bench/gateway/loadgen.ts'), JSON.stringify(full)]);
  const out = await group.runToExit(s, spec.durationMs + 60_000);
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`loadgen printed no result:\n${out.slice(-2000)}`);
  return JSON.parse(line) as LoadResult;
}

/** One request through a target; throws unless it is a 200 with a chat answer. */
async function smoke(t: Target, body: string, headers: Record<string, string>, stream: boolean): Promise<string> {
  const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  if (res.status !== 200 || !(stream ? text.includes('data:') : text.includes('"choices"'))) {
    throw new Error(`${t.name} at ${t.url} answered ${res.status} to the benchmark request: ${text.slice(0, 500)}`);
  }
  return res.headers.get('x-sovereign-region') ?? '';
}

// ---- Phases -----------------------------------------------------------------------------------

interface Files { body: string; headers: string; streamBody: string }

async function startTargets(dir: string, up: Upstream, names: readonly TargetName[]): Promise<Target[]> {
  const out: Target[] = [];
  for (const n of names) {
    const t0 = Date.now();
    out.push(await startTarget(n, { group, dir, upstream: up.origin, upstreamTls: up.tls, workers: cfg.workers, ...(cfg.gatewayWorkers !== undefined ? { gatewayWorkers: cfg.gatewayWorkers } : {}) }));
    log(`  started ${n.padEnd(10)} ${out[out.length - 1]?.url ?? ''}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return out;
}

async function stopTargets(ts: readonly Target[]): Promise<void> {
  for (const t of ts) for (const p of t.procs) await group.stop(p);
}

function writeHeaders(file: string, h: Record<string, string>): void {
  writeFileSync(file, Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
}

interface Measured {
  throughput: Partial<Record<TargetName, WrkResult[]>>;
  rate: Partial<Record<TargetName, LoadResult[]>>;
  /** The processes of cpuPidsOf at cfg.cpuRate: CPU per request when every target serves the same rate. */
  cpuAtRate: Partial<Record<TargetName, (LoadResult & { cpuUsPerReq: number })[]>>;
  ttfb: Partial<Record<TargetName, LoadResult[]>>;
  regionServed: string;
  /** Targets left out of a phase, and why. */
  failures: Record<string, string>;
}

/** The processes whose CPU per request is reported: Sovereign's gateway (all its workers) and the bare proxy. */
function cpuPidsOf(t: Target): (() => number[]) | null {
  if (t.name === 'undici' || t.name === 'undici-mtls') return () => t.procs.map((p) => p.pid);
  if (t.name !== 'sovereign') return null;
  const args = t.procs[0]?.proc.spawnargs ?? [];
  const config = args[args.indexOf('--config') + 1] ?? '';
  return () => pidsWith(config, 'gateway');
}

/** Sovereign's cells (all four; the EU cell serves the benchmark request): their CPU per request is reported beside the gateway's. */
function cellPidsOf(t: Target): (() => number[]) | null {
  if (t.name !== 'sovereign') return null;
  const args = t.procs[0]?.proc.spawnargs ?? [];
  const config = args[args.indexOf('--config') + 1] ?? '';
  return () => pidsWith(config, 'cell');
}

/** A wrk run with the CPU per request of the target's processes (and of Sovereign's cells), read from /proc over the same run. */
async function measuredWrk(t: Target, files: Files): Promise<WrkResult> {
  const pids = cpuPidsOf(t);
  const cells = cellPidsOf(t);
  const run = (): Promise<WrkResult> => (pids ? cpuPerRequest(pids, () => wrk(t.url, cfg.throughputSeconds, files)) : wrk(t.url, cfg.throughputSeconds, files));
  if (!cells) return run();
  const c = await cpuPerRequest(cells, async () => {
    const w = await run();
    return { ...w, gatewayUs: w.cpuUsPerReq };
  });
  const { gatewayUs, cpuUsPerReq: cellsUs, ...w } = c;
  return { ...w, ...(gatewayUs !== undefined ? { cpuUsPerReq: gatewayUs } : {}), cellsCpuUsPerReq: cellsUs };
}

async function phaseNonStreaming(dir: string, files: Files, m: Measured): Promise<void> {
  log('\nphase 1: non-streaming (upstream: nginx serving a fixed chat.completion)');
  const up = await startNginxUpstream(group, dir, cfg.workers);
  const headers = headersFor(up.origin);
  writeHeaders(files.headers, headers);
  const targets = await startTargets(dir, up, targetNames);
  try {
    for (const t of targets) {
      const region = await smoke(t, chatBodyText, headers, false);
      if (t.name === 'sovereign') {
        m.regionServed = region;
        if (!region.startsWith('eu-')) throw new Error(`Sovereign served the DE request from "${region}", expected an EU region`);
      }
      // Warm-up (JIT, connection pools, TLS sessions): a 1 s warm-up left the first rounds'
      // CPU per request mostly compile time on a loaded machine (gateway 1,328 -> 732 µs over four
      // 5 s rounds of the same system, bench/results/gateway-cellpath-2026-12-01-loaded.md).
      await wrk(t.url, cfg.warmupSeconds, files);
    }
    for (let r = 1; r <= cfg.rounds && !interrupted; r++) {
      for (const t of targets) {
        // CPU per request of the Sovereign gateway process(es) alone and of the bare proxy, from /proc.
        const w = await measuredWrk(t, files);
        (m.throughput[t.name] ??= []).push(w);
        log(`  round ${r}/${cfg.rounds} throughput ${t.name.padEnd(10)} ${fmt(w.rps, 0).padStart(8)} req/s${w.cpuUsPerReq !== undefined ? `  ${w.cpuUsPerReq.toFixed(0)} µs CPU/req` : ''}${w.cellsCpuUsPerReq !== undefined ? ` (cells ${w.cellsCpuUsPerReq.toFixed(0)} µs)` : ''}${w.valid ? '' : `  (INVALID: ${w.non2xx} non-2xx, ${w.socketErrors} socket errors)`}`);
      }
      for (const t of targets) {
        const l = await loadgen({ url: t.url, rate: cfg.rate, durationMs: cfg.rateSeconds * 1000, bodyFile: files.body, headers, mode: 'latency' });
        (m.rate[t.name] ??= []).push(l);
        log(`  round ${r}/${cfg.rounds} @${cfg.rate}/s    ${t.name.padEnd(10)} p50 ${fmt(l.p50, 3)} ms  p99 ${fmt(l.p99, 3)} ms${l.errors + l.non2xx + l.dropped > 0 ? `  (${l.errors} errors, ${l.non2xx} non-2xx, ${l.dropped} dropped: ${l.firstError ?? ''})` : ''}`);
      }
      // At full load each process's CPU per request follows its own throughput (a bare proxy
      // serving three times Sovereign's rate spreads each wakeup and event-loop turn over more
      // requests), so the processes whose CPU is reported also serve one rate, the same for all.
      // A run that does not hold the rate is left out of that figure (rows()).
      for (const t of cfg.cpuRate > 0 ? targets : []) {
        const pids = cpuPidsOf(t);
        if (!pids) continue;
        const l = await cpuPerRequest(pids, async () => {
          const x = await loadgen({ url: t.url, rate: cfg.cpuRate, durationMs: cfg.rateSeconds * 1000, bodyFile: files.body, headers, mode: 'latency' });
          return { ...x, requests: x.ok };
        });
        (m.cpuAtRate[t.name] ??= []).push(l);
        log(`  round ${r}/${cfg.rounds} @${cfg.cpuRate}/s   ${t.name.padEnd(10)} ${l.cpuUsPerReq.toFixed(0)} µs CPU/req  (${fmt(l.achievedRate, 0)} req/s served${l.errors + l.non2xx + l.dropped > 0 ? `, ${l.errors} errors, ${l.non2xx} non-2xx, ${l.dropped} dropped` : ''})`);
      }
    }
  } finally {
    await stopTargets(targets);
    await group.stop(up.proc);
  }
}

async function phaseStreaming(dir: string, files: Files, m: Measured): Promise<void> {
  log('\nphase 2: streaming time to first byte (upstream: Node SSE server, first event at once)');
  const up = await startSseUpstream(group, dir);
  const headers = headersFor(up.origin);
  writeHeaders(files.headers, headers);
  const targets = await startTargets(dir, up, targetNames);
  try {
    // A target that cannot stream is left out of this phase, with the reason in the results.
    const ok: Target[] = [];
    for (const t of targets) {
      try {
        await smoke(t, streamBodyText, headers, true);
        ok.push(t);
      } catch (err) {
        const tail = t.procs.map((p) => p.output().split('\n').filter((l) => /error/i.test(l)).slice(-3).join(' | ')).join(' ');
        m.failures[`${t.name} (streaming)`] = `${(err as Error).message}${tail ? ` -- its log: ${tail}` : ''}`.slice(0, 800);
        log(`  ! ${t.name} left out of the streaming phase: ${m.failures[`${t.name} (streaming)`]}`);
      }
    }
    if (!ok.some((t) => t.name === 'direct')) throw new Error('the streaming upstream does not answer directly; see the messages above');
    // The same warm-up as phase 1, with the streaming request: these are new processes, and
    // without it the rounds timed the JIT compiling the streaming path (Sovereign's gateway and
    // cell have far more code to compile than a bare proxy: two full runs an hour apart gave
    // Sovereign +3.13 ms over the bare proxy's time to first byte without it, +1.72 ms with it).
    for (const t of ok) await wrk(t.url, cfg.warmupSeconds, { body: files.streamBody, headers: files.headers });
    for (let r = 1; r <= cfg.rounds && !interrupted; r++) {
      for (const t of ok) {
        const l = await loadgen({ url: t.url, rate: cfg.ttfbRate, durationMs: cfg.ttfbSeconds * 1000, bodyFile: files.streamBody, headers, mode: 'ttfb' });
        (m.ttfb[t.name] ??= []).push(l);
        log(`  round ${r}/${cfg.rounds} TTFB @${cfg.ttfbRate}/s ${t.name.padEnd(10)} p50 ${fmt(l.p50, 3)} ms  p99 ${fmt(l.p99, 3)} ms${l.errors + l.non2xx > 0 ? `  (${l.errors} errors, ${l.non2xx} non-2xx: ${l.firstError ?? ''})` : ''}`);
      }
    }
  } finally {
    await stopTargets(targets);
    await group.stop(up.proc);
  }
}

/** Sovereign with --cpu-prof on the gateway and first EU cell, one throughput + one fixed-rate run. */
async function phaseProfile(dir: string, files: Files): Promise<ProfileSummary[]> {
  log('\nprofile: Sovereign gateway and eu-frankfurt cell under node --cpu-prof');
  const up = await startNginxUpstream(group, dir, cfg.workers);
  const headers = headersFor(up.origin);
  writeHeaders(files.headers, headers);
  const t = await startTarget('sovereign', { group, dir, upstream: up.origin, workers: cfg.workers, profile: true, ...(cfg.gatewayWorkers !== undefined ? { gatewayWorkers: cfg.gatewayWorkers } : {}) });
  let loadStart = Date.now();
  let window = 0;
  try {
    await smoke(t, chatBodyText, headers, false);
    await wrk(t.url, cfg.warmupSeconds, files); // not in the profile's window: start-up and compilation left out
    loadStart = Date.now();
    const w = await wrk(t.url, Math.max(cfg.throughputSeconds, 5), files);
    log(`  profiled throughput run: ${fmt(w.rps, 0)} req/s`);
    const l = await loadgen({ url: t.url, rate: cfg.rate, durationMs: cfg.rateSeconds * 1000, bodyFile: files.body, headers, mode: 'latency' });
    log(`  profiled @${cfg.rate}/s run: p50 ${fmt(l.p50, 3)} ms, p99 ${fmt(l.p99, 3)} ms`);
  } finally {
    window = Date.now() - loadStart;
    for (const p of [...t.procs].reverse()) await group.stop(p, 15_000); // SIGTERM: the profile is written on exit
    await group.stop(up.proc);
  }
  const profDir = t.profileDir as string;
  // Only the load window counts (start-up, module loading and type stripping are left out).
  return ['gateway.cpuprofile', 'cell-eu-frankfurt.cpuprofile'].map((f) => summarise(path.join(profDir, f), 25, window));
}

// ---- Report -----------------------------------------------------------------------------------

const chatBodyText = chatBody(false);
const streamBodyText = chatBody(true);

interface Row {
  target: TargetName;
  rps: number | null; rpsVsDirect: number | null; rpsVsUndici: number | null; throughputValidRounds: number;
  p50: number | null; p99: number | null; addedP50: number | null; addedP99: number | null;
  p50VsDirect: number | null; p50VsUndici: number | null; p99VsDirect: number | null; p99VsUndici: number | null;
  ttfbP50: number | null; ttfbP99: number | null; ttfbAddedP50: number | null; ttfbMinusUndiciP50: number | null;
  /** CPU µs per request at full load (Sovereign: the gateway process alone; undici: the proxy). */
  cpuUsPerReq: number | null;
  /** Sovereign: CPU µs per request of its four cells together, in the same runs. */
  cellsCpuUsPerReq: number | null;
  /** undici's CPU per request / this target's, per round (median). */
  efficiencyVsUndici: number | null;
  /** CPU µs per request at cfg.cpuRate (every target the same rate), and the two efficiencies there. */
  cpuAtRateUsPerReq: number | null;
  efficiencyAtRateVsUndici: number | null;
  efficiencyAtRateVsUndiciMtls: number | null;
  /** The same three against the bare proxy with mutual TLS to its upstream (undici-mtls). */
  rpsVsUndiciMtls: number | null;
  efficiencyVsUndiciMtls: number | null;
  ttfbMinusUndiciMtlsP50: number | null;
}

const nn = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Median over rounds of f(target's round i, reference's round i). */
function perRound<T>(xs: T[] | undefined, ref: T[] | undefined, f: (a: T, b: T) => number): number | null {
  if (!xs || !ref) return null;
  const v: number[] = [];
  for (let i = 0; i < Math.min(xs.length, ref.length); i++) {
    const y = f(xs[i] as T, ref[i] as T);
    if (Number.isFinite(y)) v.push(y);
  }
  return v.length ? nn(median(v)) : null;
}

function rows(m: Measured): Row[] {
  return targetNames.map((name) => {
    const tp = m.throughput[name]?.map((w) => (w.valid ? w : { ...w, rps: Number.NaN }));
    const tpD = m.throughput.direct, tpU = m.throughput.undici;
    const rt = m.rate[name]?.map((l) => (l.errors + l.non2xx + l.dropped > l.sent * 0.01 ? { ...l, p50: Number.NaN, p99: Number.NaN } : l));
    const rtD = m.rate.direct, rtU = m.rate.undici;
    const tf = m.ttfb[name], tfD = m.ttfb.direct, tfU = m.ttfb.undici;
    const tpM = m.throughput['undici-mtls'], tfM = m.ttfb['undici-mtls'];
    // A run that could not hold the rate is a full-load figure, not one at the common rate.
    const cr = m.cpuAtRate[name]?.map((l) => (l.achievedRate < cfg.cpuRate * 0.95 || l.errors + l.non2xx + l.dropped > l.sent * 0.01 ? { ...l, cpuUsPerReq: Number.NaN } : l));
    const crU = m.cpuAtRate.undici, crM = m.cpuAtRate['undici-mtls'];
    return {
      target: name,
      rps: tp ? nn(median(tp.map((w) => w.rps).filter(Number.isFinite))) : null,
      rpsVsDirect: perRound(tp, tpD, (a, b) => a.rps / b.rps),
      rpsVsUndici: perRound(tp, tpU, (a, b) => a.rps / b.rps),
      throughputValidRounds: tp?.filter((w) => Number.isFinite(w.rps)).length ?? 0,
      p50: rt ? nn(median(rt.map((l) => l.p50).filter(Number.isFinite))) : null,
      p99: rt ? nn(median(rt.map((l) => l.p99).filter(Number.isFinite))) : null,
      addedP50: perRound(rt, rtD, (a, b) => a.p50 - b.p50),
      addedP99: perRound(rt, rtD, (a, b) => a.p99 - b.p99),
      p50VsDirect: perRound(rt, rtD, (a, b) => a.p50 / b.p50),
      p50VsUndici: perRound(rt, rtU, (a, b) => a.p50 / b.p50),
      p99VsDirect: perRound(rt, rtD, (a, b) => a.p99 / b.p99),
      p99VsUndici: perRound(rt, rtU, (a, b) => a.p99 / b.p99),
      ttfbP50: tf ? nn(median(tf.map((l) => l.p50))) : null,
      ttfbP99: tf ? nn(median(tf.map((l) => l.p99))) : null,
      ttfbAddedP50: perRound(tf, tfD, (a, b) => a.p50 - b.p50),
      ttfbMinusUndiciP50: perRound(tf, tfU, (a, b) => a.p50 - b.p50),
      cpuUsPerReq: tp?.some((w) => w.cpuUsPerReq !== undefined) ? nn(median(tp.map((w) => w.cpuUsPerReq ?? Number.NaN).filter(Number.isFinite))) : null,
      cellsCpuUsPerReq: tp?.some((w) => w.cellsCpuUsPerReq !== undefined) ? nn(median(tp.map((w) => w.cellsCpuUsPerReq ?? Number.NaN).filter(Number.isFinite))) : null,
      efficiencyVsUndici: perRound(tp, tpU, (a, b) => (b.cpuUsPerReq ?? Number.NaN) / (a.cpuUsPerReq ?? Number.NaN)),
      cpuAtRateUsPerReq: cr ? nn(median(cr.map((l) => l.cpuUsPerReq).filter(Number.isFinite))) : null,
      efficiencyAtRateVsUndici: perRound(cr, crU, (a, b) => b.cpuUsPerReq / a.cpuUsPerReq),
      efficiencyAtRateVsUndiciMtls: perRound(cr, crM, (a, b) => b.cpuUsPerReq / a.cpuUsPerReq),
      rpsVsUndiciMtls: perRound(tp, tpM, (a, b) => a.rps / b.rps),
      efficiencyVsUndiciMtls: perRound(tp, tpM, (a, b) => (b.cpuUsPerReq ?? Number.NaN) / (a.cpuUsPerReq ?? Number.NaN)),
      ttfbMinusUndiciMtlsP50: perRound(tf, tfM, (a, b) => a.p50 - b.p50),
    };
  });
}

interface Goal { goal: string; value: string; pass: boolean | null }

const check = (goal: string, v: number | null | undefined, ok: (v: number) => boolean, show: (v: number) => string): Goal =>
  ({ goal, value: v === null || v === undefined || Number.isNaN(v) ? 'not measured' : show(v), pass: v === null || v === undefined || Number.isNaN(v) ? null : ok(v) });

/** The targets of the issue in front of the embedded cell. */
function embeddedGoals(e: EmbeddedResult | null): Goal[] {
  if (!e) return [];
  const s = e.summary;
  return [
    check('embedded cell: efficiency (bare proxy CPU/req ÷ gateway CPU/req, full load) >= 0.60', s.efficiencyFull, (v) => v >= 0.6, (v) => `${v.toFixed(2)} (${s.gatewayCpuUsPerReqFull.toFixed(0)} vs ${s.proxyCpuUsPerReqFull.toFixed(0)} µs)`),
    check('embedded cell: max throughput >= 60% of the bare proxy', s.rpsVsProxy, (v) => v >= 0.6, (v) => `${(v * 100).toFixed(0)}%`),
    check(`embedded cell: added latency p50 at ${cfg.rate} req/s over the cell directly <= 1 ms`, s.addedP50, (v) => v <= 1, (v) => `${v.toFixed(3)} ms`),
    check(`embedded cell: added latency p99 at ${cfg.rate} req/s over the cell directly <= 5 ms`, s.addedP99, (v) => v <= 5, (v) => `${v.toFixed(3)} ms`),
    check('embedded cell: streaming TTFB p50 <= bare proxy + 1 ms', s.ttfbOverProxyP50, (v) => v <= 1, (v) => `${v >= 0 ? '+' : ''}${v.toFixed(3)} ms`),
  ];
}

/** A goal of the common-rate run: none when it was skipped (--cpu-rate 0). */
const atRate = (...args: Parameters<typeof check>): Goal[] => (cfg.cpuRate > 0 ? [check(...args)] : []);

function goals(rs: Row[]): Goal[] {
  const r = (n: TargetName): Row | undefined => rs.find((x) => x.target === n);
  const s = r('sovereign'), u = r('undici'), um = r('undici-mtls'), p = r('portkey');
  if (!s) return [];
  // Like for like: Sovereign's gateway calls its cells with mutual TLS, as undici-mtls calls the upstream.
  const mtls: Goal[] = um
    ? [
        check('fast upstream: efficiency against the bare proxy with mTLS to its upstream (undici-mtls CPU/req ÷ gateway CPU/req) >= 0.60', s.efficiencyVsUndiciMtls, (v) => v >= 0.6, (v) => `${v.toFixed(2)} (${s.cpuUsPerReq?.toFixed(0) ?? '?'} vs ${um.cpuUsPerReq?.toFixed(0) ?? '?'} µs)`),
        ...atRate(`fast upstream: efficiency at one rate for both (${cfg.cpuRate} req/s) against the bare proxy with mTLS to its upstream >= 0.60`, s.efficiencyAtRateVsUndiciMtls, (v) => v >= 0.6, (v) => `${v.toFixed(2)} (${s.cpuAtRateUsPerReq?.toFixed(0) ?? '?'} vs ${um.cpuAtRateUsPerReq?.toFixed(0) ?? '?'} µs)`),
        check('fast upstream: max throughput >= 60% of the bare proxy with mTLS to its upstream', s.rpsVsUndiciMtls, (v) => v >= 0.6, (v) => `${(v * 100).toFixed(0)}%`),
        check('fast upstream: streaming TTFB p50 <= bare proxy with mTLS to its upstream + 1 ms', s.ttfbMinusUndiciMtlsP50, (v) => v <= 1, (v) => `${v >= 0 ? '+' : ''}${v.toFixed(3)} ms`),
      ]
    : [];
  return [
    check('fast upstream: efficiency (bare undici CPU/req ÷ gateway CPU/req, full load) >= 0.60', s.efficiencyVsUndici, (v) => v >= 0.6, (v) => `${v.toFixed(2)} (${s.cpuUsPerReq?.toFixed(0) ?? '?'} vs ${u?.cpuUsPerReq?.toFixed(0) ?? '?'} µs)`),
    ...atRate(`fast upstream: efficiency at one rate for both (${cfg.cpuRate} req/s; undici CPU/req ÷ gateway CPU/req) >= 0.60`, s.efficiencyAtRateVsUndici, (v) => v >= 0.6, (v) => `${v.toFixed(2)} (${s.cpuAtRateUsPerReq?.toFixed(0) ?? '?'} vs ${u?.cpuAtRateUsPerReq?.toFixed(0) ?? '?'} µs)`),
    check('fast upstream: max throughput >= 60% of the bare undici proxy', s.rpsVsUndici, (v) => v >= 0.6, (v) => `${(v * 100).toFixed(0)}%`),
    check('fast upstream: max throughput >= 5x Portkey', s.rps !== null && p?.rps ? s.rps / p.rps : null, (v) => v >= 5, (v) => `${v.toFixed(1)}x`),
    check(`fast upstream: added latency p50 at ${cfg.rate} req/s <= 1 ms`, s.addedP50, (v) => v <= 1, (v) => `${v.toFixed(3)} ms`),
    check(`fast upstream: added latency p99 at ${cfg.rate} req/s <= 5 ms`, s.addedP99, (v) => v <= 5, (v) => `${v.toFixed(3)} ms`),
    check('fast upstream: streaming TTFB p50 <= bare undici proxy + 1 ms', s.ttfbMinusUndiciP50 ?? (u ? null : undefined), (v) => v <= 1, (v) => `+${v.toFixed(3)} ms`),
    ...mtls,
  ];
}

function goalsMarkdown(gs: Goal[]): string {
  const lines = ['## Sovereign targets (issue 12)', '', '| goal | measured | result |', '|---|---:|---|'];
  for (const g of gs) lines.push(`| ${g.goal} | ${g.value} | ${g.pass === null ? 'not measured' : g.pass ? 'met' : '**missed**'} |`);
  return `${lines.join('\n')}\n`;
}

/** Where Sovereign's latency went in the fixed-rate and streaming runs (its Server-Timing). */
function timingSections(m: Measured): string {
  return [
    timingMarkdown(`Where Sovereign's latency at ${cfg.rate} req/s goes`, (m.rate.sovereign ?? []).map((l) => l.timing)),
    timingMarkdown(`Where Sovereign's streaming time to first byte at ${cfg.ttfbRate} req/s goes`, (m.ttfb.sovereign ?? []).map((l) => l.timing)),
  ].filter(Boolean).join('\n');
}

function markdown(rs: Row[], gs: Goal[], meta: Record<string, unknown>, profiles: ProfileSummary[], timing: string): string {
  const x = (v: number | null, d = 2): string => (v === null ? 'n/a' : `${v.toFixed(d)}`);
  const rated = cfg.cpuRate > 0;
  const lines = [
    `# Gateway benchmark ${String(meta.date)}`,
    '',
    `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average at start ${String(meta.loadavg)}. ` +
      `${cfg.rounds} interleaved rounds, medians. Max throughput: wrk ${cfg.wrkThreads} threads, ${cfg.connections} connections, ${cfg.throughputSeconds} s. ` +
      `Latency: open-loop ${cfg.rate} req/s for ${cfg.rateSeconds} s (first ${cfg.warmupMs / 1000} s not counted), measured from each request's due time. ` +
      `${cfg.cpuRate > 0 ? `CPU at one rate: Sovereign's gateway and the bare undici proxies open-loop at ${cfg.cpuRate} req/s for ${cfg.rateSeconds} s each (at full load a process's CPU per request falls as its own throughput rises). ` : ''}` +
      `TTFB: streaming request at ${cfg.ttfbRate} req/s for ${cfg.ttfbSeconds} s, time to the first body byte. Request: ${Buffer.byteLength(chatBodyText)} B chat completion (class ${String(meta.dataClass)}). ` +
      `nginx/HAProxy: ${cfg.workers} worker(s). Sovereign: gateway -> region cell (upstream runtime) -> upstream, two Node hops, decision recorded durably in the region's ledger before forwarding.`,
    '',
    `| target | max req/s | × direct | × undici | CPU µs/req (full load) | cells CPU µs/req (Sovereign) | efficiency (undici ÷ target CPU) | p50 ms | p99 ms | added p50 | added p99 | p50 × direct | p50 × undici | p99 × direct | p99 × undici | TTFB p50 ms | TTFB p99 ms | TTFB − undici | × undici-mtls | efficiency (undici-mtls ÷ target CPU) | TTFB − undici-mtls |${rated ? ` CPU µs/req @${cfg.cpuRate}/s | efficiency @${cfg.cpuRate}/s (undici ÷ target) | efficiency @${cfg.cpuRate}/s (undici-mtls ÷ target) |` : ''}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|${rated ? '---:|---:|---:|' : ''}`,
  ];
  for (const r of rs) {
    lines.push(`| ${r.target} | ${x(r.rps, 0)} | ${x(r.rpsVsDirect, 3)} | ${x(r.rpsVsUndici, 2)} | ${x(r.cpuUsPerReq, 0)} | ${x(r.cellsCpuUsPerReq, 0)} | ${x(r.efficiencyVsUndici)} | ${x(r.p50, 3)} | ${x(r.p99, 3)} | ${x(r.addedP50, 3)} | ${x(r.addedP99, 3)} | ${x(r.p50VsDirect)} | ${x(r.p50VsUndici)} | ${x(r.p99VsDirect)} | ${x(r.p99VsUndici)} | ${x(r.ttfbP50, 3)} | ${x(r.ttfbP99, 3)} | ${x(r.ttfbMinusUndiciP50, 3)} | ${x(r.rpsVsUndiciMtls, 2)} | ${x(r.efficiencyVsUndiciMtls)} | ${x(r.ttfbMinusUndiciMtlsP50, 3)} |${rated ? ` ${x(r.cpuAtRateUsPerReq, 0)} | ${x(r.efficiencyAtRateVsUndici)} | ${x(r.efficiencyAtRateVsUndiciMtls)} |` : ''}`);
  }
  const failures = Object.entries(meta.failures as Record<string, string>);
  if (failures.length) {
    lines.push('', 'Left out:');
    for (const [k, v] of failures) lines.push(`- ${k}: ${v.replace(/\n/g, ' ')}`);
  }
  lines.push('', goalsMarkdown(gs));
  if (timing) lines.push('', timing);
  if (profiles.length) {
    lines.push('', '## Profile of Sovereign\'s path (node --cpu-prof, one throughput + one fixed-rate run)', '');
    for (const p of profiles) lines.push(summaryMarkdown(p, path.basename(p.file)));
  }
  return `${lines.join('\n')}\n`;
}

// ---- Main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  ensureTools(log);
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-bench-gw-'));
  const files: Files = { body: path.join(dir, 'body.json'), streamBody: path.join(dir, 'body-stream.json'), headers: path.join(dir, 'headers.txt') };
  writeFileSync(files.body, chatBodyText);
  writeFileSync(files.streamBody, streamBodyText);
  const dataClass = createClassifier().classifyRequest(JSON.parse(chatBodyText)).class;
  if (dataClass !== 'public') throw new Error(`the benchmark prompt classifies as ${dataClass}, expected public; edit chatBody() in bench/gateway.ts`);
  const date = today();
  const meta = { date, startedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavg: loadavg().map((l) => l.toFixed(2)).join(' '), dataClass, requestBytes: Buffer.byteLength(chatBodyText) };
  log(`gateway benchmark: targets ${targetNames.join(', ')}; ${cfg.rounds} rounds${cfg.quick ? ' (quick)' : ''}; temp dir ${dir}`);
  const t0 = Date.now();
  const resultsDir = path.join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  try {
    let profiles: ProfileSummary[] = [];
    const m: Measured = { throughput: {}, rate: {}, cpuAtRate: {}, ttfb: {}, regionServed: '', failures: {} };
    if (flags.profile) {
      profiles = await phaseProfile(dir, files);
      const md = profiles.map((p) => summaryMarkdown(p, path.basename(p.file))).join('\n');
      const file = path.join(resultsDir, `gateway-profile-${date}.md`);
      writeFileSync(file, `# Sovereign profile ${date}\n\n${md}`);
      log(`\n${md}\nwritten to ${file}`);
      return;
    }
    const meshPair = async (): Promise<MeshPairResult> => {
      writeHeaders(files.headers, headersFor('http://127.0.0.1'));
      return phaseMeshPair({ group, dir, workers: cfg.workers, warmupSeconds: cfg.warmupSeconds, rounds: cfg.rounds, rate: cfg.rate, rateSeconds: cfg.rateSeconds, throughputSeconds: cfg.throughputSeconds, files, headers: headersFor('http://127.0.0.1'), wrk, loadgen, log, interrupted: () => interrupted });
    };
    const embedded = async (): Promise<EmbeddedResult> =>
      phaseEmbedded({
        group, dir, rounds: cfg.rounds, rate: cfg.rate, rateSeconds: cfg.rateSeconds, throughputSeconds: cfg.embeddedSeconds, warmupSeconds: cfg.warmupSeconds, ttfbRate: cfg.ttfbRate, ttfbSeconds: cfg.ttfbSeconds,
        stream: cfg.stream, profile: !flags['no-profile'], gatewayWorkers: cfg.gatewayWorkers, wrk, loadgen, log, interrupted: () => interrupted,
      });
    if (flags['embedded-only']) {
      const e = await embedded();
      const gs = embeddedGoals(e);
      const base = path.join(resultsDir, `gateway-embedded-${date}`);
      writeFileSync(`${base}.json`, `${JSON.stringify({ ...meta, finishedAt: new Date().toISOString(), config: cfg, embedded: e, goals: gs }, null, 2)}\n`);
      const md = `# Gateway benchmark ${date}: in front of the embedded cell\n\nNode ${process.version}, ${cpus().length} CPUs, load average at start ${meta.loadavg}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${cfg.rounds} interleaved rounds, medians; wrk ${cfg.connections} connections for ${cfg.embeddedSeconds} s; ${cfg.rate} req/s for ${cfg.rateSeconds} s.\n\n${embeddedMarkdown(e, cfg.rate)}\n${goalsMarkdown(gs)}${e.profile ? `\n## Profile of the gateway in front of the embedded cell (node --cpu-prof, one full-load run)\n\n${summaryMarkdown(e.profile, 'gateway')}` : ''}`;
      writeFileSync(`${base}.md`, md);
      log(`\n${md}\nwritten to ${base}.json and ${base}.md`);
      return;
    }
    if (flags['mesh-pair-only']) {
      const pair = await meshPair();
      const base = path.join(resultsDir, `gateway-mesh-${date}`);
      writeFileSync(`${base}.json`, `${JSON.stringify({ ...meta, finishedAt: new Date().toISOString(), config: cfg, meshPair: pair }, null, 2)}\n`);
      const md = `# Gateway benchmark ${date}: mTLS vs plaintext\n\nNode ${process.version}, ${cpus().length} CPUs, load average at start ${meta.loadavg}; ${cfg.rounds} interleaved rounds, medians; ${cfg.rate} req/s for ${cfg.rateSeconds} s; full load: wrk ${cfg.connections} connections for ${cfg.throughputSeconds} s.\n\n${meshPairMarkdown(pair, cfg.rate)}`;
      writeFileSync(`${base}.md`, md);
      log(`\n${md}\nwritten to ${base}.json and ${base}.md`);
      return;
    }
    await phaseNonStreaming(dir, files, m);
    if (cfg.stream && !interrupted) await phaseStreaming(dir, files, m);
    const emb = !flags['no-embedded'] && targetNames.includes('sovereign') && !interrupted ? await embedded() : null;
    const pair = !flags['no-mesh-pair'] && targetNames.includes('sovereign') && !interrupted ? await meshPair() : null;
    if (interrupted) return;
    const rs = rows(m);
    const gs = [...goals(rs), ...embeddedGoals(emb)];
    if (gs.some((g) => g.pass === false) && !flags['no-profile'] && targetNames.includes('sovereign')) profiles = await phaseProfile(dir, files);
    if (emb?.profile) profiles.push(emb.profile);
    const result = { ...meta, finishedAt: new Date().toISOString(), seconds: (Date.now() - t0) / 1000, config: cfg, targets: targetNames, sovereignRegionServed: m.regionServed, failures: m.failures, table: rs, goals: gs, raw: m, profiles, meshPair: pair, embedded: emb };
    const base = path.join(resultsDir, `gateway-${date}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
    const md = markdown(rs, gs, { ...meta, failures: m.failures }, profiles, timingSections(m)) + (emb ? `\n${embeddedMarkdown(emb, cfg.rate)}` : '') + (pair ? `\n${meshPairMarkdown(pair, cfg.rate)}` : '');
    writeFileSync(`${base}.md`, md);
    log(`\n${md}\nwritten to ${base}.json and ${base}.md in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await group.stopAll();
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().catch(async (err: unknown) => {
  console.error(`bench:gateway failed: ${(err as Error).stack ?? String(err)}`);
  await group.stopAll();
  process.exit(1);
});
