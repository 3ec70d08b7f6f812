// `npm run bench:failover`: failover inside the law, measured on this machine.
//   1. steady 200 req/s of EU traffic; kill -9 the EU cell serving it: failed client requests,
//      time to ejection, time to readmission once the cell is back;
//   2. one EU cell made 200 ms slower under performance-first: time until traffic moves;
//   3. suspension under load: requests that reach the suspended region after the command returned;
//   4. outage of every EU region: what EU special, personal and public data get.
// Writes bench/results/failover-<date>.json and .md.
import { request } from 'undici';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DelayProxy } from './lib/delay-proxy.ts';
import { runLoad, type Sample } from './lib/load.ts';
import { startProcess, stop, waitReady, workDir, writeConfig } from './lib/processes.ts';
import { machine, writeResults } from './lib/results.ts';
import { createServer } from 'node:net';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const EU = ['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE', 'IS', 'LI', 'NO'];
const REGIONS: [string, string, string, Record<string, string[]>][] = [
  ['eu-frankfurt', 'EU', 'DE', { contract: ['SG'] }],
  ['eu-paris', 'EU', 'FR', { contract: ['SG'] }],
  ['uae-dubai', 'AE', 'AE', { scc: ['EU'], contract: ['SG'] }],
  ['sg-singapore', 'SG', 'SG', {}],
];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const chatBody = (content: string): string => JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content }] });
const BODIES = {
  public: chatBody('Summarise the benefits of rail travel in two sentences.'),
  personal: chatBody('Please reply to jane.doe@example.com with the summary.'),
  special: chatBody('My doctor says my diabetes needs a new treatment plan.'),
};
const EU_HEADERS = { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' };

interface Bed {
  dir: string;
  gateway: string;
  cellUrl: Record<string, string>;
  cellPort: Record<string, number>;
  cells: Map<string, ReturnType<typeof startProcess>>;
  config: string;
  proxies: DelayProxy[];
  startCell(id: string): Promise<number>;
  close(): Promise<void>;
}

/** Four cells and a gateway; `proxied` regions sit behind a delay proxy (their url is the proxy). */
async function bed(name: string, routing: Record<string, unknown>, proxied: string[] = []): Promise<Bed & { proxy: Record<string, DelayProxy> }> {
  const dir = workDir(name);
  const cellUrl: Record<string, string> = {};
  const cellPort: Record<string, number> = {};
  const regions = [];
  for (const [id, jurisdiction, country, transfers] of REGIONS) {
    const listen = await freePort();
    cellPort[id] = listen;
    const url = `http://127.0.0.1:${proxied.includes(id) ? await freePort() : listen}`;
    cellUrl[id] = url;
    regions.push({ id, jurisdiction, country, url, transfers });
  }
  const gwPort = await freePort();
  const config = writeConfig(dir, {
    dataDir: path.join(dir, 'data'),
    jurisdictions: { EU, AE: ['AE'], SG: ['SG'] },
    regions,
    routing: { preference: REGIONS.map((r) => r[0]), ...routing },
    // openOperatorViews: the benchmark reads /sovereign/regions without the admin token;
    // maxConnectionsPerClient 0: the open-loop load comes from one address.
    gateway: { host: '127.0.0.1', port: gwPort, probeIntervalMs: 1000, openOperatorViews: true, maxConnectionsPerClient: 0 },
  });
  const proxy: Record<string, DelayProxy> = {};
  for (const id of proxied) proxy[id] = await DelayProxy.listen(Number(new URL(cellUrl[id] as string).port), { host: '127.0.0.1', port: cellPort[id] as number });
  const cells = new Map<string, ReturnType<typeof startProcess>>();
  const startCell = async (id: string): Promise<number> => {
    cells.set(id, startProcess(dir, id, ['--config', config, 'cell', '--region', id, '--port', String(cellPort[id])]));
    return waitReady(`http://127.0.0.1:${cellPort[id]}`);
  };
  // Golden publishes the shipped model and promotes it to the cells (as `up` does).
  const golden = startProcess(dir, 'golden', ['--config', config, 'golden', '--port', String(await freePort())]);
  await Promise.all(REGIONS.map((r) => startCell(r[0])));
  const gw = startProcess(dir, 'gateway', ['--config', config, 'gateway']);
  const gateway = `http://127.0.0.1:${gwPort}`;
  await waitReady(gateway);
  return {
    dir,
    gateway,
    cellUrl,
    cellPort,
    cells,
    config,
    proxies: Object.values(proxy),
    proxy,
    startCell,
    async close() {
      await stop(gw);
      await Promise.all([...cells.values(), golden].map((c) => stop(c)));
      await Promise.all(Object.values(proxy).map((p) => p.close()));
    },
  };
}

async function regionsState(gateway: string): Promise<Record<string, boolean>> {
  const r = await request(`${gateway}/sovereign/regions`);
  const b = (await r.body.json()) as { regions: { region: string; healthy: boolean }[] };
  return Object.fromEntries(b.regions.map((x) => [x.region, x.healthy]));
}

/** Polls `cond` every 10 ms; resolves with the time it first held, or null after `ms`. */
async function whenTrue(cond: () => Promise<boolean>, ms: number): Promise<number | null> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return Date.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  return null;
}

