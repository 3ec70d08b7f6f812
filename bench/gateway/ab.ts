// Two gateways side by side on the same cells: one system started with `sovereign up` from
// checkout A (the cells, and A's own gateway left idle), then a single-process gateway of
// checkout A and one of checkout B (`sovereign gateway --workers 1`, each its own replica name
// and port) and the bare undici proxy of the benchmark (with a gateway SVID) in front of the
// same eu-frankfurt cell. Full-load runs (wrk, 32 connections) alternate A, B, proxy, then
// B, A, proxy, ..., so the load of a shared machine falls on all alike. Reports each process's
// CPU per request (utime + stime from /proc over the run ÷ requests answered) per round, and
// the medians of the per-round ratios. A checkout's cells must speak the same protocol as the
// other's gateway (this compares gateway changes).
// Usage: node bench/gateway/ab.ts --a <checkout> --b <checkout> [--mode embedded|fast]
//          [--rounds 6] [--seconds 5] [--rate <n>] [--mesh mtls|plaintext] [--profile] [--perf [--out <file.md>]] [--syscalls] [--keep] [--connections 32]
// --rate <n>: instead of full load, the open-loop generator at n requests/s (bench/gateway/loadgen.ts):
// every process serves the same rate, so its CPU per request does not follow its throughput.
// --mode fast: the benchmark's fast upstream (nginx answering a fixed chat completion) behind
// cells with upstream runtimes; embedded: the shipped topology with its embedded model.
// --profile: the two gateways under node --cpu-prof; the profile directory is kept and printed.
// --b-node-args="<flags>": Node/V8 flags for gateway B only (with --b the same checkout as --a, a flag's effect).
// --a-node-args="<flags>": the same for gateway A (which --perf samples: a flag's effect on where the CPU goes).
// Each round also reports the CPU per request of the serving cell (eu-frankfurt) behind each
// gateway and behind the proxy: the cell records the decision only for a gateway (the proxy sends
// no record), so the difference is what recording costs the cell.
// --perf: after the rounds, one more full-load run of gateway A and of the proxy each under Linux
// perf (on-CPU samples, every thread, kernel included; bench/gateway/oncpu.ts), the serving
// cell sampled too: where each spends its CPU per request, side by side (printed, and written to --out).
// --syscalls: every round also counts each process's system calls (Linux perf's syscall tracepoints)
// and the serving cell's, per request: how many socket writes, reads and event-loop waits a request costs.
// --keep: keep the temporary directory (with --perf, each process's symbolized stacks as perf-<name>.txt) and print its path.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { readFileSync as readProc } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { loadTopology } from '../../src/config/index.ts';
import { issueFor, readBundle, spiffeId } from '../../src/mesh/index.ts';
import { median } from '../lib/stats.ts';
import { ProcessGroup, cpuMs, freePort, pidsWith, waitUntil, type Started } from '../lib/procs.ts';
import { EMBEDDED_REGION, embeddedBody } from './embedded.ts';
import { havePerf, oncpuBreakdown, oncpuMarkdown, readSyscalls, startPerf, startSyscalls, stopPerf, topFunctionsMarkdown } from './oncpu.ts';
import { ROOT, sovereignConfig, startNginxUpstream } from './targets.ts';

