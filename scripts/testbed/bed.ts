// The Sovereign test bed: every region's cell, the gateway and a client each in their own Linux
// network namespace, joined by point-to-point links through the gateway namespace, with the
// inter-region round-trip times of a real deployment.
//
//   sov-client ──5 ms── sov-gw ──10 ms── sov-eu-frankfurt, sov-eu-paris
//                          ├─────60 ms── sov-uae-dubai
//                          └────150 ms── sov-sg-singapore
//
// The figures are added round-trip times, split evenly over the two directions of a link.
// Region-to-region traffic (the ledger witnesses push checkpoints cell to cell) is routed
// through sov-gw (IPv4 forwarding on), so it crosses both regions' links.
//
// Link emulation, chosen once by probing the kernel (override: SOVEREIGN_TESTBED_LINK):
//   netem — veth pairs with `tc qdisc netem delay <rtt/2>` on both ends; partition = loss 100%.
//   wire  — kernels without sch_netem: TUN devices joined by scripts/testbed/wire.py, which
//           holds each packet for <rtt/2> and drops all of them while partitioned.
//
// Addresses: 10.77.0.0/16, assigned only inside the namespaces made here: the gateway
// 10.77.0.1, region i (1-based) 10.77.i.2, the client 10.77.100.2.
// State (pids, namespaces, config path) lives in <dir>/state.json; `down` also removes any
// namespace named sov-* and the processes inside it, after a crash of everything else.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { loadTopology } from '../../src/config/index.ts';
import { initTrustDomain } from '../../src/mesh/index.ts';
import { agentFetch, agentRtt } from './client.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const AGENT = path.join(ROOT, 'scripts/testbed/agent.ts');
const WIRE = path.join(ROOT, 'scripts/testbed/wire.py');

export const NS_PREFIX = 'sov-';
export const GW_NS = 'sov-gw';
export const CLIENT_NS = 'sov-client';
export const RANGE = '10.77.0.0/16';
export const GW_ADDR = '10.77.0.1';
export const CLIENT_ADDR = '10.77.100.2';
const GW_PORT = 8080;
const CELL_PORT = 9100;
/** Each region's registry (on its own address) and golden (on the gateway's). */
const REGISTRY_PORT = 9200;
const GOLDEN_PORT = 9300;

/** Added round-trip time (ms) of each link, by the far end's name. */
export const DEFAULT_RTT_MS: Readonly<Record<string, number>> = {
  client: 5,
  'eu-frankfurt': 10,
  'eu-paris': 10,
  'uae-dubai': 60,
  'sg-singapore': 150,
};
const FALLBACK_RTT_MS = 50;

export type LinkKind = 'netem' | 'wire';
export type RoutingMode = 'legal-first' | 'performance-first' | 'hybrid';

export interface LinkState {
  /** "client" or a region id. */
  id: string;
  ns: string;
  /** Device at the gateway end (in sov-gw) and at the far end (in ns). */
  gwDev: string;
  dev: string;
  address: string;
  rttMs: number;
  partitioned: boolean;
}

export interface ProcState {
  name: string;
  pid: number;
  log: string;
}

export interface State {
  version: 1;
  dir: string;
  link: LinkKind;
  python?: string;
  namespaces: string[];
  links: LinkState[];
  procs: ProcState[];
  configFile: string;
  gatewayConfigFile: string;
  mode: RoutingMode;
  gatewayUrl: string;
  agentSocket: string;
  wireSpec?: string;
  regions: { id: string; ns: string; url: string }[];
}

export function defaultDir(): string {
  return process.env.SOVEREIGN_TESTBED_DIR ?? path.join(tmpdir(), 'sovereign-testbed');
}

function stateFile(dir: string): string {
  return path.join(dir, 'state.json');
}

export function readState(dir = defaultDir()): State | null {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as State;
  } catch {
    return null;
  }
}

function writeState(s: State): void {
  writeFileSync(stateFile(s.dir), JSON.stringify(s, null, 2));
}

// ---------------------------------------------------------------------------------------------
// Commands run here: ip, tc, sh. Each failure names the command and what it printed.

