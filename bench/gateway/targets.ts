// The targets of the gateway benchmark, each started on a free port in front of the same
// upstream: direct (nothing), nginx, HAProxy, a bare undici proxy, Portkey's AI gateway and
// Sovereign's full path (sovereign up: gateway + four region cells with upstream runtimes).
import { loadTopology } from '../../src/config/index.ts';
import { initTrustDomain } from '../../src/mesh/index.ts';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort, waitUntil, type ProcessGroup, type Started } from '../lib/procs.ts';
import { startNginxAuthz } from './nginx-authz.ts';
import { upstreamTls, type UpstreamTls } from './upstream-tls.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('./', import.meta.url));
const NODE = process.execPath;
const SOVEREIGN_MAIN = path.join(ROOT, 'src/cli/main.ts');
const PEERS = path.join(ROOT, 'bench/peers');
const PORTKEY_SERVER = path.join(PEERS, 'node_modules/@portkey-ai/gateway/build/start-server.js');

/**
 * Portkey's gateway is a benchmark peer, not a dependency of Sovereign: it is installed into
 * bench/peers/node_modules the first time the benchmark needs it (from the npm registry, with
 * its install scripts not run), so users who only run Sovereign never install it.
 */
function ensurePortkey(): void {
  if (existsSync(PORTKEY_SERVER)) return;
  console.log(`bench:gateway: installing Portkey's gateway (a benchmark peer, not needed to run Sovereign) into ${path.relative(ROOT, PEERS)}/node_modules ...`);
  try {
    execFileSync('npm', ['install', '--prefix', PEERS, '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], { stdio: 'inherit' });
  } catch (err) {
    throw new Error(`cannot install Portkey's gateway into ${PEERS} (${(err as Error).message}); run "npm install --prefix bench/peers --ignore-scripts" by hand, or leave portkey out of the targets`);
  }
  if (!existsSync(PORTKEY_SERVER)) throw new Error(`Portkey's gateway installed, but ${PORTKEY_SERVER} is missing: its package layout changed; update bench/gateway/targets.ts`);
}

export const TARGET_NAMES = ['direct', 'nginx', 'haproxy', 'undici', 'undici-mtls', 'portkey', 'sovereign', 'nginx-authz'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export interface Target {
  name: TargetName;
  /** Full URL of the chat completions endpoint. */
  url: string;
  procs: Started[];
  /** Set when the target was started with node --cpu-prof: where the profiles go. */
  profileDir?: string;
}

export interface TargetOptions {
  group: ProcessGroup;
  dir: string;
  /** Upstream origin, e.g. http://127.0.0.1:18000 */
  upstream: string;
  /** The upstream's mutual-TLS listener (the undici-mtls target calls it). */
  upstreamTls?: Upstream['tls'];
  /** nginx worker_processes and HAProxy nbthread. */
  workers: number;
  /** Start Sovereign's gateway and first EU cell with --cpu-prof (not via `up`). */
  profile?: boolean;
  /** Sovereign's mesh.mode (default: the topology default, mtls). */
  mesh?: 'mtls' | 'plaintext';
  /** Sovereign's mesh.svidTtlSeconds (default: the topology default). */
  svidTtlSeconds?: number;
  /** Sovereign's gateway.workers (default 1). */
  gatewayWorkers?: number;
}

function render(template: string, vars: Record<string, string>): string {
  return readFileSync(path.join(HERE, template), 'utf8').replace(/\{\{([A-Z]+)\}\}/g, (_m, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`template ${template}: no value for {{${k}}}`);
    return v;
  });
}

async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status < 500;
}

/** Workers of nginx started as root run as root too (our temp dirs are private). */
function nginxUser(): string {
  return process.getuid?.() === 0 ? 'user root root;' : '';
}

export const COMPLETION_JSON = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model: 'bench-model', system_fingerprint: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'The deployment looks healthy: latency is within budget and no action is needed.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 240, completion_tokens: 18, total_tokens: 258 },
});

