// Sovereign in front of the EMBEDDED cell: the default system (`npm start` = `sovereign up` on
// the shipped topology: four regions, each with its embedded text-analysis runtime, golden
// promoting the shipped model, mutual TLS between gateway and cells), one EU request type. In the
// same run, a bare undici proxy in front of the same eu-frankfurt cell, presenting a gateway
// SVID of the mesh (the cell takes mTLS peers only), and the cell called directly with the same
// SVID. Measured in interleaved rounds (gateway, bare proxy, direct, ...):
//   - CPU per request of the gateway process(es) alone and of the bare proxy, from /proc/<pid>/stat,
//     at full load (wrk, 32 connections) and at the fixed rate; efficiency = bare / gateway;
//   - max throughput of each;
//   - latency at the fixed rate (200 req/s): p50/p99 added over calling the cell directly;
//   - streaming time to first byte over the bare proxy.
// Then one profiled run: every process of the system under node --cpu-prof (NODE_OPTIONS), the
// gateway's profile summarised (self and total time by function and file).
// `gatewayWorkers` > 1 writes gateway.workers to the topology (several gateway processes: the CPU
// of all of them counts as the gateway's).
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { loadTopology } from '../../src/config/index.ts';
import { issueFor, readBundle, spiffeId } from '../../src/mesh/index.ts';
import { median } from '../lib/stats.ts';
import { cpuMs, freePort, pidsWith, type ProcessGroup, type Started } from '../lib/procs.ts';
import { timingMarkdown } from './timing.ts';
import type { LoadResult, LoadSpec } from './loadgen.ts';
import { summarise, type ProfileSummary } from './profile.ts';
import { ROOT } from './targets.ts';

const NODE = process.execPath;
const SOVEREIGN_MAIN = path.join(ROOT, 'src/cli/main.ts');
const HERE = path.join(ROOT, 'bench/gateway');
const CHAT = '/v1/chat/completions';
/** The region the EU request is served from (first in the shipped routing preference). */
export const EMBEDDED_REGION = 'eu-frankfurt';

export interface WrkLike { rps: number; requests: number; valid: boolean; latencyP50Ms: number; latencyP99Ms: number }

export interface EmbeddedDeps {
  group: ProcessGroup;
  dir: string;
  rounds: number;
  rate: number;
  rateSeconds: number;
  throughputSeconds: number;
  /** Full load on the gateway and on the bare proxy before the first round, not counted. */
  warmupSeconds: number;
  ttfbRate: number;
  ttfbSeconds: number;
  stream: boolean;
  profile: boolean;
  /** gateway.workers in the topology; undefined: not written (the topology's default). */
  gatewayWorkers: number | undefined;
  wrk: (url: string, seconds: number, files: { body: string; headers: string }) => Promise<WrkLike>;
  loadgen: (spec: Omit<LoadSpec, 'connections' | 'maxInflight' | 'warmupMs'>) => Promise<LoadResult>;
  log: (s: string) => void;
  interrupted: () => boolean;
}

/** An EU chat request to the shipped model, without personal data (one request type). */
export function embeddedBody(stream: boolean): string {
  return JSON.stringify({
    model: 'text-analysis',
    messages: [
      { role: 'user', content: 'Please summarise the following release note in two sentences. The routing service moved to a new connection pool, which cut median latency across the European regions by a fifth, and the model registry now verifies content digests before every load.' },
    ],
    ...(stream ? { stream: true } : {}),
  });
}
const HEADERS = { 'x-sovereign-jurisdiction': 'DE' };

/** CPU ms per request of `pids` over `run` (pids read again after: workers may have started). */
export async function cpuPerRequest<T extends { requests: number }>(pids: () => number[], run: () => Promise<T>): Promise<T & { cpuUsPerReq: number }> {
  const before = new Map(pids().map((p) => [p, cpuMs(p)]));
  const r = await run();
  let used = 0;
  for (const p of new Set([...before.keys(), ...pids()])) used += cpuMs(p) - (before.get(p) ?? 0);
  return { ...r, cpuUsPerReq: (used / Math.max(1, r.requests)) * 1000 };
}

interface System {
  config: string;
  gateway: string;
  cell: string;
  up: Started;
  proxy: Started;
  proxyUrl: string;
  tls: { cert: string; key: string; ca: string };
}

