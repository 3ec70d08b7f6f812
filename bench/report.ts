// Report benchmark: a compliance report, and its verification, over a large log served over
// HTTP by the cell's own ledger routes (the path the gateway proxies). A log of N decisions
// (SOVEREIGN_BENCH_REPORT_N, default 300,000) spread over 30 days, with triggers and denials;
// the report covers 10 of those days. Measures time and peak memory (RSS) of building the report
// and of verifying it, and counts the work: entries fetched and hashed, entries kept.
// Writes bench/results/report-<YYYY-MM-DD>.json and .md.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLedgerService, registerLedgerRoutes } from '../src/cell/ledger-service.ts';
import { DATA_CLASSES, createHttpServer, createLogger } from '../src/common/index.ts';
import { topologyFrom } from '../src/config/index.ts';
import { Mesh, spiffeId } from '../src/mesh/index.ts';
import { buildReport, verifyReport } from '../src/report/index.ts';

const N = Number(process.env.SOVEREIGN_BENCH_REPORT_N ?? 300_000);
const DAY = 86_400_000;
const BASE = Date.parse('2026-11-01T00:00:00Z');
const root = mkdtempSync(path.join(tmpdir(), 'report-bench-'));
const logger = createLogger('report-bench', {});
logger.level = 'warn';

const topology = topologyFrom({
  dataDir: root,
  jurisdictions: { EU: ['FR'], SG: ['SG'] },
  regions: [
    { id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'http://127.0.0.1:1', runtime: { kind: 'embedded' }, models: ['text-analysis'] },
    { id: 'sg-singapore', jurisdiction: 'SG', country: 'SG', url: 'http://127.0.0.1:2', runtime: { kind: 'embedded' }, models: ['text-analysis'] },
  ],
  routing: { mode: 'legal-first', preference: ['eu-paris', 'sg-singapore'] },
  // The report's work is measured, not the channel: the log is read over plain HTTP here.
  mesh: { mode: 'plaintext' },
});
const mesh = await Mesh.open(topology, spiffeId.cell(topology.data.mesh.trustDomain, 'eu-paris'), logger);
const svc = await openLedgerService(topology, 'eu-paris', path.join(root, 'eu-paris'), logger, mesh);
const app = createHttpServer({ bodyLimit: 1 << 20, logger });
registerLedgerRoutes(app, 'eu-paris', svc, () => null);
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

// The log: a model arrival, then N decisions evenly over 30 days; every 1000th a denial, every
// 20,000th a suspension or resumption.
const t0 = performance.now();
await svc.ledger.append({ v: 1, kind: 'model', time: new Date(BASE - 1000).toISOString(), event: 'arrival', name: 'text-analysis', digest: `sha256:${'c'.repeat(64)}`, region: 'eu-paris' });
const BATCH = 2000;
for (let i = 0; i < N; i += BATCH) {
  const batch: Promise<unknown>[] = [];
  for (let j = i; j < Math.min(N, i + BATCH); j++) {
    const time = new Date(BASE + Math.floor((j / N) * 30 * DAY)).toISOString();
    if (j % 20_000 === 19_999) {
      batch.push(svc.ledger.append({ v: 1, kind: 'trigger', time, action: (j / 20_000) % 2 < 1 ? 'suspend' : 'resume', region: 'sg-singapore', jurisdictions: ['EU'], reason: 'order', ref: `REF-${j}` }));
      continue;
    }
    const denied = j % 1000 === 0;
    batch.push(
      svc.ledger.append({
        v: 1, kind: 'decision', time, decision_id: `d-${j}`, request_hash: 'ab'.repeat(32), tenant: 'acme',
        jurisdictions: [{ jurisdiction: j % 7 === 0 ? 'SG' : 'EU', source: 'geoip', ...(j % 7 === 0 && !denied ? { mechanism: 'contract' } : {}) }],
        data_class: DATA_CLASSES[j % 4], detected_types: [], region: denied ? null : 'eu-paris',
        mode: 'legal-first', outcome: denied ? 'denied' : 'routed', attempts: [], policy_ids: denied ? ['third-country-nothing'] : ['home-jurisdiction'],
        model: 'text-analysis', model_digest: denied ? null : `sha256:${'c'.repeat(64)}`,
      }),
    );
  }
  await Promise.all(batch);
}
await svc.ledger.publish();
// Let the cell archive a checkpoint (it does after each anchoring round).
await new Promise((r) => setTimeout(r, 1500));
const fillSeconds = (performance.now() - t0) / 1000;

const period = { from: new Date(BASE + 10 * DAY).toISOString(), to: new Date(BASE + 20 * DAY).toISOString() };
const rss = (): number => process.memoryUsage().rss / 2 ** 20;
let peak = rss();
const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
const measure = async <T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; peakMiB: number }> => {
  global.gc?.();
  peak = rss();
  const s = performance.now();
  const value = await fn();
  peak = Math.max(peak, rss());
  return { value, seconds: (performance.now() - s) / 1000, peakMiB: peak };
};
const built = await measure(() => buildReport({ gateway: url, regions: ['eu-paris'], period }));
const region = built.value.regions[0];
const key = svc.ledger.verifierKey;
const verified = await measure(() => verifyReport(built.value, { keys: [key] }));
clearInterval(sampler);
if (!verified.value.ok) throw new Error(`the report does not verify: ${verified.value.problems.join('; ')}`);

const size = region?.checkpoint_end.size ?? 0;
const results = {
  date: new Date().toISOString(),
  node: process.version,
  note: 'one run on a shared 2-core machine (other developers working in parallel)',
  logEntries: size,
  periodEntries: region?.entries,
  figures: region?.figures.length,
  cited: region?.cited.length,
  fillSeconds: Math.round(fillSeconds * 10) / 10,
  build: { seconds: Math.round(built.seconds * 100) / 100, entriesPerSecond: Math.round(size / built.seconds), peakRssMiB: Math.round(built.peakMiB) },
  verify: { seconds: Math.round(verified.seconds * 100) / 100, entriesPerSecond: Math.round(size / verified.seconds), peakRssMiB: Math.round(verified.peakMiB) },
  reportBytes: JSON.stringify(built.value).length,
};
const day = new Date().toISOString().slice(0, 10);
const out = path.join(import.meta.dirname, 'results', `report-${day}`);
writeFileSync(`${out}.json`, `${JSON.stringify(results, null, 2)}\n`);
const md = `# Report benchmark, ${day}

${results.note}. \`npm run bench:report\` (N = ${N}).

| | value |
|---|---|
| log size (entries, served over HTTP by the cell's ledger routes) | ${size} |
| entries in the 10-day period | ${results.periodEntries} |
| figures / cited entries (each with an inclusion proof) | ${results.figures} / ${results.cited} |
| build: time | ${results.build.seconds} s (${results.build.entriesPerSecond} entries/s fetched, hashed, parsed) |
| build: peak RSS | ${results.build.peakRssMiB} MiB |
| verify: time | ${results.verify.seconds} s (${results.verify.entriesPerSecond} entries/s) |
| verify: peak RSS | ${results.verify.peakRssMiB} MiB |
| report JSON | ${Math.round(results.reportBytes / 1024)} KiB |
`;
writeFileSync(`${out}.md`, md);
process.stdout.write(md);
await app.close();
await svc.close();
mesh.close();
rmSync(root, { recursive: true, force: true });
