// npm run bench:scaling — how the gateway's CPU per request grows with prompt size (1 KiB to
// 1 MiB), number of regions (4 to 64) and number of Cedar policies (10 to 1,000). The
// gateway's per-request work (parse + schema, identify, classify, decide, decision entry and
// body digest) runs in this process on the real modules and is timed with process.cpuUsage();
// HTTP and the cell's ledger write are not in it (bench:gateway measures those end to end).
// Expected: flat in regions and policies (the policy table is compiled at load, so decide is a
// lookup), linear in prompt size (parsing and classifying are single passes).
// Writes bench/results/scaling-<date>.json and .md. Flags: --quick, --runs <n>, --cpu-ms <ms>.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClassifier } from '../src/classify/index.ts';
import { ChatRequestSchema } from '../src/common/index.ts';
import { EU_COUNTRIES_FOR_BENCH } from './lib/topology.ts';
import { topologyFrom } from '../src/config/index.ts';
import { PolicyEngine, DEFAULT_POLICY_PATH } from '../src/policy/index.ts';
import { Decider } from '../src/gateway/decide.ts';
import type { Decision } from '../src/gateway/decision.ts';
import { identify } from '../src/gateway/identify.ts';
import { bodyDigest, decisionEntry } from '../src/gateway/record.ts';
import { fmt, linearFit, median, today } from './lib/stats.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values: flags } = parseArgs({ options: { quick: { type: 'boolean' }, runs: { type: 'string' }, 'cpu-ms': { type: 'string' }, help: { type: 'boolean' } }, strict: true });
if (flags.help) {
  console.log('npm run bench:scaling -- [--quick] [--runs <n> (default 5)] [--cpu-ms <CPU ms per measurement> (default 300)]');
  process.exit(0);
}
const RUNS = Number(flags.runs ?? (flags.quick ? 3 : 5));
const CPU_MS = Number(flags['cpu-ms'] ?? (flags.quick ? 100 : 300));
if (!(RUNS >= 1 && RUNS <= 50) || !(CPU_MS >= 10 && CPU_MS <= 10_000)) throw new Error('--runs: 1-50; --cpu-ms: 10-10000');

const PARAGRAPH =
  'The routing service moved to a new connection pool, which cut median latency across the European regions by a fifth. ' +
  'The model registry now verifies content digests before every load, and the rollout tooling waits for health probes. ' +
  'Storage for audit logs grew by twelve percent this quarter, mostly from longer retention of operational records.\n';

function chatBody(bytes: number): Buffer {
  const base = { model: 'bench-model', messages: [{ role: 'system', content: 'You are a concise assistant.' }, { role: 'user', content: '' }] };
  const room = bytes - Buffer.byteLength(JSON.stringify(base));
  const text = PARAGRAPH.repeat(Math.ceil(Math.max(1, room) / PARAGRAPH.length)).slice(0, Math.max(1, room));
  (base.messages[1] as { content: string }).content = text;
  return Buffer.from(JSON.stringify(base));
}

/** Extra policies of the kind the issue describes, numbered from `from`. */
function fillerPolicies(from: number, count: number): string {
  let out = '';
  for (let n = from; n < from + count; n++) {
    out +=
      `@id("p${n}")\n@rationale("Generated benchmark rule ${n}: EU data up to class rank ${n % 4} may be processed in any region.")\n` +
      `@legal_ref("Benchmark filler ${n}, not legal advice")\n` +
      `permit (principal == Jurisdiction::"EU", action == Action::"process", resource)\nwhen { context.classRank <= ${n % 4} };\n\n`;
  }
  return out;
}

interface Setup { close(): Promise<void>; step(body: Buffer): void; loadMs: number }

