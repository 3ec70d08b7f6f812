// The embedded store backend run on its own thread. SQLite's API is synchronous, so on the
// cell's event loop every batch commit (and the WAL checkpoints SQLite makes inside some of them,
// and the sweeper's deletes) stopped every request for as long as the disk took: in-process,
// 12-record batches took 0.2 ms at the median but 13-35 ms at p99 and up to 300 ms on a busy
// disk. Here one worker thread owns the database (src/store/sqlite-worker.ts) and runs the same
// SqliteBackend; the store calls it through the same StoreBackend interface, one call at a time
// in order, and the event loop only hands over the sealed batch. Nothing about durability
// changes: a write resolves once SQLite committed it, as before, and a write that fails (or a
// worker that dies) rejects, so the records stay queued (src/store/region-store.ts).
import { Worker } from 'node:worker_threads';
import { KeyExistsError, type StoreBackend, type SweepResult } from './backend.ts';
import type { SealedRecord, WrappedKey } from './records.ts';

type Method = 'getMeta' | 'initMeta' | 'getKey' | 'write' | 'keysOf' | 'recordsOf' | 'countRecords' | 'destroyKeys' | 'sweep' | 'count' | 'close';

/** A call to the database thread (id 0 is its start-up answer). */
export interface BackendCall {
  id: number;
  method: Method;
  args: unknown[];
}

export type BackendReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { name: string; message: string; key?: { tenant: string; subjectHash: string } } };

interface Waiting {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** A Buffer over a byte array that crossed the thread boundary (structured clone gives a plain Uint8Array). */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const keyBack = (k: WrappedKey): WrappedKey => ({ ...k, wrapped: buf(k.wrapped) });

export class ThreadedSqliteBackend implements StoreBackend {
  readonly kind = 'sqlite' as const;
  readonly dir: string;
  #worker: Worker | null = null;
  #started: Promise<void> | null = null;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  #closed = false;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Opens the database in `dir` on its own thread; rejects if it cannot be opened. */
  static async open(dir: string): Promise<ThreadedSqliteBackend> {
    const b = new ThreadedSqliteBackend(dir);
    await b.#start();
    return b;
  }

  /** Starts the database thread (again, after one died): resolves once the database is open. */
  #start(): Promise<void> {
    if (this.#started) return this.#started;
    const worker = new Worker(new URL('./sqlite-worker.ts', import.meta.url), { workerData: { dir: this.dir } });
    this.#worker = worker;
    // Held open only while a call is waiting for it (see #call), so an idle store never keeps the process alive.
    worker.unref();
    const started = new Promise<void>((resolve, reject) => {
      const onFirst = (r: BackendReply): void => {
        if (r.id !== 0) return;
        worker.off('message', onFirst);
        if (r.ok) resolve();
        else reject(new Error(`the store database in ${this.dir} cannot be opened: ${r.error.message}`));
      };
      worker.on('message', onFirst);
      worker.once('exit', (code) => reject(new Error(`the store database thread exited (code ${code}) before it opened ${this.dir}`)));
    });
    worker.on('message', (r: BackendReply) => {
      if (r.id === 0) return;
      const w = this.#waiting.get(r.id);
      if (!w) return;
      this.#waiting.delete(r.id);
      if (this.#waiting.size === 0) worker.unref();
      if (r.ok) w.resolve(r.value);
      else w.reject(r.error.key ? new KeyExistsError(r.error.key.tenant, r.error.key.subjectHash) : Object.assign(new Error(r.error.message), { name: r.error.name }));
    });
    const gone = (why: string): void => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      this.#started = null;
      // Calls in flight may or may not have committed; the store treats them as failed writes
      // and keeps their records queued, so a batch committed just before the thread died is
      // written again (a duplicate record, never a lost one).
      for (const w of this.#waiting.values()) w.reject(new Error(`the store database thread ${why}`));
      this.#waiting.clear();
    };
    worker.on('error', (err: Error) => gone(`failed: ${err.message}`));
    worker.on('exit', (code) => gone(`exited (code ${code})`));
    this.#started = started;
    started.catch(() => gone('did not start'));
    return started;
  }

  async #call(method: Method, ...args: unknown[]): Promise<unknown> {
    if (this.#closed && method !== 'close') throw new Error(`the store database in ${this.dir} is closed`);
    await this.#start();
    const worker = this.#worker;
    if (worker === null) throw new Error('the store database thread is not running');
    const id = this.#nextId++;
    const p = new Promise<unknown>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    if (this.#waiting.size === 1) worker.ref();
    worker.postMessage({ id, method, args } satisfies BackendCall);
    return p;
  }

  async getMeta(name: string): Promise<string | null> {
    return (await this.#call('getMeta', name)) as string | null;
  }

  async initMeta(name: string, value: string): Promise<string> {
    return (await this.#call('initMeta', name, value)) as string;
  }

  async getKey(tenant: string, subjectHash: string): Promise<WrappedKey | null> {
    const k = (await this.#call('getKey', tenant, subjectHash)) as WrappedKey | null;
    return k ? keyBack(k) : null;
  }

  async write(keys: readonly WrappedKey[], records: readonly SealedRecord[]): Promise<void> {
    await this.#call('write', keys, records);
  }

  async keysOf(subjectHash: string, tenant: string | null): Promise<WrappedKey[]> {
    return ((await this.#call('keysOf', subjectHash, tenant)) as WrappedKey[]).map(keyBack);
  }

  async recordsOf(subjectHash: string, tenant: string | null): Promise<SealedRecord[]> {
    return ((await this.#call('recordsOf', subjectHash, tenant)) as SealedRecord[]).map((r) => ({ ...r, sealed: buf(r.sealed) }));
  }

  async countRecords(subjectHash: string, tenant: string | null): Promise<number> {
    return (await this.#call('countRecords', subjectHash, tenant)) as number;
  }

  async destroyKeys(subjectHash: string, tenant: string | null): Promise<number> {
    return (await this.#call('destroyKeys', subjectHash, tenant)) as number;
  }

  async sweep(now: number): Promise<SweepResult> {
    return (await this.#call('sweep', now)) as SweepResult;
  }

  async count(): Promise<number> {
    return (await this.#call('count')) as number;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker;
    // A thread that died has nothing open; none is started only to be closed.
    if (worker === null) return;
    try {
      await this.#call('close');
    } finally {
      await worker.terminate();
    }
  }
}
