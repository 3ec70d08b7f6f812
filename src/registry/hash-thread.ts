// The running SHA-256 of a blob being replicated, on the main thread or on a thread of its own.
// On the region's side of a 1 GiB replication the main thread also decrypts TLS and issues the
// writes; the SHA-256 of every byte (about 0.6 s of CPU per GiB) on the same thread made that
// thread the bound of the transfer. A large blob's hash therefore runs on one worker thread per
// process, which reads the batch buffers the bytes were written from (shared memory, no copy:
// batch.ts allocates them on a SharedArrayBuffer). A small blob's is not worth the hop.
//
// The law of this path (docs: DESIGN.md, model registries; issue 14, "resumable after a cut"):
// - order: a port delivers messages in order and the worker applies them as they come, so the
//   updates of a blob are hashed in file order;
// - memory: update() resolves only once the worker has hashed the bytes, and the batch writer
//   reuses a buffer only after that (its write promise covers the hash);
// - failure: the thread stopping or failing rejects every update, file read and digest in
//   flight, and every later one of the blobs it held, with a HASH_FAILED error (not UNAVAILABLE:
//   never taken for a cut connection and retried, and never a digest that skipped bytes);
// - lifetime: started on first use, restarted on the next use after it died, and unref'd while
//   nothing waits on it, so it never keeps a process alive (and is ref'd while something does,
//   so a process cannot exit under an await that only the worker would settle).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { RegistryError } from './errors.ts';
import type { HashReply, HashRequest } from './hash-worker.ts';

/** The running hash of one blob's bytes, in file order. */
export interface BlobHash {
  /** Hashes `chunks` next; resolves once their memory is no longer read (the caller may reuse it then). */
  update(chunks: readonly Uint8Array[]): Promise<void>;
  /** Hashes the first `length` bytes of `file` next (a resumed blob's kept prefix). */
  updateFile(file: string, length: number): Promise<void>;
  /** `sha256:<hex>` of everything hashed; the hash is finished. */
  digest(): Promise<string>;
  /** Forgets the hash (a blob that failed); safe to call after digest() or twice. */
  drop(): void;
}

/** A blob from this size on is hashed on the hash thread (smaller ones: the hop costs more than it saves). */
export const THREAD_HASH_MIN = 8 * 1024 * 1024;

/** The hash a blob of `size` bytes is replicated with. */
export function blobHash(size: number): BlobHash {
  return size >= THREAD_HASH_MIN ? threadHash() : mainHash();
}

/** On the calling thread. */
export function mainHash(): BlobHash {
  const h = createHash('sha256');
  return {
    update(chunks) {
      for (const c of chunks) h.update(c);
      return Promise.resolve();
    },
    async updateFile(file, length) {
      if (length === 0) return;
      let got = 0;
      for await (const chunk of createReadStream(file, { start: 0, end: length - 1, highWaterMark: 1 << 20 })) {
        h.update(chunk as Buffer);
        got += (chunk as Buffer).byteLength;
      }
      if (got !== length) throw new RegistryError('HASH_FAILED', `${file} ends at byte ${got}, ${length} expected: the kept bytes cannot be hashed`);
    },
    digest: () => Promise.resolve(`sha256:${h.digest('hex')}`),
    drop: () => undefined,
  };
}

interface Waiter {
  resolve: (r: HashReply) => void;
  reject: (e: Error) => void;
}

/** The worker thread and what waits on it; one per process. */
class HashThread {
  #worker: Worker | null = null;
  /** Why the last worker stopped (for the messages of the hashes it held). */
  #stopped = '';
  readonly #waiting = new Map<number, Waiter>();
  #seq = 0;
  #id = 0;