/** The shipped topology with free ports and its own data directory (and gateway.workers when asked). */
function embeddedConfig(dir: string, ports: { gateway: number; cells: number[] }, workers: number | undefined): string {
  const shipped = parse(readFileSync(path.join(ROOT, 'sovereign.yaml'), 'utf8')) as Record<string, unknown> & { regions: { url: string; id: string }[]; gateway: Record<string, unknown> };
  shipped.dataDir = path.join(dir, 'data');
  shipped.regions.forEach((r, i) => {
    const u = new URL(r.url);
    u.port = String(ports.cells[i]);
    r.url = u.origin;
  });
  // maxConnectionsPerClient 0: the load generator opens every connection from one address.
  shipped.gateway = { ...shipped.gateway, port: ports.gateway, maxConnectionsPerClient: 0, ...(workers !== undefined ? { workers } : {}) };
  const file = path.join(dir, 'sovereign.yaml');
  writeFileSync(file, stringify(shipped));
  return file;
}

async function startSystem(d: EmbeddedDeps, name: string, env: NodeJS.ProcessEnv = process.env): Promise<System> {
  const dir = path.join(d.dir, `${name}-${await freePort()}`);
  mkdirSync(dir, { recursive: true });
  const shippedRegions = (parse(readFileSync(path.join(ROOT, 'sovereign.yaml'), 'utf8')) as { regions: unknown[] }).regions.length;
  const cells: number[] = [];
  for (let i = 0; i < shippedRegions; i++) cells.push(await freePort());
  const gwPort = await freePort();
  const config = embeddedConfig(dir, { gateway: gwPort, cells }, d.gatewayWorkers);
  // `up` gives every process 120 s to be ready; on a loaded machine the first start (trust
  // domain, golden publishing the shipped model, cells loading it) can take longer. A second
  // start finds all of that on disk.
  let up: Started | undefined;
  for (let attempt = 1; up === undefined; attempt++) {
    const p = d.group.start(`sovereign up (${name})`, NODE, [SOVEREIGN_MAIN, '--config', config, 'up'], { cwd: ROOT, env });
    try {
      await p.waitFor('Sovereign is up', 180_000);
      up = p;
    } catch (err) {
      await d.group.stop(p, 20_000);
      if (attempt >= 3) throw err;
      d.log(`  ! sovereign up was not ready (attempt ${attempt} of 3), starting it again: ${(err as Error).message.split('\n').find((l) => l.includes('not ready')) ?? ''}`);
    }
  }
  // A gateway identity of the mesh for the bare proxy and the direct calls (as `sovereign mesh issue`).
  const topology = loadTopology(config);
  const svid = await issueFor(topology, spiffeId.gateway(topology.data.mesh.trustDomain, 'bench-proxy'), { by: 'bench' });
  const tls = { cert: path.join(dir, 'proxy-svid.pem'), key: path.join(dir, 'proxy-svid.key'), ca: path.join(dir, 'bundle.pem') };
  writeFileSync(tls.cert, svid.chainPem);
  writeFileSync(tls.key, svid.keyPem, { mode: 0o600 });
  writeFileSync(tls.ca, readBundle(topology));
  const cell = topology.region(EMBEDDED_REGION)?.url;
  if (!cell) throw new Error(`the shipped topology has no region ${EMBEDDED_REGION}; update bench/gateway/embedded.ts`);
  const proxyPort = await freePort();
  const proxy = d.group.start(`undici-proxy (${name})`, NODE, [path.join(HERE, 'undici-proxy.ts'), String(proxyPort), cell, tls.cert, tls.key, tls.ca]);
  await proxy.waitFor('listening', 10_000);
  return { config, gateway: `http://127.0.0.1:${gwPort}`, cell, up, proxy, proxyUrl: `http://127.0.0.1:${proxyPort}`, tls };
}

async function stopSystem(d: EmbeddedDeps, s: System): Promise<void> {
  await d.group.stop(s.proxy);
  await d.group.stop(s.up, 20_000);
}

type Who = 'gateway' | 'proxy' | 'direct';

interface Round {
  /** cellCpuUsPerReq: the serving cell's CPU per request in the same run. */
  full: Partial<Record<'gateway' | 'proxy', WrkLike & { cpuUsPerReq: number; cellCpuUsPerReq: number }>>;
  rate: Partial<Record<Who, LoadResult & { cpuUsPerReq: number }>>;
  ttfb: Partial<Record<Who, LoadResult>>;
}