async function setup(regionCount: number, policyCount: number, dir: string): Promise<Setup> {
  const jur: [string, string][] = [['EU', 'DE'], ['AE', 'AE'], ['SG', 'SG'], ['EU', 'FR']];
  const regions = Array.from({ length: regionCount }, (_, i) => {
    const [jurisdiction, country] = jur[i % jur.length] as [string, string];
    const transfers = jurisdiction === 'EU' ? { contract: ['SG'] } : jurisdiction === 'AE' ? { scc: ['EU'], contract: ['SG'] } : {};
    return { id: `r${i}-${jurisdiction.toLowerCase()}`, jurisdiction, country, url: `http://127.0.0.1:${20000 + i}`, runtime: { kind: 'upstream', url: 'http://127.0.0.1:9/', protocol: 'openai' }, models: ['bench-model'], transfers };
  });
  const base = readFileSync(DEFAULT_POLICY_PATH, 'utf8');
  const baseCount = (base.match(/^@id\(/gm) ?? []).length;
  if (policyCount < baseCount) throw new Error(`policy count ${policyCount} is below the ${baseCount} policies of ${DEFAULT_POLICY_PATH}`);
  const file = path.join(dir, `policies-${regionCount}-${policyCount}.cedar`);
  writeFileSync(file, base + '\n' + fillerPolicies(1, policyCount - baseCount));
  const topology = topologyFrom({
    dataDir: path.join(dir, 'data'),
    jurisdictions: { EU: EU_COUNTRIES_FOR_BENCH, AE: ['AE'], SG: ['SG'] },
    regions,
    tenants: [],
    routing: { mode: 'legal-first', preference: regions.map((r) => r.id) },
    policy: { file },
  }, path.join(dir, 'sovereign.yaml'));
  const policy = new PolicyEngine(topology);
  const t0 = performance.now();
  const loaded = policy.loadFile();
  const loadMs = performance.now() - t0;
  if (!loaded.ok) throw loaded.error;
  // Every region healthy, equal latency, idle: the gateway's live health lookup, held still.
  const stats = { healthy: true, latencyMs: 1, inflight: 0 };
  const decider = new Decider(topology, policy, (id) => (topology.region(id) ? stats : undefined));
  const classifier = createClassifier();
  const headers = { 'x-sovereign-jurisdiction': 'DE', 'content-type': 'application/json' };
  // The gateway's per-request work, in its order (src/gateway/server.ts).
  const step = (raw: Buffer): void => {
    const body = JSON.parse(raw.toString('utf8')) as unknown;
    const parsed = ChatRequestSchema.safeParse(body);
    if (!parsed.success) throw new Error('benchmark body does not validate');
    const jurisdictions = identify(topology, undefined, headers, null);
    const cls = classifier.classifyRequest(body);
    const decided = decider.decide({ jurisdictions, dataClass: cls.class, tenant: null, model: parsed.data.model });
    const region = decided.candidates[0] ?? null;
    if (!region) throw new Error(`no candidate region (permitted: ${decided.permitted.join(', ') || 'none'}; ${decided.rationale.join('; ')})`);
    const d: Decision = {
      id: '00000000-0000-4000-8000-000000000000', tenant: null, jurisdictions, dataClass: cls.class, detectedTypes: Object.keys(cls.counts).sort(),
      mode: decided.route.mode, model: parsed.data.model, permitted: decided.permitted, candidates: decided.candidates, rationale: decided.rationale, clientAddress: '127.0.0.1', subject: null, retentionDays: 30,
    };
    JSON.stringify(decisionEntry(d, 'routed', region, decided.policiesFor(region)));
    bodyDigest(raw);
  };
  return { step, loadMs, close: async () => undefined };
}

/** Median CPU microseconds (user + system) per call of `fn`, over RUNS runs of >= CPU_MS each. */
function cpuPerCall(fn: () => void): number {
  // Warm-up (JIT, caches): at least 20 calls and a third of a measurement's CPU time.
  const w0 = process.cpuUsage();
  for (let i = 0, used = 0; i < 100_000 && (i < 20 || used < (CPU_MS * 1000) / 3); i++) {
    fn();
    const c = process.cpuUsage(w0);
    used = c.user + c.system;
  }
  const per: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const c0 = process.cpuUsage();
    let n = 0, used = 0;
    for (; n < 1_000_000 && used < CPU_MS * 1000; n++) {
      fn();
      if ((n & 7) === 7 || n < 8) {
        const c = process.cpuUsage(c0);
        used = c.user + c.system;
      }
    }
    const c = process.cpuUsage(c0);
    per.push((c.user + c.system) / n);
  }
  return median(per);
}