  /** The running worker, started (again) if there is none. */
  worker(): Worker {
    if (this.#worker) return this.#worker;
    // Not the parent's --input-type (a CLI run as `node --input-type=module -e …`): the worker is
    // a file. Otherwise the parent's options are inherited as they are (some may not be given again).
    const own = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const w = new Worker(new URL('./hash-worker.ts', import.meta.url), own.length === process.execArgv.length ? {} : { execArgv: own });
    w.unref();
    let failure = '';
    w.on('message', (r: HashReply) => {
      const waiter = this.#waiting.get(r.seq);
      if (!waiter) return;
      this.#settled(r.seq);
      waiter.resolve(r);
    });
    w.on('error', (err: Error) => {
      failure = err.message;
    });
    w.on('messageerror', (err: Error) => {
      failure = `a message could not be read: ${err.message}`;
      void w.terminate();
    });
    w.once('exit', (code) => {
      if (this.#worker !== w) return;
      this.#worker = null;
      this.#stopped = failure !== '' ? `the hash thread failed (${failure})` : `the hash thread stopped (exit code ${code})`;
      const waiting = [...this.#waiting.values()];
      this.#waiting.clear();
      for (const waiter of waiting) waiter.reject(new Error(this.#stopped));
    });
    this.#worker = w;
    return w;
  }

  /** A new running hash on the current worker. */
  start(): { worker: Worker; id: number } {
    const worker = this.worker();
    const id = this.#id++;
    worker.postMessage({ op: 'start', id } satisfies HashRequest);
    return { worker, id };
  }

  /** Posts a request that is answered and waits for the answer (the worker is ref'd meanwhile). */
  ask(worker: Worker, msg: (seq: number) => HashRequest, transfer: ArrayBuffer[] = []): Promise<HashReply> {
    if (worker !== this.#worker) return Promise.reject(new Error(this.#stopped || 'the hash thread stopped'));
    const seq = this.#seq++;
    return new Promise<HashReply>((resolve, reject) => {
      if (this.#waiting.size === 0) worker.ref();
      this.#waiting.set(seq, { resolve, reject });
      try {
        worker.postMessage(msg(seq), transfer);
      } catch (err) {
        this.#settled(seq);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Posts a request that is not answered (a hash dropped), to the worker that holds it only. */
  tell(worker: Worker, msg: HashRequest): void {
    if (worker === this.#worker) worker.postMessage(msg);
  }

  #settled(seq: number): void {
    this.#waiting.delete(seq);
    if (this.#waiting.size === 0) this.#worker?.unref();
  }

  /** Stops the worker; what waits on it fails (HASH_FAILED). */
  async close(): Promise<void> {
    await this.#worker?.terminate();
  }
}

const thread = new HashThread();

/**
 * Starts the hash thread now if it is not running (idle and unref'd until used): a replication
 * that will need it calls this before its first blob, so the thread's start (a new isolate
 * loading its module: about 0.1-0.3 s of CPU, seconds of wall time on a busy machine) overlaps
 * the smaller blobs instead of holding back the first batch of a large one.
 */
export function warmHashThread(): void {
  thread.worker();
}

/** Stops the hash thread (a process about to exit, a test); the next large blob starts it again. */
export function closeHashThread(): Promise<void> {
  return thread.close();
}

function failed(err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  return new RegistryError('HASH_FAILED', `the blob's SHA-256 could not be computed: ${(err as Error).message}; nothing of it was stored, run the promotion again`);
}

/** On the hash thread (see the top of this file). */
export function threadHash(): BlobHash {
  const { worker, id } = thread.start();
  let done = false;
  const answer = async (p: Promise<HashReply>): Promise<{ hex?: string }> => {
    let r: HashReply;
    try {
      r = await p;
    } catch (err) {
      throw failed(err);
    }
    if ('error' in r) throw failed(new Error(r.error));
    return r;
  };
  const finished = (): Promise<never> => Promise.reject(new RegistryError('HASH_FAILED', 'the hash is finished: nothing more can be hashed into it'));
  return {
    async update(chunks) {
      if (done) return finished();
      const asked: Promise<HashReply>[] = [];
      if (chunks.every((c) => c.buffer instanceof SharedArrayBuffer)) {
        // The shared batch buffers: the worker reads the same memory.
        for (const c of chunks) asked.push(thread.ask(worker, (seq) => ({ op: 'update', id, seq, buf: c.buffer, offset: c.byteOffset, length: c.byteLength })));
      } else {
        // Bytes in memory of their own (a resumed blob's tail through the pool): one copy into
        // memory handed over to the worker (transferred, not shared: nothing else holds it).
        const total = chunks.reduce((n, c) => n + c.byteLength, 0);
        const copy = new Uint8Array(total);
        let at = 0;
        for (const c of chunks) {
          copy.set(c, at);
          at += c.byteLength;
        }
        asked.push(thread.ask(worker, (seq) => ({ op: 'update', id, seq, buf: copy.buffer, offset: 0, length: total }), [copy.buffer]));
      }
      // Every update answered (hashed, or failed) before the memory is handed back.
      const settled = await Promise.allSettled(asked.map(answer));
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
    },
    async updateFile(file, length) {
      if (done) return finished();
      if (length === 0) return;
      await answer(thread.ask(worker, (seq) => ({ op: 'file', id, seq, file, length })));
    },
    async digest() {
      if (done) return finished();
      done = true;
      const r = await answer(thread.ask(worker, (seq) => ({ op: 'digest', id, seq })));
      if (r.hex === undefined) throw failed(new Error('the hash thread answered without a digest'));
      return `sha256:${r.hex}`;
    },
    drop() {
      if (done) return;
      done = true;
      thread.tell(worker, { op: 'drop', id });
    },
  };
}
