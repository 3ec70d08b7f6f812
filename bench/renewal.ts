// npm run bench:renewal — renewal under load: Sovereign's full path (gateway -> region cell ->
// upstream, all over mTLS) at a fixed rate while every process renews its X.509-SVID at half
// of a short lifetime. Counts failed requests (target: 0) and the renewals each process made.
// Writes bench/results/renewal-<date>.json. Flags: --rate (200), --seconds (180), --ttl (60).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ProcessGroup } from './lib/procs.ts';
import { today } from './lib/stats.ts';
import type { LoadResult, LoadSpec } from './gateway/loadgen.ts';
import { ROOT, startNginxUpstream, startTarget } from './gateway/targets.ts';

const { values: flags } = parseArgs({ options: { rate: { type: 'string' }, seconds: { type: 'string' }, ttl: { type: 'string' }, keep: { type: 'boolean' } }, strict: true });
const rate = Number(flags.rate ?? process.env.BENCH_RATE ?? 200);
const seconds = Number(flags.seconds ?? process.env.BENCH_SECONDS ?? 180);
const ttl = Number(flags.ttl ?? process.env.BENCH_TTL ?? 60);
for (const [k, v] of Object.entries({ rate, seconds, ttl })) if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k}: expected a positive number, got ${v}`);

const group = new ProcessGroup();
group.installSignalHandlers(() => undefined);

const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'Summarise the release notes of the routing service in one line.' }], max_tokens: 64 });

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-bench-renewal-'));
  const startedAt = new Date().toISOString();
  try {
    const up = await startNginxUpstream(group, dir, 1);
    const t = await startTarget('sovereign', { group, dir, upstream: up.origin, workers: 1, mesh: 'mtls', svidTtlSeconds: ttl });
    console.log(`renewal under load: ${rate} req/s for ${seconds} s through ${t.url}, SVID lifetime ${ttl} s (renewed every ${ttl / 2} s)`);
    const bodyFile = path.join(dir, 'body.json');
    writeFileSync(bodyFile, body);
    const spec: LoadSpec = { url: t.url, rate, durationMs: seconds * 1000, warmupMs: 0, bodyFile, headers: { 'x-sovereign-jurisdiction': 'DE' }, mode: 'latency', connections: 256, maxInflight: 5000 };
    const lg = group.start('loadgen', process.execPath, [path.join(ROOT, 'bench/gateway/loadgen.ts'), JSON.stringify(spec)]);
    await new Promise<void>((r) => lg.proc.once('exit', () => r()));
    const line = lg.output().trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (!line) throw new Error(`loadgen printed no result:\n${lg.output().slice(-2000)}`);
    const load = JSON.parse(line) as LoadResult;
    // Renewals: each process logs "SVID issued" at start and at every renewal.
    const logDir = readdirSync(dir).map((d) => path.join(dir, d, 'data', 'logs')).find((d) => { try { return readdirSync(d).length > 0; } catch { return false; } });
    const renewals: Record<string, number> = {};
    for (const f of logDir ? readdirSync(logDir) : []) renewals[f.replace(/\.log$/, '')] = readFileSync(path.join(logDir as string, f), 'utf8').split('\n').filter((l) => l.includes('"msg":"SVID issued"')).length - 1;
    for (const p of t.procs) await group.stop(p);
    await group.stop(up.proc);
    const failed = load.errors + load.non2xx + load.dropped;
    const result = {
      date: today(), startedAt, finishedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavg: loadavg().map((l) => l.toFixed(2)).join(' '),
      rate, seconds, svidTtlSeconds: ttl, sent: load.sent, ok: load.ok, failed, errors: load.errors, non2xx: load.non2xx, dropped: load.dropped, firstError: load.firstError ?? null,
      achievedRate: load.achievedRate, p50: load.p50, p99: load.p99, max: load.max, renewals,
      target: { failed: 0, pass: failed === 0 },
    };
    const out = path.join(ROOT, 'bench/results');
    mkdirSync(out, { recursive: true });
    const file = path.join(out, `renewal-${result.date}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`${load.sent} requests, ${failed} failed (target 0: ${failed === 0 ? 'pass' : 'MISS'}), p50 ${load.p50.toFixed(2)} ms, p99 ${load.p99.toFixed(2)} ms; renewals per process: ${Object.entries(renewals).map(([k, v]) => `${k} ${v}`).join(', ')}\nwritten to ${file}`);
  } finally {
    await group.stopAll();
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  console.error(`bench:renewal failed: ${(err as Error).stack ?? String(err)}`);
  await group.stopAll();
  process.exit(1);
});
