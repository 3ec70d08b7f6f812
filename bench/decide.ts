// `npm run bench:decide`: the gateway's hot path before forwarding — identify (client address,
// geo-IP, tenant, declared header), classify (4 KiB chat request) and decide (decision table
// + routing order) — per request, in microseconds; classification throughput on prose; and the
// table lookup's cost as the number of policies grows (it must not).
// Targets (issue): p50 <= 50 µs, p99 <= 200 µs, prose >= 50 MB/s, lookup constant in rules.
import { topologyFrom, loadTopology } from '../src/config/index.ts';
import { createClientAddressResolver } from '../src/geo/index.ts';
import { openOfflineDecider, decideRequest } from '../src/gateway/index.ts';
import { DATA_CLASSES, compilePolicies } from '../src/policy/index.ts';
import { machine, writeResults } from './lib/results.ts';
import { median, percentileSorted as percentile } from './lib/stats.ts';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);

const PARAGRAPH =
  'The committee reviewed the quarterly infrastructure report on Tuesday. Latency across the European regions ' +
  'improved after the routing change, while the Singapore cell saw a brief increase in queue depth during the ' +
  'model rollout. Engineers recommended raising the autoscaling threshold and scheduling a game day.\n';

function chatBody(bytes: number): { model: string; messages: { role: string; content: string }[] } {
  let notes = 'Please summarise these notes for jane.doe@example.com:\n';
  while (notes.length < bytes - 150) notes += PARAGRAPH;
  return { model: 'text-analysis', messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: notes.slice(0, bytes - 150) }] };
}

function stats(samples: Float64Array): { p50: number; p99: number; mean: number } {
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const x of s) sum += x;
  return { p50: percentile(s, 50), p99: percentile(s, 99), mean: sum / s.length };
}

const topology = loadTopology();
const offline = await openOfflineDecider(topology);
const resolve = createClientAddressResolver(['10.0.0.0/8']);
const body = chatBody(4096);
const bodyBytes = Buffer.byteLength(JSON.stringify(body));
const headers = { 'x-forwarded-for': '193.99.144.80, 10.1.2.3', 'x-sovereign-jurisdiction': 'DE' };

// 1. identify + classify + decide, per request.
const one = (): void => {
  const client = resolve('10.0.0.1', headers['x-forwarded-for']);
  decideRequest(offline.deps, { tenant: undefined, headers, client, body, model: 'text-analysis' });
};
for (let i = 0; i < 2000; i++) one();
const samples = new Float64Array(ITERATIONS);
for (let i = 0; i < ITERATIONS; i++) {
  const t0 = process.hrtime.bigint();
  one();
  samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
}
const path = stats(samples);

// 2. classification throughput on prose (1 MiB).
let prose = '';
while (prose.length < 1 << 20) prose += PARAGRAPH;
const classifier = offline.deps.classifier;
const runs: number[] = [];
for (let r = 0; r < 7; r++) {
  const t0 = process.hrtime.bigint();
  classifier.classifyText(prose);
  runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
const proseMBs = prose.length / 1e6 / median(runs);

// 3. table lookup vs number of policies.
function policySet(n: number): string {
  const header = '// generated for bench:decide\n';
  const out = [header];
  for (let i = 0; i < n; i++) {
    out.push(`@id("rule-${i}")\n@rationale("generated rule ${i}")\n@legal_ref("bench")\npermit (principal == Jurisdiction::"${['EU', 'AE', 'SG'][i % 3]}", action == Action::"process", resource) when { context.classRank <= ${i % 4} && resource.jurisdiction == principal };\n`);
  }
  return out.join('\n');
}
const lookup: { policies: number; compileMs: number; p50ns: number }[] = [];
for (const n of [10, 100, 400]) {
  const t0 = performance.now();
  const table = compilePolicies(topologyFrom(topology.data), policySet(n));
  const compileMs = performance.now() - t0;
  const keys = [['EU'], ['AE'], ['SG'], ['EU', 'SG'], ['unknown']] as const;
  const cls = DATA_CLASSES;
  const ls = new Float64Array(50_000);
  for (let i = 0; i < ls.length; i++) {
    const k = keys[i % keys.length] as readonly string[];
    const c = cls[i % 4] as (typeof cls)[number];
    const t = process.hrtime.bigint();
    table.permitted(k, c);
    ls[i] = Number(process.hrtime.bigint() - t);
  }
  lookup.push({ policies: n, compileMs: Math.round(compileMs), p50ns: percentile(Float64Array.from(ls).sort(), 50) });
}
offline.close();

const result = {
  benchmark: 'decide',
  date: new Date().toISOString(),
  machine: machine(),
  request: { bytes: bodyBytes, iterations: ITERATIONS },
  identifyClassifyDecideMicros: { p50: +path.p50.toFixed(2), p99: +path.p99.toFixed(2), mean: +path.mean.toFixed(2) },
  classifyProseMBps: +proseMBs.toFixed(1),
  tableLookupByPolicies: lookup,
  targets: { p50: 50, p99: 200, proseMBps: 50 },
  met: { p50: path.p50 <= 50, p99: path.p99 <= 200, prose: proseMBs >= 50 },
};
const md = [
  `# bench:decide ${result.date}`,
  '',
  '| measure | result | target |',
  '|---|---|---|',
  `| identify+classify+decide, ${bodyBytes} B chat request, p50 | ${path.p50.toFixed(1)} µs | ≤ 50 µs |`,
  `| same, p99 | ${path.p99.toFixed(1)} µs | ≤ 200 µs |`,
  `| classification of prose | ${proseMBs.toFixed(1)} MB/s | ≥ 50 MB/s |`,
  ...lookup.map((l) => `| permitted-set lookup, ${l.policies} policies (compiled in ${l.compileMs} ms) | ${l.p50ns} ns p50 | constant |`),
  '',
].join('\n');
const files = writeResults('decide', result, md);
console.log(md);
console.log(`written: ${files.json}, ${files.md}`);