export interface EmbeddedResult {
  region: string;
  gatewayWorkers: number | null;
  rounds: Round[];
  summary: {
    gatewayCpuUsPerReqFull: number; proxyCpuUsPerReqFull: number; efficiencyFull: number;
    gatewayCpuUsPerReqRate: number; proxyCpuUsPerReqRate: number; efficiencyRate: number;
    gatewayRps: number; proxyRps: number; rpsVsProxy: number;
    /** The serving cell's CPU per request at full load behind each, and the throughput share a gateway as cheap as the bare proxy would reach with it (wrk's CPU left out). */
    cellCpuUsPerReqFull: { gateway: number; proxy: number }; rpsBoundAtProxyCost: number;
    p50: Record<Who, number>; p99: Record<Who, number>; addedP50: number; addedP99: number; proxyAddedP50: number; proxyAddedP99: number;
    ttfbP50: Record<Who, number>; ttfbOverProxyP50: number;
  };
  profile: ProfileSummary | null;
  failures: Record<string, string>;
}

/** A run with no answered request has no percentiles (JSON carries them as null): NaN, left out of medians. */
function withPercentiles(l: LoadResult): LoadResult {
  const n = (x: number | null): number => (typeof x === 'number' ? x : Number.NaN);
  return { ...l, p50: n(l.p50), p99: n(l.p99) };
}
const ms3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

const med = (xs: number[]): number => {
  const v = xs.filter(Number.isFinite);
  return v.length ? median(v) : Number.NaN;
};

async function smoke(url: string, body: string, stream: boolean, tls?: System['tls']): Promise<string> {
  let res: { status: number; text: string; region: string };
  if (tls) {
    const { Agent, fetch: ufetch } = await import('undici');
    const agent = new Agent({ connect: { cert: readFileSync(tls.cert), key: readFileSync(tls.key), ca: readFileSync(tls.ca) } });
    const r = await ufetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...HEADERS }, body, dispatcher: agent, signal: AbortSignal.timeout(30_000) });
    res = { status: r.status, text: await r.text(), region: r.headers.get('x-sovereign-region') ?? '' };
    await agent.close();
  } else {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...HEADERS }, body, signal: AbortSignal.timeout(30_000) });
    res = { status: r.status, text: await r.text(), region: r.headers.get('x-sovereign-region') ?? '' };
  }
  if (res.status !== 200 || !(stream ? res.text.includes('data:') : res.text.includes('"choices"'))) {
    throw new Error(`${url} answered ${res.status} to the embedded benchmark request: ${res.text.slice(0, 500)}`);
  }
  return res.region;
}