/** A benchmark upstream: its plaintext origin and its mutual-TLS listener. */
export interface Upstream {
  origin: string;
  tls: { origin: string; files: UpstreamTls };
  proc: Started;
}

/** nginx serving a fixed chat.completion: the non-streaming upstream. */
export async function startNginxUpstream(group: ProcessGroup, dir: string, workers: number): Promise<Upstream> {
  const [port, tlsPort] = [await freePort(), await freePort()];
  const files = await upstreamTls(dir);
  const conf = path.join(dir, 'nginx-upstream.conf');
  const vars = { WORKERS: String(workers), DIR: dir, PORT: String(port), TLSPORT: String(tlsPort), CERT: files.serverCert, KEY: files.serverKey, CA: files.ca, USER: nginxUser(), COMPLETION: COMPLETION_JSON };
  writeFileSync(conf, render('nginx-upstream.conf.tmpl', vars));
  const proc = group.start('nginx-upstream', 'nginx', ['-p', dir, '-c', conf, '-e', path.join(dir, 'nginx-upstream.error.log')]);
  const origin = `http://127.0.0.1:${port}`;
  await waitUntil(() => httpOk(`${origin}/v1/models`), 10_000, `nginx upstream on ${origin} (log: ${dir}/nginx-upstream.error.log)`);
  return { origin, tls: { origin: `https://127.0.0.1:${tlsPort}`, files }, proc };
}

/** The Node SSE server: the streaming upstream. */
export async function startSseUpstream(group: ProcessGroup, dir: string): Promise<Upstream> {
  const [port, tlsPort] = [await freePort(), await freePort()];
  const files = await upstreamTls(dir);
  const proc = group.start('sse-upstream', NODE, [path.join(HERE, 'sse-upstream.ts'), String(port), String(tlsPort), files.serverCert, files.serverKey, files.ca]);
  await proc.waitFor('listening', 10_000);
  return { origin: `http://127.0.0.1:${port}`, tls: { origin: `https://127.0.0.1:${tlsPort}`, files }, proc };
}

const CHAT = '/v1/chat/completions';

