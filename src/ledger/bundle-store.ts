// Full entry bundles waiting for the next integration to write them, packed into large reused
// chunks. Each bundle lives about a second (until its file is durable); as separate buffers
// they would pile up outside the V8 heap and, surviving young collections, make V8 run a full
// collection every few tens of milliseconds, each one a pause for every append in flight.
// Reusing the chunks keeps that memory flat.
import { TILE_WIDTH } from './tiles.ts';

const CHUNK_BYTES = 1024 * 1024;
/** Spare chunks kept for reuse (a second of bundles at ~70,000 appends/s fits in ~25). */
const MAX_SPARE = 64;

interface Chunk {
  buf: Buffer;
  used: number;
  /** Highest bundle index stored in the chunk. */
  last: number;
}

export class BundleStore {
  readonly #bundles = new Map<number, Buffer>();
  readonly #chunks: Chunk[] = [];
  readonly #spare: Buffer[] = [];

  /**
   * Encodes bundle `n` (c2sp.org/tlog-tiles: each entry as a big-endian uint16 length and its
   * bytes) into the store. Bundles are added in increasing `n`.
   */
  add(n: number, entries: readonly Uint8Array[]): void {
    let total = 0;
    for (const e of entries) total += 2 + e.length;
    let c = this.#chunks[this.#chunks.length - 1];
    if (c === undefined || c.buf.length - c.used < total) {
      const i = this.#spare.findIndex((b) => b.length >= total);
      const buf = i >= 0 ? (this.#spare.splice(i, 1)[0] as Buffer) : Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, total));
      c = { buf, used: 0, last: n };
      this.#chunks.push(c);
    }
    const out = c.buf.subarray(c.used, c.used + total);
    let off = 0;
    for (const e of entries) {
      out.writeUInt16BE(e.length, off);
      out.set(e, off + 2);
      off += 2 + e.length;
    }
    c.used += total;
    c.last = n;
    this.#bundles.set(n, out);
  }

  /** Bundle `n` if held. The view is only valid until {@link release} covers it: copy what you keep. */
  get(n: number): Buffer | undefined {
    return this.#bundles.get(n);
  }

  /** Drops bundles whose entries all lie below `size` (their files are durable) and reuses their chunks. */
  release(size: number): void {
    const below = Math.floor(size / TILE_WIDTH);
    for (const n of this.#bundles.keys()) if (n < below) this.#bundles.delete(n);
    // The newest chunk stays in use; older ones are free once every bundle in them is dropped.
    while (this.#chunks.length > 1 && (this.#chunks[0] as Chunk).last < below) {
      const c = this.#chunks.shift() as Chunk;
      if (this.#spare.length < MAX_SPARE && c.buf.length === CHUNK_BYTES) this.#spare.push(c.buf);
    }
  }
}