export async function phaseEmbedded(d: EmbeddedDeps): Promise<EmbeddedResult> {
  d.log(`\nphase: Sovereign in front of the embedded cell (shipped topology, mTLS${d.gatewayWorkers ? `, gateway.workers ${d.gatewayWorkers}` : ''}), a bare undici proxy in front of the same cell, the cell directly`);
  const files = { body: path.join(d.dir, 'embedded-body.json'), streamBody: path.join(d.dir, 'embedded-body-stream.json'), headers: path.join(d.dir, 'embedded-headers.txt') };
  writeFileSync(files.body, embeddedBody(false));
  writeFileSync(files.streamBody, embeddedBody(true));
  writeFileSync(files.headers, Object.entries(HEADERS).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
  const failures: Record<string, string> = {};
  const sys = await startSystem(d, 'embedded');
  const rounds: Round[] = [];
  const gatewayPids = (): number[] => pidsWith(sys.config, 'gateway');
  const proxyPids = (): number[] => [sys.proxy.pid];
  // The cell that serves the benchmark request: behind the gateway it also records each decision
  // and keeps the request in the region store; behind the bare proxy (no record) it does neither.
  const cellPids = (): number[] => pidsWith(sys.config, 'cell', EMBEDDED_REGION);
  let region = '';
  try {
    const body = embeddedBody(false);
    region = await smoke(`${sys.gateway}${CHAT}`, body, false);
    if (region !== EMBEDDED_REGION) throw new Error(`Sovereign served the DE request from "${region}", expected ${EMBEDDED_REGION} (the cell the bare proxy calls)`);
    await smoke(`${sys.proxyUrl}${CHAT}`, body, false);
    await smoke(`${sys.cell}${CHAT}`, body, false, sys.tls);
    let streamOk = d.stream;
    if (d.stream) {
      try {
        await smoke(`${sys.gateway}${CHAT}`, embeddedBody(true), true);
        await smoke(`${sys.proxyUrl}${CHAT}`, embeddedBody(true), true);
      } catch (err) {
        streamOk = false;
        failures.streaming = (err as Error).message.slice(0, 800);
        d.log(`  ! streaming left out: ${failures.streaming}`);
      }
    }
    // Warm-up (JIT, connection pools, the cell's caches), not counted. A 2 s warm-up left the
    // first rounds cold: a fresh gateway's CPU per request fell from 571 to 378 µs over four 5 s
    // rounds (the bare proxy's from 431 to 255), so each side gets warmupSeconds of full load.
    await d.wrk(`${sys.gateway}${CHAT}`, d.warmupSeconds, files);
    await d.wrk(`${sys.proxyUrl}${CHAT}`, d.warmupSeconds, files);
    if (streamOk) {
      // The streaming path is other code (the SSE relay on both sides): warmed the same way, or
      // the first round's time to first byte is partly the JIT's.
      await d.wrk(`${sys.gateway}${CHAT}`, d.warmupSeconds, { ...files, body: files.streamBody });
      await d.wrk(`${sys.proxyUrl}${CHAT}`, d.warmupSeconds, { ...files, body: files.streamBody });
    }
    for (let r = 1; r <= d.rounds && !d.interrupted(); r++) {
      const round: Round = { full: {}, rate: {}, ttfb: {} };
      for (const [who, url, pids] of [['gateway', `${sys.gateway}${CHAT}`, gatewayPids], ['proxy', `${sys.proxyUrl}${CHAT}`, proxyPids]] as const) {
        const both = await cpuPerRequest(cellPids, async () => {
          const g = await cpuPerRequest(pids, () => d.wrk(url, d.throughputSeconds, files));
          return { ...g, ownUs: g.cpuUsPerReq };
        });
        const { ownUs, cpuUsPerReq: cellUs, ...rest } = both;
        const w = { ...rest, cpuUsPerReq: ownUs, cellCpuUsPerReq: cellUs };
        round.full[who] = w;
        d.log(`  round ${r}/${d.rounds} full load ${who.padEnd(7)} ${w.rps.toFixed(0).padStart(6)} req/s, ${w.cpuUsPerReq.toFixed(0)} µs CPU/req (cell ${cellUs.toFixed(0)} µs)${w.valid ? '' : '  (INVALID: errors over 1%)'}`);
      }
      for (const [who, url, pids, tls] of [['gateway', `${sys.gateway}${CHAT}`, gatewayPids, undefined], ['proxy', `${sys.proxyUrl}${CHAT}`, proxyPids, undefined], ['direct', `${sys.cell}${CHAT}`, (): number[] => [], sys.tls]] as const) {
        const l = await cpuPerRequest(pids, async () => {
          const x = withPercentiles(await d.loadgen({ url, rate: d.rate, durationMs: d.rateSeconds * 1000, bodyFile: files.body, headers: HEADERS, mode: 'latency', ...(tls ? { tls } : {}) }));
          return { ...x, requests: x.sent };
        });
        round.rate[who] = l;
        d.log(`  round ${r}/${d.rounds} @${d.rate}/s    ${who.padEnd(7)} p50 ${ms3(l.p50)} ms  p99 ${ms3(l.p99)} ms${who === 'direct' ? '' : `  ${l.cpuUsPerReq.toFixed(0)} µs CPU/req`}${l.errors + l.non2xx + l.dropped > 0 ? `  (${l.errors} errors, ${l.non2xx} non-2xx, ${l.dropped} dropped: ${l.firstError ?? ''})` : ''}`);
      }
      if (streamOk) {
        for (const [who, url, tls] of [['gateway', `${sys.gateway}${CHAT}`, undefined], ['proxy', `${sys.proxyUrl}${CHAT}`, undefined], ['direct', `${sys.cell}${CHAT}`, sys.tls]] as const) {
          const l = withPercentiles(await d.loadgen({ url, rate: d.ttfbRate, durationMs: d.ttfbSeconds * 1000, bodyFile: files.streamBody, headers: HEADERS, mode: 'ttfb', ...(tls ? { tls } : {}) }));
          round.ttfb[who] = l;
          d.log(`  round ${r}/${d.rounds} TTFB @${d.ttfbRate}/s ${who.padEnd(7)} p50 ${ms3(l.p50)} ms  p99 ${ms3(l.p99)} ms${l.errors + l.non2xx > 0 ? `  (${l.errors} errors, ${l.non2xx} non-2xx: ${l.firstError ?? ''})` : ''}`);
        }
      }
      rounds.push(round);
    }
  } finally {
    await stopSystem(d, sys);
  }
  const profile = d.profile && !d.interrupted() ? await profileEmbedded(d, files) : null;
  const per = (f: (x: Round) => number): number => med(rounds.map(f));
  const valid = (w: (WrkLike & { cpuUsPerReq: number }) | undefined): number => (w?.valid ? w.rps : Number.NaN);
  const cpu = (x: Round, who: 'gateway' | 'proxy', of: 'cpuUsPerReq' | 'cellCpuUsPerReq'): number => x.full[who]?.[of] ?? Number.NaN;
  const ok = (l: LoadResult | undefined, k: 'p50' | 'p99'): number => (l && l.errors + l.non2xx + l.dropped <= l.sent * 0.01 ? l[k] : Number.NaN);
  const whos: Who[] = ['gateway', 'proxy', 'direct'];
  return {
    region,
    gatewayWorkers: d.gatewayWorkers ?? null,
    rounds,
    summary: {
      gatewayCpuUsPerReqFull: per((x) => x.full.gateway?.cpuUsPerReq ?? Number.NaN),
      proxyCpuUsPerReqFull: per((x) => x.full.proxy?.cpuUsPerReq ?? Number.NaN),
      efficiencyFull: per((x) => (x.full.proxy?.cpuUsPerReq ?? Number.NaN) / (x.full.gateway?.cpuUsPerReq ?? Number.NaN)),
      gatewayCpuUsPerReqRate: per((x) => x.rate.gateway?.cpuUsPerReq ?? Number.NaN),
      proxyCpuUsPerReqRate: per((x) => x.rate.proxy?.cpuUsPerReq ?? Number.NaN),
      efficiencyRate: per((x) => (x.rate.proxy?.cpuUsPerReq ?? Number.NaN) / (x.rate.gateway?.cpuUsPerReq ?? Number.NaN)),
      gatewayRps: per((x) => valid(x.full.gateway)),
      proxyRps: per((x) => valid(x.full.proxy)),
      rpsVsProxy: per((x) => valid(x.full.gateway) / valid(x.full.proxy)),
      cellCpuUsPerReqFull: { gateway: per((x) => cpu(x, 'gateway', 'cellCpuUsPerReq')), proxy: per((x) => cpu(x, 'proxy', 'cellCpuUsPerReq')) },
      // On shared cores throughput follows the CPU of the whole path: with the bare proxy's own
      // cost in place of the gateway's, the path would cost proxy + cell(behind the gateway).
      rpsBoundAtProxyCost: per((x) => (cpu(x, 'proxy', 'cpuUsPerReq') + cpu(x, 'proxy', 'cellCpuUsPerReq')) / (cpu(x, 'proxy', 'cpuUsPerReq') + cpu(x, 'gateway', 'cellCpuUsPerReq'))),
      p50: Object.fromEntries(whos.map((w) => [w, per((x) => ok(x.rate[w], 'p50'))])) as Record<Who, number>,
      p99: Object.fromEntries(whos.map((w) => [w, per((x) => ok(x.rate[w], 'p99'))])) as Record<Who, number>,
      addedP50: per((x) => ok(x.rate.gateway, 'p50') - ok(x.rate.direct, 'p50')),
      addedP99: per((x) => ok(x.rate.gateway, 'p99') - ok(x.rate.direct, 'p99')),
      proxyAddedP50: per((x) => ok(x.rate.proxy, 'p50') - ok(x.rate.direct, 'p50')),
      proxyAddedP99: per((x) => ok(x.rate.proxy, 'p99') - ok(x.rate.direct, 'p99')),
      ttfbP50: Object.fromEntries(whos.map((w) => [w, per((x) => x.ttfb[w]?.p50 ?? Number.NaN)])) as Record<Who, number>,
      ttfbOverProxyP50: per((x) => (x.ttfb.gateway?.p50 ?? Number.NaN) - (x.ttfb.proxy?.p50 ?? Number.NaN)),
    },
    profile,
    failures,
  };
}

/** The same system under node --cpu-prof (every process, through NODE_OPTIONS); the gateway's profile summarised. */
async function profileEmbedded(d: EmbeddedDeps, files: { body: string; headers: string }): Promise<ProfileSummary | null> {
  const profDir = path.join(d.dir, `embedded-profiles-${await freePort()}`);
  mkdirSync(profDir, { recursive: true });
  d.log(`  profile: the embedded system again, under node --cpu-prof (${profDir})`);
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim() };
  const sys = await startSystem(d, 'embedded-profiled', env);
  const gw = pidsWith(sys.config, 'gateway');
  let window = 0;
  try {
    await smoke(`${sys.gateway}${CHAT}`, embeddedBody(false), false);
    const t0 = Date.now();
    const w = await d.wrk(`${sys.gateway}${CHAT}`, Math.max(d.throughputSeconds, 5), files);
    d.log(`  profiled full-load run: ${w.rps.toFixed(0)} req/s`);
    window = Date.now() - t0;
  } finally {
    await stopSystem(d, sys);
  }
  // node names a profile CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile.
  const mine = readdirSync(profDir).filter((f) => gw.some((p) => f.includes(`.${p}.`)));
  if (mine.length === 0) {
    d.log(`  ! no gateway profile in ${profDir} (pids ${gw.join(', ')})`);
    return null;
  }
  // With several gateway workers, the busiest one stands for all.
  const sums = mine.map((f) => summarise(path.join(profDir, f), 30, window));
  return sums.sort((a, b) => b.busyMs - a.busyMs)[0] ?? null;
}