function run(cmd: string, args: string[], opts: { ignoreError?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
  } catch (err) {
    if (opts.ignoreError) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`testbed: \`${cmd} ${args.join(' ')}\` failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

const ip = (...args: string[]): string => run('ip', args);

export function listNamespaces(): string[] {
  return run('ip', ['netns', 'list'], { ignoreError: true })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

// ---------------------------------------------------------------------------------------------
// Can this machine run the test bed? Root, `ip netns`, and netem or (TUN + python3).

export interface Capability {
  ok: boolean;
  reason: string;
  link?: LinkKind;
  python?: string;
}

function findPython(): string | null {
  for (const p of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(p, ['-c', 'import ctypes, fcntl, select, heapq'], { stdio: 'ignore', timeout: 10_000 });
      return p;
    } catch {
      // try the next
    }
  }
  return null;
}

export function capability(): Capability {
  if (process.platform !== 'linux') return { ok: false, reason: `the test bed needs Linux network namespaces (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the test bed needs root (ip netns, veth/TUN links, tc): run it as root' };
  const probe = `${NS_PREFIX}probe-${process.pid}`;
  try {
    ip('netns', 'add', probe);
  } catch (err) {
    return { ok: false, reason: `\`ip netns add\` is not permitted here: ${(err as Error).message}` };
  }
  try {
    const forced = process.env.SOVEREIGN_TESTBED_LINK;
    if (forced !== undefined && forced !== 'netem' && forced !== 'wire') return { ok: false, reason: `SOVEREIGN_TESTBED_LINK must be "netem" or "wire", not "${forced}"` };
    let netem = false;
    if (forced !== 'wire') {
      try {
        ip('-n', probe, 'link', 'add', 'tbp0', 'type', 'veth', 'peer', 'name', 'tbp1');
        run('tc', ['-n', probe, 'qdisc', 'add', 'dev', 'tbp0', 'root', 'netem', 'delay', '1ms']);
        netem = true;
      } catch (err) {
        if (forced === 'netem') return { ok: false, reason: `SOVEREIGN_TESTBED_LINK=netem but netem is unavailable: ${(err as Error).message}` };
      }
    }
    if (netem) return { ok: true, reason: 'root, ip netns and tc netem available', link: 'netem' };
    if (!existsSync('/dev/net/tun')) return { ok: false, reason: 'the kernel has no sch_netem and there is no /dev/net/tun for the userspace link emulator' };
    const python = findPython();
    if (!python) return { ok: false, reason: 'the kernel has no sch_netem and python3 (needed by scripts/testbed/wire.py, the userspace link emulator) is missing: apt-get install python3' };
    return { ok: true, reason: 'root and ip netns available; no sch_netem in this kernel, links emulated by scripts/testbed/wire.py', link: 'wire', python };
  } finally {
    run('ip', ['netns', 'del', probe], { ignoreError: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Processes: started detached with output to a log file; stopped by pid, after checking that
// the pid still runs one of ours (its command line names the state directory).

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function startProc(s: State, name: string, ns: string | null, argv: string[]): ProcState {
  const log = path.join(s.dir, 'logs', `${name}.log`);
  const fd = openSync(log, 'a');
  const [cmd, args] = ns ? ['ip', ['netns', 'exec', ns, ...argv]] : [argv[0] ?? '', argv.slice(1)];
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`testbed: could not start ${name} (${cmd} ${args.join(' ')})`);
  const p = { name, pid: child.pid, log };
  s.procs = [...s.procs.filter((x) => x.name !== name), p];
  writeState(s);
  return p;
}

async function stopPid(pid: number, marker: string, graceMs = 5000): Promise<void> {
  if (!alive(pid) || !cmdline(pid).includes(marker)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until && alive(pid) && cmdline(pid) !== '') await sleep(50);
  if (alive(pid) && cmdline(pid).includes(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------
// Links.

function writeWireSpec(s: State): void {
  if (!s.wireSpec) return;
  const links = s.links.map((l) => ({ id: l.id, a: { ns: GW_NS, dev: l.gwDev }, b: { ns: l.ns, dev: l.dev }, delayMs: l.rttMs / 2, lossPct: l.partitioned ? 100 : 0 }));
  writeFileSync(s.wireSpec, JSON.stringify({ links }, null, 2));
}

/** Applies each link's delay and partition state (netem qdiscs, or the wire's spec + SIGHUP). */
function applyImpairments(s: State): void {
  if (s.link === 'netem') {
    for (const l of s.links) {
      const args = ['qdisc', 'replace', 'dev', '', 'root', 'netem', 'delay', `${l.rttMs / 2}ms`, ...(l.partitioned ? ['loss', '100%'] : [])];
      run('tc', ['-n', GW_NS, ...args.map((a) => (a === '' ? l.gwDev : a))]);
      run('tc', ['-n', l.ns, ...args.map((a) => (a === '' ? l.dev : a))]);
    }
    return;
  }
  writeWireSpec(s);
  const wire = s.procs.find((p) => p.name === 'wire');
  if (!wire || !alive(wire.pid)) throw new Error('testbed: the link emulator (wire.py) is not running; run `down` and `up` again');
  process.kill(wire.pid, 'SIGHUP');
}

async function waitForLine(file: string, line: string, pid: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (existsSync(file) && readFileSync(file, 'utf8').split('\n').includes(line)) return;
    if (!alive(pid)) throw new Error(`testbed: process ${pid} exited before "${line}":\n${tail(file)}`);
    await sleep(50);
  }
  throw new Error(`testbed: no "${line}" from process ${pid} in ${timeoutMs} ms:\n${tail(file)}`);
}

async function makeLinks(s: State): Promise<void> {
  if (s.link === 'netem') {
    for (const l of s.links) ip('-n', GW_NS, 'link', 'add', l.gwDev, 'type', 'veth', 'peer', 'name', l.dev, 'netns', l.ns);
  } else {
    writeWireSpec(s);
    const wire = startProc(s, 'wire', null, [s.python ?? 'python3', WIRE, s.wireSpec ?? '']);
    await waitForLine(wire.log, 'ready', wire.pid, 15_000);
  }
  for (const l of s.links) {
    ip('-n', GW_NS, 'addr', 'add', GW_ADDR, 'peer', `${l.address}/32`, 'dev', l.gwDev);
    ip('-n', GW_NS, 'link', 'set', l.gwDev, 'up');
    ip('-n', l.ns, 'addr', 'add', l.address, 'peer', `${GW_ADDR}/32`, 'dev', l.dev);
    ip('-n', l.ns, 'link', 'set', l.dev, 'up');
    ip('-n', l.ns, 'route', 'add', RANGE, 'via', GW_ADDR, 'dev', l.dev);
  }
  if (s.link === 'netem') applyImpairments(s);
}

// ---------------------------------------------------------------------------------------------
// Sovereign's topology file for the test bed: the shipped sovereign.yaml with every address
// replaced by a test bed address.

function writeConfig(s: State, file: string, mode: RoutingMode): void {
  const base = parse(readFileSync(path.join(ROOT, 'sovereign.yaml'), 'utf8')) as Record<string, unknown> & { regions: Record<string, unknown>[]; routing?: Record<string, unknown>; gateway?: Record<string, unknown> };
  const config = {
    ...base,
    dataDir: path.join(s.dir, 'data'),
    regions: base.regions.map((r) => {
      const url = s.regions.find((x) => x.id === r.id)?.url;
      // The registries are plain HTTP (registry traffic is not on the mesh yet).
      return { ...r, url, registry: { url: url?.replace(`:${CELL_PORT}`, `:${REGISTRY_PORT}`).replace(/^https:/, 'http:') } };
    }),
    registry: { ...(base.registry as Record<string, unknown> | undefined), golden: { url: `http://${GW_ADDR}:${GOLDEN_PORT}` } },
    routing: { ...base.routing, mode },
    gateway: {
      ...base.gateway,
      host: GW_ADDR,
      port: GW_PORT,
      probeIntervalMs: 200,
      requestTimeoutMs: 15_000,
      trustedProxies: [CLIENT_ADDR],
      // A development testbed: its operator views (/sovereign/regions) are read without a token.
      openOperatorViews: true,
    },
  };
  writeFileSync(file, `# Written by scripts/testbed.ts: the test bed's topology (${mode}).\n${stringify(config)}`);
}

async function waitReady(s: State, name: string, url: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < timeoutMs) {
    const p = s.procs.find((x) => x.name === name);
    if (p && !alive(p.pid)) throw new Error(`testbed: ${name} exited while starting:\n${tail(p.log)}`);
    const r = await agentFetch(s.agentSocket, { url: `${url}/v2/health/ready`, timeoutMs: 2000 });
    if (r.status === 200) return Date.now() - started;
    last = r.error ?? `HTTP ${r.status} ${r.body ?? ''}`;
    await sleep(200);
  }
  const log = s.procs.find((x) => x.name === name)?.log;
  throw new Error(`testbed: ${name} not ready at ${url} in ${timeoutMs / 1000} s (last: ${last})${log ? `:\n${tail(log)}` : ''}`);
}

/** A cell answers mTLS peers only: it is ready when its log says so. */
async function waitCellReady(s: State, name: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const p = s.procs.find((x) => x.name === name);
  while (p && Date.now() - started < timeoutMs) {
    if (!alive(p.pid)) throw new Error(`testbed: ${name} exited while starting:\n${tail(p.log)}`);
    if (existsSync(p.log) && readFileSync(p.log, 'utf8').includes('"msg":"cell ready"')) return Date.now() - started;
    await sleep(200);
  }
  throw new Error(`testbed: ${name} not ready in ${timeoutMs / 1000} s${p ? `:\n${tail(p.log)}` : ''}`);
}

async function waitAgent(s: State): Promise<void> {
  const p = s.procs.find((x) => x.name === 'client-agent');
  if (p) await waitForLine(p.log, `client agent listening on ${s.agentSocket}`, p.pid, 15_000);
}

export interface UpOptions {
  dir?: string;
  mode?: RoutingMode;
  log?: (line: string) => void;
}

/** Builds the namespaces and links and starts the client agent, the cells and the gateway. */
export async function up(opts: UpOptions = {}): Promise<State> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const cap = capability();
  if (!cap.ok || !cap.link) throw new Error(`testbed: cannot run here: ${cap.reason}`);
  const dir = opts.dir ?? defaultDir();
  const existing = readState(dir);
  if (existing) throw new Error(`testbed: already up (state ${stateFile(dir)}); run \`npm run testbed -- down\` first`);
  const leftovers = listNamespaces().filter((n) => n.startsWith(NS_PREFIX));
  if (leftovers.length > 0) throw new Error(`testbed: namespaces ${leftovers.join(', ')} exist (another test bed, or leftovers): run \`npm run testbed -- down\` first`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'logs'), { recursive: true });

  const base = parse(readFileSync(path.join(ROOT, 'sovereign.yaml'), 'utf8')) as { regions: { id: string }[] };
  // Cells take mutual TLS only.
  const regions = base.regions.map((r, i) => ({ id: r.id, ns: `${NS_PREFIX}${r.id}`, url: `https://10.77.${i + 1}.2:${CELL_PORT}` }));
  const s: State = {
    version: 1,
    dir,
    link: cap.link,
    ...(cap.python ? { python: cap.python } : {}),
    namespaces: [GW_NS, CLIENT_NS, ...regions.map((r) => r.ns)],
    links: [
      { id: 'client', ns: CLIENT_NS, gwDev: 'tb-client', dev: 'tb0', address: CLIENT_ADDR, rttMs: DEFAULT_RTT_MS.client ?? FALLBACK_RTT_MS, partitioned: false },
      ...regions.map((r, i) => ({ id: r.id, ns: r.ns, gwDev: `tb-r${i + 1}`, dev: 'tb0', address: `10.77.${i + 1}.2`, rttMs: DEFAULT_RTT_MS[r.id] ?? FALLBACK_RTT_MS, partitioned: false })),
    ],
    procs: [],
    configFile: path.join(dir, 'sovereign.yaml'),
    gatewayConfigFile: path.join(dir, 'sovereign.yaml'),
    mode: opts.mode ?? 'legal-first',
    gatewayUrl: `http://${GW_ADDR}:${GW_PORT}`,
    agentSocket: path.join(dir, 'client.sock'),
    ...(cap.link === 'wire' ? { wireSpec: path.join(dir, 'wire.json') } : {}),
    regions,
  };
  writeState(s);
  try {
    log(`testbed: ${cap.reason}`);
    for (const ns of s.namespaces) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    run('ip', ['netns', 'exec', GW_NS, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    await makeLinks(s);
    log(`testbed: namespaces ${s.namespaces.join(', ')}; links (${s.link}) ${s.links.map((l) => `${l.id} ${l.rttMs} ms`).join(', ')}`);

    startProc(s, 'client-agent', CLIENT_NS, [process.execPath, AGENT, '--socket', s.agentSocket, '--allow', RANGE]);
    await waitAgent(s);

    writeConfig(s, s.configFile, 'legal-first');
    if (s.mode !== 'legal-first') {
      s.gatewayConfigFile = path.join(dir, `sovereign-${s.mode}.yaml`);
      writeConfig(s, s.gatewayConfigFile, s.mode);
    }
    // The trust domain's CAs, as `sovereign up` makes them on first start.
    await initTrustDomain(loadTopology(s.configFile));
    // Golden beside the gateway: it publishes the shipped model and promotes it to the cells.
    startProc(s, 'golden', GW_NS, [process.execPath, MAIN, '--config', s.configFile, 'golden']);
    for (const r of s.regions) startProc(s, r.id, r.ns, [process.execPath, MAIN, '--config', s.configFile, 'cell', '--region', r.id]);
    for (const r of s.regions) log(`  ready  ${r.id.padEnd(14)} ${r.url} (ns ${r.ns}) after ${((await waitCellReady(s, r.id, 60_000)) / 1000).toFixed(1)} s`);
    startProc(s, 'gateway', GW_NS, [process.execPath, MAIN, '--config', s.gatewayConfigFile, 'gateway']);
    log(`  ready  ${'gateway'.padEnd(14)} ${s.gatewayUrl} (ns ${GW_NS}, ${s.mode}) after ${((await waitReady(s, 'gateway', s.gatewayUrl, 60_000)) / 1000).toFixed(1)} s`);
    writeState(s);
    return s;
  } catch (err) {
    log(`testbed: up failed; cleaning up (logs stay in ${path.join(dir, 'logs')})`);
    await down({ dir, keepLogs: true, log: () => {} });
    throw err;
  }
}

export interface DownOptions {
  dir?: string;
  keepLogs?: boolean;
  log?: (line: string) => void;
}

/** Stops everything `up` started (by pid) and removes the namespaces, also leftovers of a crash. */
export async function down(opts: DownOptions = {}): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const dir = opts.dir ?? defaultDir();
  const s = readState(dir);
  if (s) {
    // The gateway first (no new traffic), then the cells, the agent and the links.
    const order = [...s.procs].sort((a, b) => rank(a.name) - rank(b.name));
    await Promise.all(order.filter((p) => p.name === 'gateway').map((p) => stopPid(p.pid, dir)));
    await Promise.all(order.filter((p) => p.name !== 'gateway').map((p) => stopPid(p.pid, dir)));
    if (s.procs.length > 0) log(`testbed: stopped ${s.procs.map((p) => `${p.name} (${p.pid})`).join(', ')}`);
  }
  // Leftovers: processes inside any sov-* namespace, a wire.py of this state directory.
  const namespaces = listNamespaces().filter((n) => n.startsWith(NS_PREFIX));
  for (const ns of namespaces) {
    const pids = run('ip', ['netns', 'pids', ns], { ignoreError: true }).split('\n').map(Number).filter((n) => n > 0);
    for (const pid of pids) await stopPid(pid, '', 3000);
  }
  for (const pid of readdirSync('/proc').map(Number).filter((n) => n > 0 && n !== process.pid)) {
    const cl = cmdline(pid);
    if (cl.includes(WIRE) && cl.includes(dir)) await stopPid(pid, dir, 3000);
  }
  for (const ns of namespaces) run('ip', ['netns', 'del', ns], { ignoreError: true });
  const still = listNamespaces().filter((n) => n.startsWith(NS_PREFIX));
  if (namespaces.length > 0) log(`testbed: removed namespaces ${namespaces.join(', ')}`);
  if (existsSync(stateFile(dir))) rmSync(stateFile(dir));
  if (!opts.keepLogs && existsSync(dir)) {
    for (const f of ['client.sock', 'wire.json']) rmSync(path.join(dir, f), { force: true });
  }
  if (still.length > 0) throw new Error(`testbed: could not remove namespaces ${still.join(', ')}`);
}

function rank(name: string): number {
  return name === 'gateway' ? 0 : name === 'wire' ? 3 : name === 'client-agent' ? 2 : 1;
}

function mustState(dir = defaultDir()): State {
  const s = readState(dir);
  if (!s) throw new Error(`testbed: not up (no ${stateFile(dir)}); run \`npm run testbed -- up\` first`);
  return s;
}

function linkOf(s: State, id: string): LinkState {
  const l = s.links.find((x) => x.id === id);
  if (!l) throw new Error(`testbed: no link "${id}"; links: ${s.links.map((x) => x.id).join(', ')}`);
  return l;
}

/** Drops every packet on the region's link (both directions), as `tc netem loss 100%` does. */
export function partition(region: string, dir = defaultDir()): State {
  const s = mustState(dir);
  linkOf(s, region).partitioned = true;
  applyImpairments(s);
  writeState(s);
  return s;
}

export function heal(region: string, dir = defaultDir()): State {
  const s = mustState(dir);
  linkOf(s, region).partitioned = false;
  applyImpairments(s);
  writeState(s);
  return s;
}

/** Sets the added round-trip time of a link ("client" or a region id). */
export function setRtt(id: string, rttMs: number, dir = defaultDir()): State {
  if (!Number.isFinite(rttMs) || rttMs < 0 || rttMs > 10_000) throw new Error(`testbed: round-trip time must be 0-10000 ms, not ${rttMs}`);
  const s = mustState(dir);
  linkOf(s, id).rttMs = rttMs;
  applyImpairments(s);
  writeState(s);
  return s;
}

/** SIGKILLs the region's cell process. */
export function kill(region: string, dir = defaultDir()): State {
  const s = mustState(dir);
  const p = s.procs.find((x) => x.name === region);
  if (!p || !s.regions.some((r) => r.id === region)) throw new Error(`testbed: no cell "${region}"; regions: ${s.regions.map((r) => r.id).join(', ')}`);
  if (alive(p.pid) && cmdline(p.pid).includes(dir)) process.kill(p.pid, 'SIGKILL');
  return s;
}

/** Restarts the gateway with a routing mode (a config variant beside the main one). */
export async function restartGateway(mode: RoutingMode, dir = defaultDir()): Promise<State> {
  const s = mustState(dir);
  const gw = s.procs.find((p) => p.name === 'gateway');
  if (gw) await stopPid(gw.pid, dir);
  s.mode = mode;
  s.gatewayConfigFile = mode === 'legal-first' ? s.configFile : path.join(dir, `sovereign-${mode}.yaml`);
  if (mode !== 'legal-first') writeConfig(s, s.gatewayConfigFile, mode);
  startProc(s, 'gateway', GW_NS, [process.execPath, MAIN, '--config', s.gatewayConfigFile, 'gateway']);
  await waitReady(s, 'gateway', s.gatewayUrl, 60_000);
  writeState(s);
  return s;
}

export interface RttReport {
  link: string;
  configuredMs: number;
  /** TCP connect times from the client namespace (client link + this link for a region). */
  samplesMs: number[];
}

/** Measures TCP connect round trips from the client namespace to the gateway and each cell. */
export async function measure(dir = defaultDir(), count = 5): Promise<RttReport[]> {
  const s = mustState(dir);
  const client = linkOf(s, 'client');
  const out: RttReport[] = [{ link: 'client -> gateway', configuredMs: client.rttMs, samplesMs: await agentRtt(s.agentSocket, GW_ADDR, GW_PORT, count) }];
  for (const r of s.regions) {
    const l = linkOf(s, r.id);
    out.push({ link: `client -> gateway -> ${r.id}`, configuredMs: client.rttMs + l.rttMs, samplesMs: await agentRtt(s.agentSocket, l.address, CELL_PORT, count) });
  }
  return out;
}
