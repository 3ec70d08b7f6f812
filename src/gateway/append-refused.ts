// A cell's refusal of a ledger record, and whether it is for good. A record the cell refuses
// with a 4xx (the entry breaks the ledger schema, for example) will be refused again on every
// retry: it goes to the outbox's dead-letter file instead of being retried forever. Refusals
// that say nothing about the record itself (the append token, a missing route during an
// upgrade, time-outs, rate limits, 5xx) are retried.

/** 4xx statuses that are about the caller or the moment, not about the record. */
const RETRYABLE_4XX = new Set([401, 403, 404, 407, 408, 409, 425, 429]);

/** True if a cell answering `status` to one record will answer the same to it forever. */
export function refusedForGood(status: number): boolean {
  return status >= 400 && status < 500 && !RETRYABLE_4XX.has(status);
}

export class AppendRefused extends Error {
  readonly region: string;
  readonly status: number;
  /** The cell refused this record itself, for good (see {@link refusedForGood}). */
  readonly permanent: boolean;

  constructor(region: string, status: number, message: string, permanent = refusedForGood(status)) {
    super(message);
    this.name = 'AppendRefused';
    this.region = region;
    this.status = status;
    this.permanent = permanent;
  }
}

export function isPermanentRefusal(err: unknown): err is AppendRefused {
  return err instanceof AppendRefused && err.permanent;
}
