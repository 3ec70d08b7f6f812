// The one open-loop load generator of the benchmarks: requests are due on a fixed schedule and
// sent when due whether or not earlier ones have answered (catching up after a late timer), so
// a slow target cannot slow the load down and hide its queueing (no coordinated omission).
// Latency is measured from the moment a request was due. `openLoop` is the schedule;
// `runLoad` (in-process, every answer kept, for the failover benchmark) and
// bench/gateway/loadgen.ts (its own process, percentiles) send with it.
import { Pool } from 'undici';

export interface OpenLoopSpec {
  ratePerSec: number;
  durationMs: number;
  /** Requests in flight above this are not sent (counted as dropped); default: no limit. */
  maxInflight?: number;
  /** How long to wait for the last answers after the last request was due (default 15 s). */
  drainMs?: number;
  /** Sends request `i`, due at `due` (performance.now() time); resolves when it is answered. */
  send: (due: number, i: number) => Promise<void>;
}

export interface OpenLoopRun {
  sent: number;
  dropped: number;
  /** performance.now() when the first request was due, and when the last was sent. */
  start: number;
  endSend: number;
}

export async function openLoop(spec: OpenLoopSpec): Promise<OpenLoopRun> {
  const interval = 1000 / spec.ratePerSec;
  const total = Math.ceil((spec.durationMs / 1000) * spec.ratePerSec);
  const maxInflight = spec.maxInflight ?? Infinity;
  const pending = new Set<Promise<void>>();
  let sent = 0, dropped = 0;
  const start = performance.now() + 20;
  for (let i = 0; i < total; ) {
    const now = performance.now();
    // Send every request that is due (catching up after a late timer), then sleep to the next.
    while (i < total && start + i * interval <= now) {
      const due = start + i * interval;
      if (pending.size >= maxInflight) {
        dropped++;
        i++;
        continue;
      }
      sent++;
      const p = spec.send(due, i++).catch(() => undefined);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, start + i * interval - performance.now())));
  }
  const endSend = performance.now();
  // Bounded wait for the stragglers.
  await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, spec.drainMs ?? 15_000).unref())]);
  return { sent, dropped, start, endSend };
}

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

/** Open-loop POSTs at a fixed rate; every answer (status, serving region, attempts) in order of sending. */
export async function runLoad(spec: LoadSpec): Promise<Sample[]> {
  const pool = new Pool(new URL(spec.url).origin, { connections: 256, keepAliveTimeout: 10_000 });
  const samples: Sample[] = [];
  const done = (s: Sample): void => {
    samples.push(s);
    spec.onSample?.(s);
  };
  await openLoop({
    ratePerSec: spec.ratePerSec,
    durationMs: spec.durationMs,
    drainMs: 30_000,
    send: async () => {
      const sentAt = Date.now();
      try {
        const res = await pool.request({ method: 'POST', path: spec.path, headers: spec.headers, body: spec.body, headersTimeout: 15_000, bodyTimeout: 15_000 });
        await res.body.dump();
        done({ sentAt, doneAt: Date.now(), status: res.statusCode, region: (res.headers['x-sovereign-region'] as string | undefined) ?? null, attempts: (res.headers['x-sovereign-attempts'] as string | undefined) ?? null });
      } catch (err) {
        done({ sentAt, doneAt: Date.now(), status: 0, region: null, attempts: null, error: (err as Error).message });
      }
    },
  });
  await pool.close();
  return samples.sort((a, b) => a.sentAt - b.sentAt);
}