export function embeddedMarkdown(r: EmbeddedResult, rate: number): string {
  const s = r.summary;
  const f = (x: number, dgt = 3): string => (Number.isFinite(x) ? x.toFixed(dgt) : 'n/a');
  return [
    `## In front of the embedded cell (the default system, mTLS${r.gatewayWorkers ? `, gateway.workers ${r.gatewayWorkers}` : ''})`,
    '',
    `One EU request (x-sovereign-jurisdiction: DE, model text-analysis) served by ${r.region || EMBEDDED_REGION}; the bare undici proxy calls the same cell with a gateway SVID; "direct" calls the cell with that SVID.`,
    '',
    '| | gateway | bare proxy | direct |',
    '|---|---:|---:|---:|',
    `| CPU µs/request at full load (wrk) | ${f(s.gatewayCpuUsPerReqFull, 0)} | ${f(s.proxyCpuUsPerReqFull, 0)} | |`,
    `| CPU µs/request at ${rate} req/s | ${f(s.gatewayCpuUsPerReqRate, 0)} | ${f(s.proxyCpuUsPerReqRate, 0)} | |`,
    `| serving cell's CPU µs/request at full load | ${f(s.cellCpuUsPerReqFull.gateway, 0)} | ${f(s.cellCpuUsPerReqFull.proxy, 0)} | |`,
    `| max req/s (wrk) | ${f(s.gatewayRps, 0)} | ${f(s.proxyRps, 0)} | |`,
    `| p50 ms at ${rate} req/s | ${f(s.p50.gateway)} | ${f(s.p50.proxy)} | ${f(s.p50.direct)} |`,
    `| p99 ms at ${rate} req/s | ${f(s.p99.gateway)} | ${f(s.p99.proxy)} | ${f(s.p99.direct)} |`,
    `| added p50 / p99 ms over direct | ${f(s.addedP50)} / ${f(s.addedP99)} | ${f(s.proxyAddedP50)} / ${f(s.proxyAddedP99)} | |`,
    `| streaming TTFB p50 ms | ${f(s.ttfbP50.gateway)} | ${f(s.ttfbP50.proxy)} | ${f(s.ttfbP50.direct)} |`,
    '',
    `Efficiency (bare proxy CPU / gateway CPU per request): ${f(s.efficiencyFull, 2)} at full load, ${f(s.efficiencyRate, 2)} at ${rate} req/s. Throughput ${f(s.rpsVsProxy * 100, 0)}% of the bare proxy's. TTFB over the bare proxy: ${f(s.ttfbOverProxyP50)} ms.`,
    '',
    `Behind the gateway the serving cell also records each decision durably and keeps the request in the region store; behind the bare proxy (no record) it does neither: ${f(s.cellCpuUsPerReqFull.gateway, 0)} against ${f(s.cellCpuUsPerReqFull.proxy, 0)} µs per request. Gateway, cell and wrk share the machine's cores, so throughput follows the whole path's CPU: a gateway exactly as cheap as the bare proxy would reach about ${f(s.rpsBoundAtProxyCost * 100, 0)}% of the bare proxy's throughput with this cell (wrk's CPU left out).`,
    ...Object.entries(r.failures).map(([k, v]) => `\nLeft out (${k}): ${v.replace(/\n/g, ' ')}`),
    '',
    timingMarkdown(`Where the gateway's latency at ${rate} req/s goes`, r.rounds.map((x) => x.rate.gateway?.timing)),
  ].join('\n');
}
