// The cost of mutual TLS on Sovereign's full path: the same Sovereign (gateway -> region cell
// -> upstream) started twice, once with mesh.mode mtls and once plaintext, measured in
// interleaved rounds: CPU per request of the gateway process (and of the cells) from
// /proc/<pid>/stat, added latency at a fixed rate, and CPU per request at full load (wrk).
import { median } from '../lib/stats.ts';
import { cpuMs, pidsWith, type ProcessGroup } from '../lib/procs.ts';
import type { LoadResult, LoadSpec } from './loadgen.ts';
import { startNginxUpstream, startTarget, type Target } from './targets.ts';

export interface WrkLike {
  rps: number;
  requests: number;
  valid: boolean;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export interface MeshPairDeps {
  group: ProcessGroup;
  dir: string;
  workers: number;
  /** wrk run per system before it is measured. */
  warmupSeconds: number;
  rounds: number;
  rate: number;
  rateSeconds: number;
  throughputSeconds: number;
  files: { body: string; headers: string };
  headers: Record<string, string>;
  wrk: (url: string, seconds: number, files: { body: string; headers: string }) => Promise<WrkLike>;
  loadgen: (spec: Omit<LoadSpec, 'connections' | 'maxInflight' | 'warmupMs'>) => Promise<LoadResult>;
  log: (s: string) => void;
  interrupted: () => boolean;
}

type Mode = 'mtls' | 'plaintext';

interface Sample {
  /** CPU ms of the gateway process per request. */
  gatewayCpuMsPerReq: number;
  /** CPU ms of all four cells per request. */
  cellsCpuMsPerReq: number;
  requests: number;
}

interface RoundResult {
  rate: Sample & { p50: number; p99: number; errors: number };
  full: Sample & { rps: number; valid: boolean };
}

export interface MeshPairResult {
  rounds: Record<Mode, RoundResult[]>;
  summary: Record<Mode, { rateGatewayCpuUsPerReq: number; rateCellsCpuUsPerReq: number; p50: number; p99: number; fullGatewayCpuUsPerReq: number; fullCellsCpuUsPerReq: number; rps: number }>;
  /** mtls / plaintext, per round then median. */
  ratios: { rateGatewayCpu: number; fullGatewayCpu: number; rateCellsCpu: number; fullCellsCpu: number; rps: number };
  addedP50Ms: number;
  addedP99Ms: number;
}

/** The gateway and cell pids of a Sovereign started with `up` on `configFile`. */
function pidsOf(configFile: string): { gateway: number; cells: number[] } {
  const gateway = pidsWith(configFile, 'gateway')[0] ?? 0;
  const cells = pidsWith(configFile, 'cell');
  if (!gateway || cells.length === 0) throw new Error(`cannot find the processes of the Sovereign on ${configFile}`);
  return { gateway, cells };
}

async function measured<T extends { requests: number }>(pids: { gateway: number; cells: number[] }, run: () => Promise<T>): Promise<T & Sample> {
  const g0 = cpuMs(pids.gateway);
  const c0 = pids.cells.reduce((a, p) => a + cpuMs(p), 0);
  const r = await run();
  const g = cpuMs(pids.gateway) - g0;
  const c = pids.cells.reduce((a, p) => a + cpuMs(p), 0) - c0;
  const n = Math.max(1, r.requests);
  return { ...r, gatewayCpuMsPerReq: g / n, cellsCpuMsPerReq: c / n };
}

function med(xs: number[]): number {
  const v = xs.filter(Number.isFinite);
  return v.length ? median(v) : Number.NaN;
}

export async function phaseMeshPair(d: MeshPairDeps): Promise<MeshPairResult> {
  d.log('\nphase: mTLS vs plaintext on Sovereign\'s full path (same topology, interleaved rounds)');
  const up = await startNginxUpstream(d.group, d.dir, d.workers);
  const targets: Record<Mode, Target> = {
    mtls: await startTarget('sovereign', { group: d.group, dir: d.dir, upstream: up.origin, workers: d.workers, mesh: 'mtls' }),
    plaintext: await startTarget('sovereign', { group: d.group, dir: d.dir, upstream: up.origin, workers: d.workers, mesh: 'plaintext' }),
  };
  const configOf = (t: Target): string => {
    const args = t.procs[0]?.proc.spawnargs ?? [];
    return args[args.indexOf('--config') + 1] ?? '';
  };
  const pids = { mtls: pidsOf(configOf(targets.mtls)), plaintext: pidsOf(configOf(targets.plaintext)) };
  const rounds: Record<Mode, RoundResult[]> = { mtls: [], plaintext: [] };
  try {
    for (const m of ['mtls', 'plaintext'] as const) await d.wrk(targets[m].url, d.warmupSeconds, d.files); // warm-up
    for (let r = 1; r <= d.rounds && !d.interrupted(); r++) {
      for (const m of ['mtls', 'plaintext'] as const) {
        const l = await measured(pids[m], async () => {
          const x = await d.loadgen({ url: targets[m].url, rate: d.rate, durationMs: d.rateSeconds * 1000, bodyFile: d.files.body, headers: d.headers, mode: 'latency' });
          return { ...x, requests: x.sent };
        });
        const w = await measured(pids[m], () => d.wrk(targets[m].url, d.throughputSeconds, d.files));
        rounds[m].push({
          rate: { gatewayCpuMsPerReq: l.gatewayCpuMsPerReq, cellsCpuMsPerReq: l.cellsCpuMsPerReq, requests: l.requests, p50: l.p50, p99: l.p99, errors: l.errors + l.non2xx + l.dropped },
          full: { gatewayCpuMsPerReq: w.gatewayCpuMsPerReq, cellsCpuMsPerReq: w.cellsCpuMsPerReq, requests: w.requests, rps: w.rps, valid: w.valid },
        });
        d.log(
          `  round ${r}/${d.rounds} ${m.padEnd(9)} @${d.rate}/s: gateway ${(l.gatewayCpuMsPerReq * 1000).toFixed(0)} µs CPU/req, p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms` +
            ` | full load: ${w.rps.toFixed(0)} req/s, gateway ${(w.gatewayCpuMsPerReq * 1000).toFixed(0)} µs CPU/req, cells ${(w.cellsCpuMsPerReq * 1000).toFixed(0)} µs${l.errors + l.non2xx + l.dropped > 0 ? `  (${l.errors + l.non2xx + l.dropped} failed)` : ''}`,
        );
      }
    }
  } finally {
    for (const m of ['mtls', 'plaintext'] as const) for (const p of targets[m].procs) await d.group.stop(p);
    await d.group.stop(up.proc);
  }
  const sum = (m: Mode): MeshPairResult['summary'][Mode] => ({
    rateGatewayCpuUsPerReq: med(rounds[m].map((x) => x.rate.gatewayCpuMsPerReq * 1000)),
    rateCellsCpuUsPerReq: med(rounds[m].map((x) => x.rate.cellsCpuMsPerReq * 1000)),
    p50: med(rounds[m].map((x) => x.rate.p50)),
    p99: med(rounds[m].map((x) => x.rate.p99)),
    fullGatewayCpuUsPerReq: med(rounds[m].map((x) => x.full.gatewayCpuMsPerReq * 1000)),
    fullCellsCpuUsPerReq: med(rounds[m].map((x) => x.full.cellsCpuMsPerReq * 1000)),
    rps: med(rounds[m].map((x) => x.full.rps)),
  });
  const perRound = (f: (a: RoundResult, b: RoundResult) => number): number =>
    med(rounds.mtls.map((a, i) => (rounds.plaintext[i] ? f(a, rounds.plaintext[i]) : Number.NaN)));
  return {
    rounds,
    summary: { mtls: sum('mtls'), plaintext: sum('plaintext') },
    ratios: {
      rateGatewayCpu: perRound((a, b) => a.rate.gatewayCpuMsPerReq / b.rate.gatewayCpuMsPerReq),
      fullGatewayCpu: perRound((a, b) => a.full.gatewayCpuMsPerReq / b.full.gatewayCpuMsPerReq),
      rateCellsCpu: perRound((a, b) => a.rate.cellsCpuMsPerReq / b.rate.cellsCpuMsPerReq),
      fullCellsCpu: perRound((a, b) => a.full.cellsCpuMsPerReq / b.full.cellsCpuMsPerReq),
      rps: perRound((a, b) => a.full.rps / b.full.rps),
    },
    addedP50Ms: perRound((a, b) => a.rate.p50 - b.rate.p50),
    addedP99Ms: perRound((a, b) => a.rate.p99 - b.rate.p99),
  };
}

export function meshPairMarkdown(r: MeshPairResult, rate: number): string {
  const s = r.summary;
  const pct = (x: number): string => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)}%`;
  return [
    '## mTLS vs plaintext (Sovereign\'s full path, gateway -> cell -> upstream)',
    '',
    '| mode | gateway CPU/req @' + rate + '/s | cells CPU/req @' + rate + '/s | p50 ms | p99 ms | max req/s | gateway CPU/req at full load | cells CPU/req at full load |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...(['mtls', 'plaintext'] as const).map(
      (m) => `| ${m} | ${s[m].rateGatewayCpuUsPerReq.toFixed(0)} µs | ${s[m].rateCellsCpuUsPerReq.toFixed(0)} µs | ${s[m].p50.toFixed(3)} | ${s[m].p99.toFixed(3)} | ${s[m].rps.toFixed(0)} | ${s[m].fullGatewayCpuUsPerReq.toFixed(0)} µs | ${s[m].fullCellsCpuUsPerReq.toFixed(0)} µs |`,
    ),
    '',
    `mTLS vs plaintext (per-round ratios, median): gateway CPU/request ${pct(r.ratios.rateGatewayCpu)} at ${rate} req/s (target <= +10%: ${r.ratios.rateGatewayCpu <= 1.1 ? 'pass' : '**MISS**'}), ` +
      `${pct(r.ratios.fullGatewayCpu)} at full load (target <= +10%: ${r.ratios.fullGatewayCpu <= 1.1 ? 'pass' : '**MISS**'}); cells CPU/request ${pct(r.ratios.rateCellsCpu)} / ${pct(r.ratios.fullCellsCpu)}; ` +
      `max throughput x${r.ratios.rps.toFixed(3)}; added latency p50 ${r.addedP50Ms.toFixed(3)} ms, p99 ${r.addedP99Ms.toFixed(3)} ms.`,
    '',
  ].join('\n');
}
