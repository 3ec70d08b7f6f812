// Write-back of a large blob's pages while it is still arriving: every 64 MiB written, one
// fdatasync (in the thread pool; writes go on meanwhile). The fsync that makes the blob durable
// before it becomes visible (commitDurable) then only has the last pages to write, instead of
// starting the whole 1 GiB write-back after the last byte arrived. A write-back error is kept and
// reported at the end, never swallowed: Linux reports a write-back error to one fsync caller
// only, so a later fsync on another descriptor might not see it.
import type { FileHandle } from 'node:fs/promises';

/** Bytes written between two write-backs. */
const EVERY = 64 * 1024 * 1024;

export class WriteBehind {
  readonly #fh: FileHandle;
  #since = 0;
  #pending: Promise<void> | null = null;
  #error: Error | null = null;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  /** Counts `n` bytes written; starts a write-back when enough have gathered and none runs. */
  wrote(n: number): void {
    this.#since += n;
    if (this.#since < EVERY || this.#pending || this.#error) return;
    this.#since = 0;
    this.#pending = this.#fh.datasync().then(
      () => {
        this.#pending = null;
      },
      (err: unknown) => {
        this.#pending = null;
        this.#error = err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  /** Waits for the write-back under way; throws the error of any that failed. */
  async settle(): Promise<void> {
    await this.#pending;
    if (this.#error) throw this.#error;
  }
}