const { values: f } = parseArgs({
  options: {
    a: { type: 'string' }, b: { type: 'string' }, mode: { type: 'string', default: 'embedded' }, rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '5' }, rate: { type: 'string' }, mesh: { type: 'string', default: 'mtls' }, profile: { type: 'boolean' }, perf: { type: 'boolean' }, syscalls: { type: 'boolean' }, out: { type: 'string' }, 'b-node-args': { type: 'string' }, 'a-node-args': { type: 'string' }, keep: { type: 'boolean' }, connections: { type: 'string', default: '32' },
  },
  strict: true,
});
if (!f.a || !f.b) throw new Error('--a and --b: the two checkouts to compare (directories holding src/cli/main.ts)');
const A = path.resolve(f.a), B = path.resolve(f.b);
const mode = f.mode === 'fast' ? 'fast' : 'embedded';
if ((f.perf || f.syscalls) && !havePerf()) throw new Error('--perf and --syscalls need Linux perf (Debian: apt-get install linux-perf)');
if (f.perf && f.profile) throw new Error('--perf and --profile: choose one (both sample the same processes)');
const mesh = f.mesh === 'plaintext' ? 'plaintext' : 'mtls';
const rounds = Number(f.rounds), seconds = Number(f.seconds);
const med = (xs: readonly number[] | undefined): number => median((xs ?? []).filter(Number.isFinite));
const group = new ProcessGroup();
group.installSignalHandlers(() => undefined);
const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-ab-'));
const log = (s: string): void => console.log(s);
// JIT code named for perf (/tmp/perf-<pid>.map); V8's code-event log goes to the temporary directory, not the checkout.
const perfArgs = ['--perf-basic-prof', `--logfile=${path.join(dir, 'v8-%p.log')}`];
const perfMaps = (): string[] => readdirSync('/tmp').filter((n) => /^perf-\d+\.map$/.test(n));
const mapsBefore = new Set(f.perf ? perfMaps() : []);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const CHAT = '/v1/chat/completions';

/** The fast upstream's request: the benchmark's ~900 B chat completion (bench/gateway.ts chatBody). */
function fastBody(): string {
  const notes =
    'Summarise the following release notes for the operations channel in three bullet points. The routing service moved to a new connection pool, which cut median latency across the ' +
    'European regions by a fifth. The model registry now verifies content digests before every load, and the rollout tooling waits for health probes to pass before shifting traffic. ' +
    'Storage for audit logs grew by twelve percent this quarter, mostly from longer retention. The team plans a failover game day before the next release and asks every service owner to ' +
    'review their runbooks, alert thresholds and dashboards. Capacity planning for the winter peak starts next month; expected growth is around thirty percent in request volume.';
  return JSON.stringify({ model: 'bench-model', messages: [{ role: 'system', content: 'You are a concise assistant for a platform engineering team.' }, { role: 'user', content: notes }], temperature: 0.2, max_tokens: 256 });
}

async function systemConfig(d: string): Promise<{ config: string; cell: string }> {
  if (mode === 'fast') {
    const up = await startNginxUpstream(group, dir, 1);
    const c = await sovereignConfig({ group, dir: d, upstream: up.origin, workers: 1, gatewayWorkers: 1, mesh }, d);
    return { config: c.file, cell: c.regions.find((r) => r.id === EMBEDDED_REGION)?.url ?? '' };
  }
  const shipped = parse(readFileSync(path.join(A, 'sovereign.yaml'), 'utf8')) as Record<string, unknown> & { regions: { id: string; url: string }[]; gateway: Record<string, unknown> };
  shipped.dataDir = path.join(d, 'data');
  for (const r of shipped.regions) {
    const u = new URL(r.url);
    u.port = String(await freePort());
    r.url = u.origin;
  }
  shipped.gateway = { ...shipped.gateway, port: await freePort(), maxConnectionsPerClient: 0, workers: 1 };
  if (mesh === 'plaintext') shipped.mesh = { ...((shipped.mesh) ?? {}), mode: 'plaintext' };
  const config = path.join(d, 'sovereign.yaml');
  writeFileSync(config, stringify(shipped));
  return { config, cell: shipped.regions.find((r) => r.id === EMBEDDED_REGION)?.url ?? '' };
}

interface Runner { name: string; url: string; proc: Started }

/** Kernel (system) CPU ms of a process so far, from /proc/<pid>/stat (stime). */
function sysMs(pid: number): number {
  const stat = readProc(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[12]) * 1000) / 100;
}