const failed = (xs: Sample[]): number => xs.filter((s) => s.status !== 200).length;

// ---- 1. kill -9 of the serving EU cell under 200 req/s ----
async function killScenario(): Promise<Record<string, unknown>> {
  const b = await bed('failover-kill', { mode: 'legal-first' });
  try {
    let killedAt = 0;
    let ejectedAt: number | null = null;
    let backAt = 0;
    let readmittedAt: number | null = null;
    const load = runLoad({ url: b.gateway, path: '/v1/chat/completions', ratePerSec: RATE, durationMs: 12_000, headers: EU_HEADERS, body: BODIES.personal });
    await new Promise((r) => setTimeout(r, 3000));
    const victim = b.cells.get('eu-frankfurt');
    killedAt = Date.now();
    victim?.kill('SIGKILL');
    ejectedAt = await whenTrue(async () => (await regionsState(b.gateway))['eu-frankfurt'] === false, 5000);
    await new Promise((r) => setTimeout(r, 3000));
    await b.startCell('eu-frankfurt');
    backAt = Date.now();
    readmittedAt = await whenTrue(async () => (await regionsState(b.gateway))['eu-frankfurt'] === true, 8000);
    const samples = await load;
    const firstServedAgain = samples.find((s) => s.sentAt >= backAt && s.region === 'eu-frankfurt');
    const outside = samples.filter((s) => s.region !== null && !['eu-frankfurt', 'eu-paris', 'uae-dubai'].includes(s.region)).length;
    return {
      requests: samples.length,
      failedClientRequests: failed(samples),
      servedOutsidePermitted: outside,
      ejectedAfterMs: ejectedAt === null ? null : ejectedAt - killedAt,
      readmittedAfterMs: readmittedAt === null ? null : readmittedAt - backAt,
      trafficBackAfterMs: firstServedAgain ? firstServedAgain.sentAt - backAt : null,
      retriedRequests: samples.filter((s) => (s.attempts ?? '').includes(',')).length,
    };
  } finally {
    await b.close();
  }
}

// ---- 2. one EU cell 200 ms slower under performance-first ----
async function slowScenario(): Promise<Record<string, unknown>> {
  // Special-category EU data may only go to the two EU regions, so "the faster permitted region" is the other EU cell.
  const b = await bed('failover-slow', { mode: 'performance-first' }, ['eu-frankfurt', 'eu-paris']);
  try {
    // Warm up: let the EWMA settle, then see where traffic goes.
    await runLoad({ url: b.gateway, path: '/v1/chat/completions', ratePerSec: 50, durationMs: 3000, headers: EU_HEADERS, body: BODIES.special });
    const before = await runLoad({ url: b.gateway, path: '/v1/chat/completions', ratePerSec: RATE, durationMs: 2000, headers: EU_HEADERS, body: BODIES.special });
    const counts = (xs: Sample[]): Record<string, number> => xs.reduce<Record<string, number>>((m, s) => ((m[s.region ?? 'none'] = (m[s.region ?? 'none'] ?? 0) + 1), m), {});
    const c0 = counts(before);
    // Slow the region that took the last 50 answered requests (by completion, so a loaded
    // machine's queueing does not leave the window empty).
    const recent: Sample[] = [];
    let slowedAt = 0;
    const load = runLoad({
      url: b.gateway,
      path: '/v1/chat/completions',
      ratePerSec: RATE,
      durationMs: 8000,
      headers: EU_HEADERS,
      body: BODIES.special,
      onSample: (x) => {
        if (slowedAt === 0) recent.push(x);
      },
    });
    await new Promise((r) => setTimeout(r, 1000));
    const lately = counts(recent.slice(-50));
    const favoured = Object.entries(lately).sort((a, b2) => b2[1] - a[1])[0]?.[0] ?? 'eu-frankfurt';
    const other = favoured === 'eu-frankfurt' ? 'eu-paris' : 'eu-frankfurt';
    const p = b.proxy[favoured];
    if (p) p.delayMs = 200;
    slowedAt = Date.now();
    const samples = await load;
    // Traffic has moved once no request sent later goes to the slowed region any more:
    // the time of the last request sent there after the slowdown.
    const after = samples.filter((x) => x.sentAt >= slowedAt);
    const toSlowed = after.filter((x) => x.region === favoured);
    const movedAt = toSlowed.length === 0 ? slowedAt : (toSlowed[toSlowed.length - 1] as Sample).sentAt;
    const movedShare = after.length === 0 ? 0 : after.filter((x) => x.region === other).length / after.length;
    return {
      favouredBefore: favoured,
      countsBefore: c0,
      countsInLast50BeforeSlowdown: lately,
      countsAfterSlowdown: counts(after),
      movedAfterMs: movedAt - slowedAt,
      shareToFasterAfterSlowdown: Number(movedShare.toFixed(3)),
      failedClientRequests: failed(samples),
      servedOutsideEU: samples.filter((s) => s.region !== null && !['eu-frankfurt', 'eu-paris'].includes(s.region)).length,
    };
  } finally {
    await b.close();
  }
}

// ---- 3. suspension under load ----
async function suspendScenario(): Promise<Record<string, unknown>> {
  const b = await bed('failover-suspend', { mode: 'legal-first' });
  try {
    const token = readFileSync(path.join(b.dir, 'data/gateway/admin-token'), 'utf8').trim();
    const load = runLoad({ url: b.gateway, path: '/v1/chat/completions', ratePerSec: RATE, durationMs: 6000, headers: EU_HEADERS, body: BODIES.personal });
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    const res = await request(`${b.gateway}/sovereign/admin/regions/eu-frankfurt/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'Benchmark: court order', ref: 'BENCH-1', mode: 'cut' }),
    });
    await res.body.dump();
    const returnedAt = Date.now();
    const samples = await load;
    // What reached the region: its own ledger's decision entries (written before forwarding).
    const led = await request(`${b.cellUrl['eu-frankfurt']}/sovereign/ledger/eu-frankfurt/entries?from=0&to=100000`);
    const entries = ((await led.body.json()) as { entries: { entry: { kind: string; region?: string; time: string } }[] }).entries;
    const reachedAfter = entries.filter((e) => e.entry.kind === 'decision' && e.entry.region === 'eu-frankfurt' && Date.parse(e.entry.time) > returnedAt).length;
    return {
      suspendCallMs: returnedAt - t0,
      requests: samples.length,
      servedByRegionAfterReturn: samples.filter((s) => s.sentAt > returnedAt && s.region === 'eu-frankfurt').length,
      ledgerEntriesInRegionAfterReturn: reachedAfter,
      failedClientRequests: failed(samples),
    };
  } finally {
    await b.close();
  }
}

// ---- 4. outage of every EU region ----
async function outageScenario(): Promise<Record<string, unknown>> {
  const b = await bed('failover-outage', { mode: 'legal-first' });
  try {
    for (const id of ['eu-frankfurt', 'eu-paris']) b.cells.get(id)?.kill('SIGKILL');
    await whenTrue(async () => {
      const s = await regionsState(b.gateway);
      return s['eu-frankfurt'] === false && s['eu-paris'] === false;
    }, 5000);
    const out: Record<string, unknown> = {};
    for (const [cls, body] of Object.entries(BODIES)) {
      const samples = await runLoad({ url: b.gateway, path: '/v1/chat/completions', ratePerSec: 50, durationMs: 2000, headers: EU_HEADERS, body });
      const byStatus: Record<string, number> = {};
      const byRegion: Record<string, number> = {};
      for (const s of samples) {
        byStatus[String(s.status)] = (byStatus[String(s.status)] ?? 0) + 1;
        if (s.region) byRegion[s.region] = (byRegion[s.region] ?? 0) + 1;
      }
      out[cls] = { byStatus, byRegion };
    }
    return out;
  } finally {
    await b.close();
  }
}

const results = {
  benchmark: 'failover',
  date: new Date().toISOString(),
  machine: machine(),
  rate: RATE,
  kill: await killScenario(),
  slow: await slowScenario(),
  suspend: await suspendScenario(),
  outage: await outageScenario(),
};
const k = results.kill as Record<string, number | null>;
const s = results.slow as Record<string, number | null>;
const u = results.suspend as Record<string, number | null>;
const md = [
  `# bench:failover ${results.date}`,
  '',
  '| scenario | measured | target |',
  '|---|---|---|',
  `| kill -9 serving EU cell at ${RATE} req/s: failed client requests | ${k.failedClientRequests} of ${k.requests} | 0 |`,
  `| ... dead region ejected after | ${k.ejectedAfterMs} ms | ≤ 1000 ms |`,
  `| ... readmitted after the cell is back | ${k.readmittedAfterMs} ms (traffic back after ${k.trafficBackAfterMs} ms) | ≤ 2000 ms |`,
  `| ... served outside the permitted set | ${k.servedOutsidePermitted} | 0 |`,
  `| EU cell +200 ms under performance-first: traffic moved after | ${s.movedAfterMs} ms | ≤ 2000 ms |`,
  `| suspension under load: requests reaching the region after the command returned | ${u.servedByRegionAfterReturn} responses, ${u.ledgerEntriesInRegionAfterReturn} ledger entries (call took ${u.suspendCallMs} ms) | 0 |`,
  `| every EU region down: EU special / personal / public | ${JSON.stringify((results.outage).special)} / ${JSON.stringify((results.outage).personal)} / ${JSON.stringify((results.outage).public)} | 503 / uae-dubai only / anywhere |`,
  '',
].join('\n');
const files = writeResults('failover', results, md);
console.log(md);
console.log(`written: ${files.json}, ${files.md}`);
process.exit(0);
