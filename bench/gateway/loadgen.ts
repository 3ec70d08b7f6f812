// The open-loop load generator (bench/lib/load.ts) as its own process, for bench:gateway. Each
// latency is measured from the moment the request was due, not from when it was sent, so a
// stalled target cannot hide its queueing (no coordinated omission). Mode "latency": time to
// the full response; mode "ttfb": time to the first byte of the response body (for SSE: the
// first event).
// Usage: node bench/gateway/loadgen.ts '<json LoadSpec>'  -> prints one JSON LoadResult line.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { openLoop } from '../lib/load.ts';
import { percentileSorted } from '../lib/stats.ts';
import { summarize, timedSample, type TimedSample, type TimingSummary } from './timing.ts';

export interface LoadSpec {
  url: string;
  rate: number;
  durationMs: number;
  /** Requests due in the first warmupMs are sent but not counted. */
  warmupMs: number;
  bodyFile: string;
  headers: Record<string, string>;
  mode: 'latency' | 'ttfb';
  connections: number;
  /** Requests in flight above this are not sent (counted as dropped). */
  maxInflight: number;
  /** Client certificate, key and CA bundle (PEM files) for an https target that takes mTLS peers only. */
  tls?: { cert: string; key: string; ca: string };
}

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  non2xx: number;
  dropped: number;
  counted: number;
  achievedRate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  firstError?: string;
  /** Where the latency went, from Sovereign's Server-Timing header (absent for other targets). */
  timing?: TimingSummary;
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const body = readFileSync(spec.bodyFile);
  const headers = { 'content-type': 'application/json', ...spec.headers };
  const tls = spec.tls ? { connect: { cert: readFileSync(spec.tls.cert), key: readFileSync(spec.tls.key), ca: readFileSync(spec.tls.ca) } } : {};
  const pool = new Pool(url.origin, { connections: spec.connections, pipelining: 1, keepAliveTimeout: 60_000, ...tls });
  const path = url.pathname + url.search;
  const samples: number[] = [];
  const timed: TimedSample[] = [];
  let ok = 0, errors = 0, non2xx = 0;
  let firstError: string | undefined;
  const interval = 1000 / spec.rate;

  const one = async (due: number, i: number): Promise<void> => {
    const counted = i * interval >= spec.warmupMs;
    try {
      const res = await pool.request({ method: 'POST', path, headers, body });
      let first = 0;
      for await (const chunk of res.body) {
        if (first === 0 && (chunk as Buffer).length > 0) first = performance.now();
      }
      const end = performance.now();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        ok++;
        if (counted) {
          const latency = (spec.mode === 'ttfb' ? first || end : end) - due;
          samples.push(latency);
          const t = timedSample(latency, res.headers['server-timing']);
          if (t) timed.push(t);
        }
      } else {
        non2xx++;
        firstError ??= `HTTP ${res.statusCode}`;
      }
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
  };

  const { sent, dropped, start, endSend } = await openLoop({ ratePerSec: spec.rate, durationMs: spec.durationMs, maxInflight: spec.maxInflight, send: one });
  await pool.destroy();
  const sorted = samples.sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  const timing = summarize(timed);
  return {
    sent, ok, errors, non2xx, dropped, counted: sorted.length,
    achievedRate: sent / ((endSend - start) / 1000),
    p50: percentileSorted(sorted, 50), p90: percentileSorted(sorted, 90), p99: percentileSorted(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN, mean,
    ...(firstError ? { firstError } : {}),
    ...(timing ? { timing } : {}),
  };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  run(spec).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(`loadgen: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
