// What a gateway primary and its workers say to each other over the cluster IPC channel.
// Every message carries `sovereign: 1`, so the channel can also carry node:cluster's own messages.
import type { RegionHealth, RegionState } from '../../health/index.ts';

/** Worker to primary. */
export type FromWorker =
  | { sovereign: 1; t: 'call'; id: number; call: Call }
  | { sovereign: 1; t: 'ack'; version: number }
  | { sovereign: 1; t: 'ejected'; region: string; why: string }
  | { sovereign: 1; t: 'ready'; url: string; fingerprint: string }
  | { sovereign: 1; t: 'metrics'; id: number; metrics: unknown[] }
  | { sovereign: 1; t: 'prepared'; id: number; ok: true; fingerprint: string }
  | { sovereign: 1; t: 'prepared'; id: number; ok: false; reason: string };

/** What a worker asks of the primary (the region state store lives there). */
export type Call =
  | { op: 'load' }
  | { op: 'health' }
  | { op: 'replace'; expect: number; suspensions: RegionState['suspensions'] }
  | { op: 'wait'; version: number; timeoutMs: number }
  | { op: 'metrics' };

/** Primary to worker. */
export type FromPrimary =
  | { sovereign: 1; t: 'reply'; id: number; ok: true; value: unknown }
  | { sovereign: 1; t: 'reply'; id: number; ok: false; error: string; conflict?: boolean }
  | { sovereign: 1; t: 'state'; state: RegionState }
  | { sovereign: 1; t: 'health'; snapshot: RegionHealth[] }
  | { sovereign: 1; t: 'prepare'; id: number }
  | { sovereign: 1; t: 'metrics'; id: number }
  | { sovereign: 1; t: 'commit'; id: number }
  | { sovereign: 1; t: 'abort'; id: number };

export function isOurs<T extends { sovereign: 1 }>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && (m as { sovereign?: unknown }).sovereign === 1 && typeof (m as { t?: unknown }).t === 'string';
}

/** The environment variable that tells a forked process which worker slot it fills (1..N). */
export const WORKER_SLOT_ENV = 'SOVEREIGN_GATEWAY_WORKER';

/**
 * The replica name of a worker: its ledger outbox file and its SVID's process. Slot 1 keeps the
 * gateway's own name, so `workers: 1` and a single process use the same outbox file; a worker
 * restarted in a slot opens the outbox of the worker it replaces and delivers what it kept.
 */
export function workerReplica(replica: string, slot: number): string {
  return slot === 1 ? replica : `${replica}-w${slot}`;
}