async function main(): Promise<void> {
  const d = path.join(dir, 'system');
  mkdirSync(d, { recursive: true });
  const { config, cell } = await systemConfig(d);
  // Under --perf the cells name their JIT code for perf too (NODE_OPTIONS reaches the processes
  // `up` starts); V8 then writes a code log into the working directory, here a temporary one.
  const upCwd = path.join(dir, 'up-cwd');
  mkdirSync(upCwd, { recursive: true });
  const upOpts = f.perf ? { cwd: upCwd, env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --perf-basic-prof`.trim() } } : { cwd: A };
  const up = group.start('sovereign up', process.execPath, [path.join(A, 'src/cli/main.ts'), '--config', config, 'up'], upOpts);
  await up.waitFor('Sovereign is up', 300_000);
  // The serving cell (a process `sovereign up` started for the region).
  const cellPid = pidsWith('--config', config, 'cell', '--region', EMBEDDED_REGION)[0];
  if (cellPid === undefined) throw new Error(`cannot find the ${EMBEDDED_REGION} cell of ${config}`);
  const profDir = path.join(dir, 'profiles');
  mkdirSync(profDir, { recursive: true });
  const gateway = async (name: string, root: string): Promise<Runner> => {
    const port = await freePort();
    const prof = f.profile ? ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `gateway-${name}.cpuprofile`] : f.perf ? perfArgs : [];
    // --a-node-args, --b-node-args: Node/V8 flags for one gateway (compares a flag on the same code).
    const nodeArgs = (name === 'B' ? f['b-node-args'] : f['a-node-args'])?.split(/\s+/).filter(Boolean) ?? [];
    const proc = group.start(`gateway ${name}`, process.execPath, [...prof, ...nodeArgs, path.join(root, 'src/cli/main.ts'), '--config', config, 'gateway', '--port', String(port), '--replica', `ab-${name.toLowerCase()}`, '--workers', '1'], { cwd: root });
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(async () => {
      const res = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    }, 240_000, `gateway ${name} at ${url}`);
    return { name, url: `${url}${CHAT}`, proc };
  };
  const runners = [await gateway('A', A), await gateway('B', B)];
  // The bare proxy, with a gateway SVID when the cells take mTLS peers only.
  const topology = loadTopology(config);
  // The cells serve https under mtls whatever scheme the topology writes (Mesh.cellOrigin).
  const cellOrigin = `${mesh === 'mtls' ? 'https' : 'http'}://${new URL(cell).host}`;
  const args = [path.join(ROOT, 'bench/gateway/undici-proxy.ts'), String(await freePort()), cellOrigin];
  if (mesh === 'mtls') {
    const svid = await issueFor(topology, spiffeId.gateway(topology.data.mesh.trustDomain, 'ab-proxy'), { by: 'bench' });
    const tls = { cert: path.join(d, 'proxy-svid.pem'), key: path.join(d, 'proxy-svid.key'), ca: path.join(d, 'bundle.pem') };
    writeFileSync(tls.cert, svid.chainPem);
    writeFileSync(tls.key, svid.keyPem, { mode: 0o600 });
    writeFileSync(tls.ca, readBundle(topology));
    args.push(tls.cert, tls.key, tls.ca);
  }
  const proxy = group.start('undici-proxy', process.execPath, f.perf ? [...perfArgs, ...args] : args);
  await proxy.waitFor('listening', 20_000);
  runners.push({ name: 'proxy', url: `http://127.0.0.1:${args[1]}${CHAT}`, proc: proxy });

  const files = { body: path.join(dir, 'body.json'), headers: path.join(dir, 'headers.txt') };
  writeFileSync(files.body, mode === 'fast' ? fastBody() : embeddedBody(false));
  writeFileSync(files.headers, mode === 'fast' ? 'x-sovereign-jurisdiction: DE\nx-sovereign-model: bench-model\nauthorization: Bearer bench-not-a-real-key\n' : 'x-sovereign-jurisdiction: DE\n');
  const wrk = async (url: string, secs: number): Promise<{ rps: number; requests: number; bad: number }> => {
    const s = group.start('wrk', 'wrk', [`-t${Math.min(2, Number(f.connections))}`, `-c${f.connections}`, `-d${secs}s`, '--timeout', '10s', '-s', path.join(ROOT, 'bench/gateway/post.lua'), url], { env: { ...process.env, BENCH_BODY_FILE: files.body, BENCH_HEADERS_FILE: files.headers } });
    await new Promise<void>((r) => s.proc.once('exit', () => r()));
    const out = s.output();
    const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const bad = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? '0') + (se ? se.slice(1).reduce((x, y) => x + Number(y), 0) : 0);
    return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 'NaN'), requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? '0'), bad };
  };
  const loadgen = async (url: string, secs: number): Promise<{ rps: number; requests: number; bad: number }> => {
    const spec = { url, rate: Number(f.rate), durationMs: secs * 1000, warmupMs: 0, bodyFile: files.body, headers: Object.fromEntries(readFileSync(files.headers, 'utf8').trim().split('\n').map((l) => l.split(/:\s*/, 2) as [string, string])), mode: 'latency', connections: 64, maxInflight: 2000 };
    const s = group.start('loadgen', process.execPath, [path.join(ROOT, 'bench/gateway/loadgen.ts'), JSON.stringify(spec)]);
    await new Promise<void>((r) => s.proc.once('exit', () => r()));
    const line = s.output().trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (!line) throw new Error(`loadgen printed no result: ${s.output().slice(-1000)}`);
    const l = JSON.parse(line) as { sent: number; ok: number; achievedRate: number; errors: number; non2xx: number; dropped: number };
    return { rps: l.achievedRate, requests: l.sent, bad: l.errors + l.non2xx + l.dropped };
  };
  const run = f.rate ? loadgen : wrk;
  for (const r of runners) {
    const res = await fetch(r.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: readFileSync(files.body) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${r.name} answered ${res.status}: ${text.slice(0, 300)}`);
    await wrk(r.url, 3); // warm-up: JIT, pools, TLS sessions
  }
  // What each process spends with no request (health probes, the console's sampler, timers):
  // subtracted from a run's CPU for its net CPU per request, which does not grow when a shared
  // machine (or a slow disk under the cells' logs) holds the request rate down.
  const idle: Record<string, number> = {};
  const before0 = new Map(runners.map((x) => [x.name, cpuMs(x.proc.pid)]));
  const idleMs = 8000;
  await new Promise((r) => setTimeout(r, idleMs));
  for (const x of runners) idle[x.name] = (cpuMs(x.proc.pid) - (before0.get(x.name) ?? 0)) / idleMs;
  log(`idle CPU: ${runners.map((x) => `${x.name} ${((idle[x.name] ?? 0) * 1000).toFixed(1)} ms/s`).join(', ')}`);
  log(`mode ${mode}, mesh ${mesh}, ${f.rate ? `${f.rate} req/s` : `full load (${f.connections} connections)`}; A ${A}, B ${B}; load average ${load()}`);
  const cpu: Record<string, number[]> = {}, net: Record<string, number[]> = {}, rps: Record<string, number[]> = {}, cellCpu: Record<string, number[]> = {};
  const calls: Record<string, Record<string, number[]>> = {};
  for (let r = 1; r <= rounds; r++) {
    const order = r % 2 === 1 ? runners : [runners[1] as Runner, runners[0] as Runner, runners[2] as Runner];
    for (const x of order) {
      const before = cpuMs(x.proc.pid);
      const cell0 = cpuMs(cellPid);
      const sys0 = sysMs(x.proc.pid);
      const counters = f.syscalls ? [startSyscalls(x.proc.pid, path.join(dir, 'calls.csv')), startSyscalls(cellPid, path.join(dir, 'calls-cell.csv'))] : [];
      if (f.syscalls) await new Promise((r) => setTimeout(r, 300)); // perf attached before the load starts
      const t0 = Date.now();
      const w = await run(x.url, seconds);
      await Promise.all(counters.map(stopPerf));
      const used = cpuMs(x.proc.pid) - before;
      const cellUs = ((cpuMs(cellPid) - cell0) / Math.max(1, w.requests)) * 1000;
      const us = (used / Math.max(1, w.requests)) * 1000;
      const netUs = ((used - (idle[x.name] ?? 0) * (Date.now() - t0)) / Math.max(1, w.requests)) * 1000;
      if (w.bad > w.requests * 0.01) {
        log(`round ${r} ${x.name}: INVALID (${w.bad} errors of ${w.requests})`);
        for (const m of [cpu, net, rps, cellCpu]) (m[x.name] ??= []).push(Number.NaN);
        continue;
      }
      (cpu[x.name] ??= []).push(us);
      (net[x.name] ??= []).push(netUs);
      (rps[x.name] ??= []).push(w.rps);
      (cellCpu[x.name] ??= []).push(cellUs);
      if (f.syscalls) {
        const per = (file: string, who: string): string => {
          const counts = readSyscalls(path.join(dir, file));
          for (const [k, v] of Object.entries(counts)) ((calls[who] ??= {})[k] ??= []).push(v / Math.max(1, w.requests));
          return Object.entries(counts).map(([k, v]) => `${k} ${(v / Math.max(1, w.requests)).toFixed(2)}`).join(', ');
        };
        log(`round ${r} ${x.name.padEnd(5)} syscalls/req: ${per('calls.csv', x.name)}; cell: ${per('calls-cell.csv', `cell behind ${x.name}`)}`);
      }
      log(`round ${r} ${x.name.padEnd(5)} ${w.rps.toFixed(0).padStart(6)} req/s  ${us.toFixed(0).padStart(5)} µs CPU/req  net of idle ${netUs.toFixed(0).padStart(5)} µs  cell ${cellUs.toFixed(0).padStart(5)} µs  kernel ${((100 * (sysMs(x.proc.pid) - sys0)) / Math.max(1, used)).toFixed(0)}%  (load ${loadavg()[0]?.toFixed(2)})`);
    }
  }
  const ratio = (p: string, q: string, of = cpu): number => med((of[p] ?? []).map((v, i) => v / (of[q]?.[i] ?? Number.NaN)));
  log(`medians: CPU µs/req A ${med(cpu.A).toFixed(0)}, B ${med(cpu.B).toFixed(0)}, proxy ${med(cpu.proxy).toFixed(0)}; B÷A ${ratio('B', 'A').toFixed(3)}; efficiency (proxy÷gateway) A ${ratio('proxy', 'A').toFixed(2)}, B ${ratio('proxy', 'B').toFixed(2)}; req/s A ${med(rps.A).toFixed(0)}, B ${med(rps.B).toFixed(0)}, proxy ${med(rps.proxy).toFixed(0)}; load average ${load()}`);
  log(`serving cell: CPU µs/req behind A ${med(cellCpu.A).toFixed(0)}, B ${med(cellCpu.B).toFixed(0)}, proxy ${med(cellCpu.proxy).toFixed(0)} (recording: ${(ratio('A', 'proxy', cellCpu) - 1 >= 0 ? '+' : '')}${(100 * (ratio('A', 'proxy', cellCpu) - 1)).toFixed(0)}% behind A)`);
  for (const [who, by] of Object.entries(calls)) log(`syscalls per request, medians, ${who}: ${Object.entries(by).map(([k, v]) => `${k} ${med(v).toFixed(2)}`).join(', ')}`);
  log(`net of idle: CPU µs/req A ${med(net.A).toFixed(0)}, B ${med(net.B).toFixed(0)}, proxy ${med(net.proxy).toFixed(0)}; B÷A ${ratio('B', 'A', net).toFixed(3)}; efficiency A ${ratio('proxy', 'A', net).toFixed(2)}, B ${ratio('proxy', 'B', net).toFixed(2)}`);
  if (f.perf) {
    const columns = [];
    const cells = [];
    for (const x of [runners[0] as Runner, runners[2] as Runner]) {
      const name = x.name === 'A' ? 'gateway' : 'bare proxy';
      const file = path.join(dir, `perf-${x.name}.data`);
      const cellFile = path.join(dir, `perf-cell-${x.name}.data`);
      const p = startPerf(x.proc.pid, file);
      const pc = startPerf(cellPid, cellFile);
      await new Promise((r) => setTimeout(r, 300));
      const before = cpuMs(x.proc.pid);
      const cellBefore = cpuMs(cellPid);
      const w = await wrk(x.url, seconds);
      const used = cpuMs(x.proc.pid) - before;
      const cellUsed = cpuMs(cellPid) - cellBefore;
      await Promise.all([stopPerf(p), stopPerf(pc)]);
      // perf's own sampling slows the process a little: the shares are perf's, the total is /proc's.
      const n = Math.max(1, w.requests);
      columns.push({ name, cpuUsPerReq: (used / n) * 1000, breakdown: oncpuBreakdown(file, f.keep ? path.join(dir, `perf-${x.name}.txt`) : undefined) });
      cells.push({ name: `cell behind the ${name}`, cpuUsPerReq: (cellUsed / n) * 1000, breakdown: oncpuBreakdown(cellFile, f.keep ? path.join(dir, `perf-cell-${x.name}.txt`) : undefined) });
      log(`perf run ${x.name}: ${w.rps.toFixed(0)} req/s`);
    }
    const md = [
      `# On-CPU breakdown (bench/gateway/ab.ts --perf), ${new Date().toISOString().slice(0, 10)}`,
      '',
      `mode ${mode}, mesh ${mesh}, full load (${f.connections} connections, ${seconds} s) after ${rounds} rounds of warm-up and measurement; load average ${load()}. Linux perf at 1999 Hz on every thread of each process (kernel included), JIT code named by node --perf-basic-prof; each sample counted for the nearest JavaScript function on its stack. CPU per request from /proc over the same run.`,
      '',
      oncpuMarkdown(columns),
      '',
      `## The serving cell (${EMBEDDED_REGION}) in the same runs`,
      '',
      'Behind the gateway the cell also makes each decision durable in its log before the model runs; behind the bare proxy it gets no record and records nothing.',
      '',
      oncpuMarkdown(cells),
      '',
      '## Top functions',
      '',
      'Each main-thread sample counted for the nearest JavaScript function on its stack (the builtins, runtime calls and libc code it called included).',
      '',
      ...[...columns, cells[0] as (typeof cells)[number]].flatMap((c) => [topFunctionsMarkdown(c.name, c.cpuUsPerReq, c.breakdown), '']),
    ].join('\n');
    log(`\n${md}`);
    if (f.out) writeFileSync(f.out, md);
  }
  if (f.profile) {
    for (const r of runners.slice(0, 2)) await group.stop(r.proc, 15_000); // the profile is written on exit
    log(`profiles: ${profDir}/gateway-A.cpuprofile, gateway-B.cpuprofile (kept)`);
  }
}

main()
  .catch((err: unknown) => {
    console.error((err as Error).stack);
    process.exitCode = 1;
  })
  .finally(async () => {
    await group.stopAll();
    // node --perf-basic-prof leaves its symbol maps at perf's fixed path (/tmp, whatever TMPDIR
    // says), one per process this run started; perf script has read them.
    if (f.perf) for (const m of perfMaps()) if (!mapsBefore.has(m)) rmSync(path.join('/tmp', m), { force: true });
    if (f.profile || f.keep) console.log(`kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });
