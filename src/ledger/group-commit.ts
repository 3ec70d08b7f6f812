// Group commit: append -> queue -> (next turn of the event loop) one journal write for
// everything queued in this turn -> resolve once durable (one synchronous write per batch, not
// per append). Up to `journal.maxInFlight` batches are written at once, so the next batch does
// not wait for the previous one's flush; they are acknowledged strictly in order (a later batch
// only counts once every earlier one is durable: recovery cuts at the first bad record).
import { LedgerError, unavailable } from './errors.ts';
import type { LedgerStats } from './stats.ts';

/** One append waiting for durability. */
export interface Pending {
  bytes: Buffer;
  leaf: Buffer;
  resolve: (r: { index: number }) => void;
  reject: (e: unknown) => void;
}

/** A batch handed to a journal; `done` resolves with the index of its first entry once durable. */
export interface JournalWrite {
  done: Promise<number>;
}

/** Where a storage driver makes batches durable (see storage.ts). */
export interface Journal<W extends JournalWrite = JournalWrite> {
  /** What a write is, for error messages ("write-ahead log append"). */
  readonly what: string;
  /** Batches written at once. */
  readonly maxInFlight: number;
  /** True when the journal must {@link rotate} (with nothing in flight) before the next write. */
  readonly full: boolean;
  rotate(nextIndex: number): Promise<void>;
  /** Issues the durable write of a batch whose first entry will be `start` if this journal numbers entries itself. */
  write(items: readonly Pending[], start: number): W;
  /** `failed` and every later write were rejected: undo from `failed` on, so later records stay contiguous. */
  cut(failed: W): Promise<void>;
  /** Batches durable, in index order: what that means for this replica's tree. */
  acknowledge(start: number, items: readonly Pending[]): void;
}

interface Batch<W extends JournalWrite> {
  start: number;
  items: Pending[];
  write: W;
  settled: boolean;
  error: unknown;
}

export class GroupCommit<W extends JournalWrite = JournalWrite> {
  #journal: Journal<W> | undefined;
  readonly #stats: LedgerStats;
  /** Appends not yet handed to a write. */
  #queue: Pending[] = [];
  #pumpScheduled = false;
  /** Batches being written, oldest first; acknowledged in this order. */
  #inflight: Batch<W>[] = [];
  /** Index of the next record to be written (size + entries in flight). */
  #nextIndex = 0;
  /** A rotation or a cut after a failed write holds the pipeline. */
  #holding = false;
  #idleWaiters: (() => void)[] = [];
  #broken: LedgerError | null = null;

  constructor(stats: LedgerStats) {
    this.#stats = stats;
  }

  /** Starts writing to `journal` (once recovered) with the next entry at `nextIndex`. */
  open(journal: Journal<W>, nextIndex: number): void {
    this.#journal = journal;
    this.#nextIndex = nextIndex;
  }

  #j(): Journal<W> {
    if (this.#journal === undefined) throw new Error('group commit used before open()');
    return this.#journal;
  }

  /** Set once the journal can no longer be written: every append fails closed. */
  get broken(): LedgerError | null {
    return this.#broken;
  }

  fail(err: LedgerError): void {
    this.#broken ??= err;
  }

  append(bytes: Buffer, leaf: Buffer): Promise<{ index: number }> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ bytes, leaf, resolve, reject });
      this.#schedulePump();
    });
  }

  /**
   * The queue is written on the next turn of the event loop, so everything appended in this turn
   * (for example by requests parsed from one read of the sockets) shares one write.
   */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(this.#pump);
  }

  #pump = (): void => {
    this.#pumpScheduled = false;
    const j = this.#j();
    while (this.#queue.length > 0 && !this.#holding) {
      if (this.#broken !== null) {
        for (const p of this.#queue.splice(0)) p.reject(this.#broken);
        break;
      }
      // After a failed write nothing new is issued until the cut (see #cutAfterFailure).
      if (this.#inflight.length >= j.maxInFlight || this.#inflight.some((b) => b.error !== null)) break;
      if (j.full) {
        // A segment starts at a known index: rotate once the writes in flight are acknowledged.
        if (this.#inflight.length === 0) this.#hold(this.#rotate());
        break;
      }
      const items = this.#queue.splice(0);
      const batch: Batch<W> = { start: this.#nextIndex, items, write: j.write(items, this.#nextIndex), settled: false, error: null };
      this.#nextIndex += items.length;
      this.#inflight.push(batch);
      batch.write.done.then(
        (start) => this.#settle(batch, start, null),
        (err: unknown) => this.#settle(batch, batch.start, err),
      );
    }
    this.#notifyIdle();
  };

  async #rotate(): Promise<void> {
    try {
      await this.#j().rotate(this.#nextIndex);
    } catch (err) {
      this.#broken = err instanceof LedgerError ? err : unavailable(`rotating the ${this.#j().what} failed`, err);
    }
  }

  /** Runs `work` with the pipeline held (no new writes), then resumes it. */
  #hold(work: Promise<void>): void {
    this.#holding = true;
    void work.finally(() => {
      this.#holding = false;
      this.#pump();
    });
  }

  /** A write finished: acknowledge every batch at the head that is durable, in order. */
  #settle(batch: Batch<W>, start: number, error: unknown): void {
    batch.start = start;
    batch.settled = true;
    batch.error = error;
    for (let head = this.#inflight[0]; head?.settled === true && head.error === null; head = this.#inflight[0]) {
      this.#inflight.shift();
      this.#stats.appends += head.items.length;
      this.#j().acknowledge(head.start, head.items);
      for (let i = 0; i < head.items.length; i++) (head.items[i] as Pending).resolve({ index: head.start + i });
    }
    const failed = this.#inflight[0];
    if (failed !== undefined && failed.error !== null && !this.#holding && this.#inflight.every((b) => b.settled)) {
      this.#hold(this.#cutAfterFailure(failed));
      return;
    }
    if (this.#queue.length > 0) this.#schedulePump();
    this.#notifyIdle();
  }

  /**
   * A write failed: every batch from it on is rejected (a later one that did reach the disk sits
   * behind the failed record, which recovery would cut), and the journal is cut where the failed
   * batch began so later records stay contiguous. If even the cut fails, the log stays closed for
   * appends (fail closed).
   */
  async #cutAfterFailure(failed: Batch<W>): Promise<void> {
    const e = unavailable(`${this.#j().what} failed`, failed.error);
    const rejected = this.#inflight.splice(0);
    this.#nextIndex = failed.start;
    try {
      await this.#j().cut(failed.write);
    } catch {
      this.#broken = e;
    }
    for (const b of rejected) for (const p of b.items) p.reject(e);
  }

  #notifyIdle(): void {
    if (this.#queue.length > 0 || this.#inflight.length > 0 || this.#holding) return;
    for (const d of this.#idleWaiters.splice(0)) d();
  }

  /** Resolves once nothing is queued or being written. */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#inflight.length === 0 && !this.#holding) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }
}