interface Point { x: number; cpuUs: number; loadMs?: number }

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-bench-scaling-'));
  const started = Date.now();
  try {
    const defaultPolicies = Math.max(10, (readFileSync(DEFAULT_POLICY_PATH, 'utf8').match(/^@id\(/gm) ?? []).length);
    const kib1 = chatBody(1024);

    console.log(`scaling benchmark: CPU per request (median of ${RUNS} runs of >= ${CPU_MS} ms CPU)`);
    const prompt: Point[] = [];
    {
      const s = await setup(4, defaultPolicies, dir);
      for (const kib of [1, 4, 16, 64, 256, 1024]) {
        const body = chatBody(kib * 1024);
        const cpuUs = cpuPerCall(() => s.step(body));
        prompt.push({ x: kib, cpuUs });
        console.log(`  prompt ${String(kib).padStart(5)} KiB  ${fmt(cpuUs, 1).padStart(10)} µs/request  (${fmt(cpuUs / kib, 2)} µs/KiB)`);
      }
      await s.close();
    }
    const regions: Point[] = [];
    for (const n of [4, 8, 16, 32, 64]) {
      const s = await setup(n, defaultPolicies, dir);
      const cpuUs = cpuPerCall(() => s.step(kib1));
      regions.push({ x: n, cpuUs, loadMs: s.loadMs });
      console.log(`  regions ${String(n).padStart(4)}     ${fmt(cpuUs, 1).padStart(10)} µs/request  (policy table compiled in ${fmt(s.loadMs, 0)} ms)`);
      await s.close();
    }
    const policies: Point[] = [];
    for (const n of [defaultPolicies, 100, 300, 1000]) {
      const s = await setup(4, n, dir);
      const cpuUs = cpuPerCall(() => s.step(kib1));
      policies.push({ x: n, cpuUs, loadMs: s.loadMs });
      console.log(`  policies ${String(n).padStart(4)}    ${fmt(cpuUs, 1).padStart(10)} µs/request  (policy table compiled in ${fmt(s.loadMs, 0)} ms)`);
      await s.close();
    }

    const spread = (ps: Point[]): number => Math.max(...ps.map((p) => p.cpuUs)) / Math.min(...ps.map((p) => p.cpuUs));
    const fit = linearFit(prompt.map((p) => p.x), prompt.map((p) => p.cpuUs));
    const big = prompt.filter((p) => p.x >= 16).map((p) => p.cpuUs / p.x);
    const perKiBSpread = Math.max(...big) / Math.min(...big);
    const checks = [
      { check: 'flat in regions (4 -> 64): max/min CPU per request <= 1.5', value: spread(regions), pass: spread(regions) <= 1.5 },
      { check: `flat in policies (${defaultPolicies} -> 1000): max/min CPU per request <= 1.5`, value: spread(policies), pass: spread(policies) <= 1.5 },
      { check: 'linear in prompt size: least-squares R² >= 0.98', value: fit.r2, pass: fit.r2 >= 0.98 },
      { check: 'linear in prompt size: µs/KiB from 16 KiB to 1 MiB varies <= 2x', value: perKiBSpread, pass: perKiBSpread <= 2 },
    ];
    const date = today();
    const result = {
      date: new Date().toISOString(), node: process.version, runs: RUNS, cpuMsPerMeasurement: CPU_MS, seconds: (Date.now() - started) / 1000,
      measured: 'process.cpuUsage() (user + system) per call of the gateway per-request path in-process: JSON.parse, chat schema, identify, classify, decide, decision entry, body SHA-256',
      promptKiB: prompt, regions, policies, promptFit: { interceptUs: fit.intercept, usPerKiB: fit.slope, r2: fit.r2 }, checks,
    };
    const out = path.join(ROOT, 'bench/results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, `scaling-${date}.json`), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      `# Scaling benchmark ${date}`, '',
      `CPU time (user + system, process.cpuUsage) per request of the gateway's per-request path, run in-process: ${result.measured.split(': ')[1]}. Median of ${RUNS} runs of at least ${CPU_MS} ms CPU each. Node ${process.version}. Without HTTP and the cell's durable ledger write (see bench:gateway).`, '',
      '| prompt KiB | µs/request | µs/KiB |', '|---:|---:|---:|', ...prompt.map((p) => `| ${p.x} | ${fmt(p.cpuUs, 1)} | ${fmt(p.cpuUs / p.x, 2)} |`), '',
      `Linear fit: ${fmt(fit.intercept, 1)} µs + ${fmt(fit.slope, 2)} µs/KiB, R² ${fmt(fit.r2, 4)}.`, '',
      '| regions | µs/request (1 KiB) | policy table compile ms |', '|---:|---:|---:|', ...regions.map((p) => `| ${p.x} | ${fmt(p.cpuUs, 1)} | ${fmt(p.loadMs, 0)} |`), '',
      '| policies | µs/request (1 KiB) | policy table compile ms |', '|---:|---:|---:|', ...policies.map((p) => `| ${p.x} | ${fmt(p.cpuUs, 1)} | ${fmt(p.loadMs, 0)} |`), '',
      '| check | value | result |', '|---|---:|---|', ...checks.map((c) => `| ${c.check} | ${fmt(c.value, 3)} | ${c.pass ? 'pass' : '**MISS**'} |`), '',
    ].join('\n');
    writeFileSync(path.join(out, `scaling-${date}.md`), md);
    console.log(`\n${md}\nwritten to bench/results/scaling-${date}.json and .md in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:scaling failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