export async function startTarget(name: TargetName, o: TargetOptions): Promise<Target> {
  const up = new URL(o.upstream);
  switch (name) {
    case 'direct':
      return { name, url: `${o.upstream}${CHAT}`, procs: [] };

    case 'nginx': {
      const port = await freePort();
      const conf = path.join(o.dir, `nginx-proxy-${port}.conf`);
      writeFileSync(conf, render('nginx-proxy.conf.tmpl', { WORKERS: String(o.workers), DIR: o.dir, PORT: String(port), USER: nginxUser(), UPSTREAM: up.host }));
      const p = o.group.start('nginx', 'nginx', ['-p', o.dir, '-c', conf, '-e', path.join(o.dir, 'nginx-proxy.error.log')]);
      const base = `http://127.0.0.1:${port}`;
      await waitUntil(() => httpOk(`${base}/v1/models`), 10_000, `nginx proxy on ${base}`);
      return { name, url: `${base}${CHAT}`, procs: [p] };
    }

    case 'haproxy': {
      const port = await freePort();
      const conf = path.join(o.dir, `haproxy-${port}.cfg`);
      writeFileSync(conf, render('haproxy.cfg.tmpl', { WORKERS: String(o.workers), PORT: String(port), UPSTREAM: up.host }));
      const p = o.group.start('haproxy', 'haproxy', ['-db', '-f', conf]);
      const base = `http://127.0.0.1:${port}`;
      await waitUntil(() => httpOk(`${base}/v1/models`), 10_000, `haproxy on ${base}`);
      return { name, url: `${base}${CHAT}`, procs: [p] };
    }

    case 'undici': {
      const port = await freePort();
      const p = o.group.start('undici-proxy', NODE, [path.join(HERE, 'undici-proxy.ts'), String(port), o.upstream]);
      await p.waitFor('listening', 10_000);
      return { name, url: `http://127.0.0.1:${port}${CHAT}`, procs: [p] };
    }

    case 'undici-mtls': {
      // The same bare proxy, calling the upstream's mutual-TLS listener with a client certificate.
      if (!o.upstreamTls) throw new Error('undici-mtls needs an upstream with a mutual-TLS listener (startNginxUpstream, startSseUpstream)');
      const { origin, files } = o.upstreamTls;
      const port = await freePort();
      const p = o.group.start('undici-proxy (mTLS)', NODE, [path.join(HERE, 'undici-proxy.ts'), String(port), origin, files.clientCert, files.clientKey, files.ca]);
      await p.waitFor('listening', 10_000);
      return { name, url: `http://127.0.0.1:${port}${CHAT}`, procs: [p] };
    }

    case 'portkey': {
      ensurePortkey();
      const port = await freePort();
      // --headless: no console UI; NODE_ENV=production: no dev log stream.
      const p = o.group.start('portkey', NODE, [PORTKEY_SERVER, `--port=${port}`, '--headless'], { env: { ...process.env, NODE_ENV: 'production' } });
      const base = `http://127.0.0.1:${port}`;
      await waitUntil(() => httpOk(`${base}/`), 20_000, `Portkey gateway on ${base}`);
      return { name, url: `${base}${CHAT}`, procs: [p] };
    }

    case 'sovereign':
      return startSovereign(o);

    case 'nginx-authz': {
      // Sovereign's decision endpoint behind nginx auth_request (bench/gateway/nginx-authz.ts).
      const dir = path.join(o.dir, `nginx-authz-${await freePort()}`);
      mkdirSync(dir, { recursive: true });
      // Cells in plaintext: nginx verifies mTLS peers by DNS name only and these cells listen on
      // 127.0.0.1 (src/deploy/nginx.ts); compare with the Sovereign target run with mesh plaintext.
      const cfg = await sovereignConfig({ ...o, mesh: 'plaintext' }, dir);
      const sovereign = o.group.start('sovereign (nginx-authz)', NODE, [SOVEREIGN_MAIN, '--config', cfg.file, 'up'], { cwd: ROOT });
      await sovereign.waitFor('Sovereign is up', 90_000);
      const t = await startNginxAuthz({ group: o.group, dir, workers: o.workers, configFile: cfg.file, gateway: cfg.gateway, sovereign });
      return { name, ...t };
    }
  }
}

/** The four default regions, each with an upstream runtime pointing at the benchmark upstream. */
export async function sovereignConfig(o: TargetOptions, dir: string): Promise<{ file: string; gateway: string; regions: { id: string; url: string }[] }> {
  const EU = ['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE', 'IS', 'LI', 'NO'];
  const defs: [string, string, string, Record<string, string[]>][] = [
    ['eu-frankfurt', 'EU', 'DE', { contract: ['SG'] }],
    ['eu-paris', 'EU', 'FR', { contract: ['SG'] }],
    ['uae-dubai', 'AE', 'AE', { scc: ['EU'], contract: ['SG'] }],
    ['sg-singapore', 'SG', 'SG', {}],
  ];
  const regions = [];
  for (const [id, jurisdiction, country, transfers] of defs) {
    regions.push({ id, jurisdiction, country, url: `http://127.0.0.1:${await freePort()}`, runtime: { kind: 'upstream', url: o.upstream, protocol: 'openai' }, models: ['bench-model'], transfers });
  }
  const port = await freePort();
  const config = {
    dataDir: path.join(dir, 'data'),
    jurisdictions: { EU, AE: ['AE'], SG: ['SG'] },
    regions,
    tenants: [],
    routing: { mode: 'legal-first', preference: defs.map((d) => d[0]) },
    // maxConnectionsPerClient 0: the load generator opens every connection from one address.
    // workers 1: the CPU per request read from /proc is one gateway process's (bench:gateway-workers scales it).
    gateway: { host: '127.0.0.1', port, bodyLimitBytes: 10 * 1024 * 1024, maxConnectionsPerClient: 0, workers: o.gatewayWorkers ?? 1 },
    ...(o.mesh || o.svidTtlSeconds ? { mesh: { ...(o.mesh ? { mode: o.mesh } : {}), ...(o.svidTtlSeconds ? { svidTtlSeconds: o.svidTtlSeconds } : {}) } } : {}),
  };
  const file = path.join(dir, 'sovereign.yaml');
  writeFileSync(file, stringify(config));
  return { file, gateway: `http://127.0.0.1:${port}`, regions: regions.map((r) => ({ id: r.id, url: r.url })) };
}

