// Open-loop load at a fixed rate (requests are sent on schedule whether or not earlier ones
// have answered, so a slow region cannot slow the load down and hide latency).
import { Pool } from 'undici';

export interface Sample {
  sentAt: number;
  doneAt: number;
  status: number;
  region: string | null;
  attempts: string | null;
  error?: string;
}

export interface LoadSpec {
  url: string;
  path: string;
  ratePerSec: number;
  durationMs: number;
  headers: Record<string, string>;
  body: string;
  /** Called when each response is complete. */
  onSample?: (s: Sample) => void;
}

export async function runLoad(spec: LoadSpec): Promise<Sample[]> {
  const origin = new URL(spec.url).origin;
  const pool = new Pool(origin, { connections: 256, keepAliveTimeout: 10_000 });
  const samples: Sample[] = [];
  const inflight: Promise<void>[] = [];
  const interval = 1000 / spec.ratePerSec;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < spec.durationMs) {
    const due = t0 + n * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    n++;
    const sentAt = Date.now();
    inflight.push(
      pool
        .request({ method: 'POST', path: spec.path, headers: spec.headers, body: spec.body, headersTimeout: 15_000, bodyTimeout: 15_000 })
        .then(async (res) => {
          await res.body.dump();
          const s: Sample = { sentAt, doneAt: Date.now(), status: res.statusCode, region: (res.headers['x-sovereign-region'] as string | undefined) ?? null, attempts: (res.headers['x-sovereign-attempts'] as string | undefined) ?? null };
          samples.push(s);
          spec.onSample?.(s);
        })
        .catch((err: unknown) => {
          const s: Sample = { sentAt, doneAt: Date.now(), status: 0, region: null, attempts: null, error: (err as Error).message };
          samples.push(s);
          spec.onSample?.(s);
        }),
    );
  }
  await Promise.all(inflight);
  await pool.close();
  return samples.sort((a, b) => a.sentAt - b.sentAt);
}
