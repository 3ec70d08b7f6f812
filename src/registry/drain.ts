// Blob bytes from the network to a file at the speed of the copy: chunks are taken as they
// arrive ('data' events, no re-concatenation into one buffer as an async iterator's read()
// does), gathered up to about 1 MiB and written with one writev (no copy), and hashed after the
// write succeeded, so the file and the hash stay in step whatever happens. While a write is
// under way the source is paused (back-pressure), so memory stays at about two batches.
import { Readable, finished } from 'node:stream';

/** Writes one batch of chunks (`bytes` in all); resolving means the chunks are no longer needed. */
export type WriteBatch = (chunks: Uint8Array[], bytes: number) => Promise<void>;

/** Default batch: about 1 MiB per write. */
export const BATCH = 1 << 20;

/**
 * Feeds every byte of `src` to `write` in order, in batches. Resolves when the source ended and
 * the last batch is written. A source that fails mid-way still has the bytes that arrived
 * written before the promise rejects with the source's error; a failing write rejects with the
 * write's error (the source is destroyed).
 */
export function drainInto(src: Readable | AsyncIterable<Uint8Array>, write: WriteBatch, batch = BATCH): Promise<void> {
  const s = src instanceof Readable ? src : Readable.from(src, { objectMode: false });
  return new Promise<void>((resolve, reject) => {
    let pending: Uint8Array[] = [];
    let bytes = 0;
    let writing = false;
    let ended = false;
    let settled = false;
    let sourceError: unknown = null;
    const settle = (err: unknown): void => {
      if (settled) return;
      settled = true;
      s.removeListener('data', onData);
      if (err) reject(err instanceof Error ? err : new Error(`the transfer failed: ${JSON.stringify(err)}`));
      else resolve();
    };
    const pump = (): void => {
      if (writing || settled) return;
      if (bytes === 0) {
        if (ended) settle(sourceError);
        return;
      }
      if (bytes < batch && !ended) return;
      const chunks = pending;
      const n = bytes;
      pending = [];
      bytes = 0;
      writing = true;
      write(chunks, n).then(
        () => {
          writing = false;
          if (!ended) s.resume();
          pump();
        },
        (err: unknown) => {
          writing = false;
          s.destroy();
          settle(err);
        },
      );
    };
    const onData = (c: Uint8Array): void => {
      pending.push(c);
      bytes += c.byteLength;
      if (bytes >= batch) {
        if (writing) s.pause();
        pump();
      }
    };
    s.on('data', onData);
    // The end, an error or a premature close; also for a source that failed or closed before it
    // got here (its error is not emitted again). What arrived before a cut is still written (a
    // resume continues after it).
    finished(s, { writable: false }, (err) => {
      if (err) sourceError = err;
      ended = true;
      pump();
    });
  });
}