async function startSovereign(o: TargetOptions): Promise<Target> {
  const dir = path.join(o.dir, `sovereign-${await freePort()}`);
  mkdirSync(dir, { recursive: true });
  const cfg = await sovereignConfig(o, dir);
  if (!o.profile) {
    const p = o.group.start('sovereign', NODE, [SOVEREIGN_MAIN, '--config', cfg.file, 'up'], { cwd: ROOT });
    await p.waitFor('Sovereign is up', 90_000);
    return { name: 'sovereign', url: `${cfg.gateway}${CHAT}`, procs: [p] };
  }
  // Profile: each cell and the gateway started here (not via `up`), the gateway and the first
  // EU cell under --cpu-prof; the profiles are written when they stop (SIGTERM -> exit).
  const profileDir = path.join(dir, 'profiles');
  mkdirSync(profileDir, { recursive: true });
  await initTrustDomain(loadTopology(cfg.file)); // as `sovereign up` does on first start
  chmodSync(profileDir, 0o755);
  const procs: Started[] = [];
  // Golden publishes the shipped model and promotes it to the cells (as `up` does).
  procs.push(o.group.start('golden', NODE, [SOVEREIGN_MAIN, '--config', cfg.file, 'golden', '--port', String(await freePort())], { cwd: ROOT }));
  for (const r of cfg.regions) {
    const prof = r.id === 'eu-frankfurt' ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `cell-${r.id}.cpuprofile`] : [];
    procs.push(o.group.start(`cell ${r.id}`, NODE, [...prof, SOVEREIGN_MAIN, '--config', cfg.file, 'cell', '--region', r.id], { cwd: ROOT }));
  }
  // Cells take mTLS peers only: ready when their log says so.
  for (const p of procs.slice(1)) await p.waitFor('"msg":"cell ready"', 120_000); // procs[0] is golden
  procs.push(o.group.start('gateway', NODE, ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', 'gateway.cpuprofile', SOVEREIGN_MAIN, '--config', cfg.file, 'gateway'], { cwd: ROOT }));
  await waitUntil(async () => {
    const res = await fetch(`${cfg.gateway}/v2/health/ready`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  }, 60_000, `Sovereign gateway at ${cfg.gateway}`);
  return { name: 'sovereign', url: `${cfg.gateway}${CHAT}`, procs, profileDir };
}

/** Checks nginx, HAProxy and wrk; installs the Debian packages that are missing (as root). */
export function ensureTools(log: (s: string) => void): void {
  const have = (bin: string): boolean => {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const need = [['nginx', 'nginx-light'], ['haproxy', 'haproxy'], ['wrk', 'wrk']].filter(([bin]) => !have(bin as string)).map(([, pkg]) => pkg as string);
  if (need.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages: ${need.join(' ')}. Install them with: sudo apt-get install -y ${need.join(' ')} (or run this benchmark as root to have it install them)`);
  }
  log(`installing missing Debian packages with apt-get: ${need.join(' ')} ...`);
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...need], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  log(`installed: ${need.join(' ')} (Debian may also have started their system services; the benchmark runs its own instances on free ports and leaves those alone)`);
}
