// Bytes handed over in a reused buffer (a socket's `onread`), gathered into batches of a few MiB
// and written with one call each, in order. Two batch buffers: one fills while the other is
// being written; when both are taken the source is told to stop reading (back-pressure) until
// the write in flight is done, so memory stays at two batches and no buffer is allocated per
// TLS record (which, at 16 KiB a record, is what kept the garbage collector busy on a 1 GiB
// transfer). The write's promise resolving is the writer's word that it no longer needs the
// buffer: the batch is then reused. A replication's writer hashes the batch on another thread
// while it is written (hash-thread.ts), so the batches live in shared memory (a thread reads
// them where they are, no copy) and its promise resolves once both the write and the hash are done.
import type { WriteBatch } from './drain.ts';

/** Batch size: about 4 MiB per write. */
export const BIG_BATCH = 4194304;

/** A buffer on memory other threads can be given (a SharedArrayBuffer): never pooled, never moved. */
export function sharedBuffer(bytes: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(bytes));
}

export class BatchWriter {
  readonly #write: WriteBatch;
  readonly #batch: number;
  readonly #bufs: [Buffer, Buffer];
  #cur = 0;
  #fill = 0;
  #inFlight: Promise<void> | null = null;
  /** The filling batch is full and waits for the write in flight (the source is paused). */
  #waiting = false;
  #error: Error | null = null;
  /** Called when the source may read again after push() answered false. */
  onResume: () => void = () => undefined;
  /** Called once when a write fails (the source should stop). */
  onError: (err: Error) => void = () => undefined;

  /** `maxPush`: the largest piece push() is given (the reused read buffer's size). */
  constructor(write: WriteBatch, maxPush: number, batch = BIG_BATCH) {
    this.#write = write;
    this.#batch = batch;
    this.#bufs = [sharedBuffer(batch + maxPush), sharedBuffer(batch + maxPush)];
  }

  /** Copies `src` in (the caller may reuse it at once). False: stop reading until onResume. */
  push(src: Uint8Array): boolean {
    if (this.#error !== null) return false;
    let buf = this.#bufs[this.#cur] as Buffer;
    if (this.#fill + src.byteLength > buf.length) {
      // A stream may deliver a few more pieces after being told to stop (records already
      // decrypted): the batch grows rather than dropping them.
      const bigger = sharedBuffer(2 * (this.#fill + src.byteLength));
      buf.copy(bigger, 0, 0, this.#fill);
      this.#bufs[this.#cur] = buf = bigger;
    }
    buf.set(src, this.#fill);
    this.#fill += src.byteLength;
    if (this.#fill < this.#batch) return true;
    if (this.#inFlight) {
      this.#waiting = true;
      return false;
    }
    // The write's own failure is kept in #error (its promise never rejects).
    void this.#startWrite();
    return true;
  }

  #startWrite(): Promise<void> {
    const n = this.#fill;
    const chunk = (this.#bufs[this.#cur] as Buffer).subarray(0, n);
    this.#cur ^= 1;
    this.#fill = 0;
    const p = this.#write([chunk], n).then(
      () => {
        this.#inFlight = null;
        if (this.#waiting && this.#error === null) {
          this.#waiting = false;
          void this.#startWrite();
          this.onResume();
        }
      },
      (err: unknown) => {
        this.#inFlight = null;
        if (this.#error === null) {
          this.#error = err instanceof Error ? err : new Error(String(err));
          this.onError(this.#error);
        }
      },
    );
    this.#inFlight = p;
    return p;
  }

  /** Writes everything pushed so far (also after a cut: what arrived is kept); rejects with a write's error. */
  async finish(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
    this.#throwIfFailed();
    this.#waiting = false;
    if (this.#fill > 0) await this.#startWrite();
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#error !== null) throw this.#error;
  }
}
