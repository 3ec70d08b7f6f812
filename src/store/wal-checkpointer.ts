// Moves the SQLite store's WAL checkpoints off the cell's event loop. With SQLite's automatic
// checkpoint, the commit that takes the WAL past 1,000 pages copies them into the database and
// fsyncs the WAL and the database, on the thread that answers HTTP: on a disk whose fsync takes
// 10-15 ms, the cell stalled for 20-30 ms every few seconds, and every request in flight with it
// (seen with Linux perf trace on a cell at 200 requests/s; bench/results/store-loop-2026-12-02.md). The store's connection turns the automatic checkpoint off and
// a worker thread with its own connection checkpoints on an interval instead.
//
// Fail-safe: if the thread cannot start or dies, the store's connection turns SQLite's automatic
// checkpoint back on (the WAL must never grow without bound) and says so once.
import { Worker } from 'node:worker_threads';
import type { CheckpointReport, CheckpointWorkerData } from './wal-checkpoint-worker.ts';

/** SQLite's own default for wal_autocheckpoint (pages), restored when the thread is gone. */
export const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

export interface WalCheckpointerOptions {
  file: string;
  intervalMs: number;
  /** Runs on the store's connection: `PRAGMA wal_autocheckpoint = <pages>`. */
  setAutocheckpoint: (pages: number) => void;
  /** Told once when the thread failed and SQLite checkpoints inline again. */
  onFallback: (why: string) => void;
}

export class WalCheckpointer {
  readonly #opts: WalCheckpointerOptions;
  #worker: Worker | null;
  #stopping = false;
  #last: CheckpointReport | null = null;
  #waiters: ((r: CheckpointReport) => void)[] = [];

  constructor(opts: WalCheckpointerOptions) {
    this.#opts = opts;
    // Not the parent's --input-type (a CLI run as `node --input-type=module -e …`): the worker is a file.
    const own = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const w = new Worker(new URL('./wal-checkpoint-worker.ts', import.meta.url), {
      workerData: { file: opts.file, intervalMs: opts.intervalMs } satisfies CheckpointWorkerData,
      ...(own.length === process.execArgv.length ? {} : { execArgv: own }),
    });
    w.unref();
    let failure = '';
    w.on('message', (r: CheckpointReport) => {
      this.#last = r;
      const waiters = this.#waiters;
      if (waiters.length === 0) return;
      this.#waiters = [];
      w.unref();
      for (const f of waiters) f(r);
    });
    w.on('error', (err: Error) => {
      failure = err.message;
    });
    w.once('exit', (code) => {
      this.#worker = null;
      const waiters = this.#waiters;
      this.#waiters = [];
      const why = failure !== '' ? `the checkpoint thread failed (${failure})` : `the checkpoint thread stopped (exit code ${code})`;
      for (const f of waiters) f({ error: why });
      if (this.#stopping) return;
      try {
        opts.setAutocheckpoint(SQLITE_AUTOCHECKPOINT_PAGES);
      } catch {
        // The store's connection is closed already: nothing writes to the WAL any more.
      }
      opts.onFallback(why);
    });
    this.#worker = w;
    opts.setAutocheckpoint(0);
  }

  /** Whether the thread checkpoints (false: it is gone and SQLite checkpoints inline). */
  get running(): boolean {
    return this.#worker !== null;
  }

  /** The last checkpoint's outcome (null before the first). */
  get last(): CheckpointReport | null {
    return this.#last;
  }

  /** A checkpoint now, on the thread; resolves with its outcome. */
  now(): Promise<CheckpointReport> {
    const w = this.#worker;
    if (!w) return Promise.resolve({ error: 'the checkpoint thread is not running' });
    return new Promise((resolve) => {
      // Held while someone waits: an unreferenced thread would let the process end first.
      if (this.#waiters.length === 0) w.ref();
      this.#waiters.push(resolve);
      w.postMessage('now');
    });
  }

  /** Stops the thread (its connection closed first); resolves when it has exited. */
  async stop(): Promise<void> {
    const w = this.#worker;
    if (!w) return;
    this.#stopping = true;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage('stop');
    const timer = setTimeout(() => void w.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Test hook: ends the thread as a crash would. */
  async kill(): Promise<void> {
    const w = this.#worker;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    await w.terminate();
    await exited;
  }
}
