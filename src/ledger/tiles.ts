// C2SP tlog-tiles: tile paths, entry bundles, and an incremental builder of height-8 hash tiles.
//
// c2sp.org/tlog-tiles, "Merkle Tree": the n-th tile at level l holds, for i in 0..255,
//   MTH(D[(n * 256 + i) * 256**l : (n * 256 + i + 1) * 256**l])
// i.e. level-l tiles hold the hashes of tree level 8*l. The levels between are rebuilt by hashing.
import { EMPTY_ROOT, HASH_SIZE, hashChildren, hashLeaf, type SubtreeHashFn } from './merkle.ts';

/** Tiles are 256 hashes wide (tlog-tiles, "Merkle Tree": "Full tiles MUST be exactly 256 hashes wide"). */
export const TILE_WIDTH = 256;
/** Tile height in tree levels: 256 = 2^8. */
export const TILE_HEIGHT = 8;
/** A full tile is 8,192 bytes. */
export const FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE;
/** Entry bundle entries are length-prefixed with a big-endian uint16 (tlog-tiles, "Log entries"). */
export const MAX_ENTRY_BYTES = 0xffff;

/**
 * Encodes a tile index as zero-padded 3-digit path elements, all but the last prefixed with
 * `x` (tlog-tiles, "Merkle Tree"): 1234067 -> "x001/x234/067".
 */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad tile index ${n}`);
  const parts: string[] = [];
  let v = n;
  do {
    parts.unshift(String(v % 1000).padStart(3, '0'));
    v = Math.floor(v / 1000);
  } while (v > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join('/');
}

/** Parses the `<N>` path elements back to an index; null unless exactly in canonical form. */
export function decodeTileIndex(s: string): number | null {
  const parts = s.split('/');
  let n = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    const last = i === parts.length - 1;
    const m = last ? /^(\d{3})$/.exec(p) : /^x(\d{3})$/.exec(p);
    if (m === null) return null;
    n = n * 1000 + Number(m[1]);
  }
  // Canonical form: no superfluous leading "x000" elements.
  return encodeTileIndex(n) === s ? n : null;
}

/** `tile/<L>/<N>[.p/<W>]` (tlog-tiles, "Merkle Tree"); width 256 means full (no suffix). */
export function tilePath(level: number, n: number, width = TILE_WIDTH): string {
  if (!Number.isInteger(level) || level < 0 || level > 63) throw new RangeError(`bad tile level ${level}`);
  return `tile/${level}/${encodeTileIndex(n)}${partialSuffix(width)}`;
}

/** `tile/entries/<N>[.p/<W>]` (tlog-tiles, "Log entries"). */
export function bundlePath(n: number, width = TILE_WIDTH): string {
  return `tile/entries/${encodeTileIndex(n)}${partialSuffix(width)}`;
}

function partialSuffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new RangeError(`bad tile width ${width}`);
  // `<W>` is between 1 and 255; full tiles carry no suffix.
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

export type ParsedTilePath =
  | { kind: 'tile'; level: number; n: number; width: number }
  | { kind: 'entries'; n: number; width: number };

/** Parses a static tile or bundle path; null if it is not canonical. */
export function parseTilePath(p: string): ParsedTilePath | null {
  const m = /^tile\/(entries|0|[1-9]\d?)\/((?:x\d{3}\/)*\d{3})(?:\.p\/([1-9]\d{0,2}))?$/.exec(p);
  if (m === null) return null;
  const n = decodeTileIndex(m[2] as string);
  if (n === null) return null;
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  if (m[3] !== undefined && width > 255) return null;
  if (m[1] === 'entries') return { kind: 'entries', n, width };
  const level = Number(m[1]);
  if (level > 63) return null;
  return { kind: 'tile', level, n, width };
}

/** Number of hashes at tile level l (tree level 8l) for a tree of `size` leaves. */
export function hashesAtTileLevel(size: number, l: number): number {
  return Math.floor(size / TILE_WIDTH ** l);
}

/**
 * The tiles (full or partial) that make up a tree of `size` at tile level l:
 * tlog-tiles, "Partial Tiles": the partial tile at level l has floor(s / 256**l) mod 256 entries.
 */
export function tilesAtLevel(size: number, l: number): { fullCount: number; partialWidth: number } {
  const count = hashesAtTileLevel(size, l);
  return { fullCount: Math.floor(count / TILE_WIDTH), partialWidth: count % TILE_WIDTH };
}

/** Highest tile level that holds any hash for this size (0 for size < 256). */
export function topTileLevel(size: number): number {
  let l = 0;
  while (hashesAtTileLevel(size, l + 1) > 0) l++;
  return l;
}

/** Encodes an entry bundle: a sequence of big-endian uint16 length-prefixed entries. */
export function encodeBundle(entries: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_BYTES) throw new RangeError(`entry of ${e.length} bytes exceeds ${MAX_ENTRY_BYTES}`);
    total += 2 + e.length;
  }
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const e of entries) {
    out.writeUInt16BE(e.length, off);
    out.set(e, off + 2);
    off += 2 + e.length;
  }
  return out;
}

/** Decodes an entry bundle; throws on a truncated or over-long bundle. */
export function decodeBundle(buf: Uint8Array): Buffer[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + 2 > b.length) throw new Error(`entry bundle truncated at byte ${off}`);
    const len = b.readUInt16BE(off);
    if (off + 2 + len > b.length) throw new Error(`entry bundle truncated at byte ${off}`);
    out.push(b.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  if (out.length > TILE_WIDTH) throw new Error(`entry bundle holds ${out.length} entries, more than ${TILE_WIDTH}`);
  return out;
}

/** MTH of `count` (a power of two) consecutive 32-byte hashes in buf starting at hash `off`. */
export function hashRun(buf: Buffer, off: number, count: number): Buffer {
  if (count === 1) return buf.subarray(off * HASH_SIZE, (off + 1) * HASH_SIZE);
  let layer: Buffer[] = [];
  for (let i = 0; i < count; i += 2) {
    layer.push(
      hashChildren(
        buf.subarray((off + i) * HASH_SIZE, (off + i + 1) * HASH_SIZE),
        buf.subarray((off + i + 1) * HASH_SIZE, (off + i + 2) * HASH_SIZE),
      ),
    );
  }
  while (layer.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(hashChildren(layer[i] as Buffer, layer[i + 1] as Buffer));
    layer = next;
  }
  return layer[0] as Buffer;
}

/** Reads the tile at (level, n) holding at least the hashes a subtree needs; full tiles are 8,192 bytes. */
export type TileSource = (level: number, n: number) => Buffer;

/**
 * Complete-subtree hashes from tiles: a subtree at tree level k = 8L + r is the MTH of 2^r
 * consecutive hashes of a level-L tile (tlog-tiles: "The Merkle Tree levels between those
 * expressed by the tile hashes are reconstructed by hashing the leaves").
 */
export function subtreeFromTiles(source: TileSource, immutable?: (level: number, n: number) => boolean): SubtreeHashFn {
  // Full tiles never change: their in-between levels are hashed once and kept as long as the
  // source keeps the tile buffer alive (a proof then costs lookups, not ~250 hashes per tile).
  const memo = new WeakMap<Buffer, Buffer[]>();
  const edgeMemo = new Map<string, Buffer>();
  return (level, index) => {
    const L = Math.floor(level / TILE_HEIGHT);
    const r = level % TILE_HEIGHT;
    const width = 2 ** r;
    const first = index * width;
    const n = Math.floor(first / TILE_WIDTH);
    const tile = source(L, n);
    const off = first % TILE_WIDTH;
    if (tile.length < (off + width) * HASH_SIZE) {
      throw new RangeError(`tile ${tilePath(L, n)} is too short for subtree ${level}/${index}`);
    }
    if (r > 0 && immutable !== undefined && tile.length === FULL_TILE_BYTES && immutable(L, n)) {
      let levels = memo.get(tile);
      if (levels === undefined) {
        levels = tileLevels(tile);
        memo.set(tile, levels);
      }
      const i = off >> r;
      return (levels[r] as Buffer).subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
    }
    if (r === 0 || immutable === undefined) return hashRun(tile, off, width);
    // A partial (edge) tile still grows, but a complete subtree inside it never changes: the
    // right-edge subtrees every proof needs are hashed once per checkpoint, not per proof.
    const key = `${level}/${index}`;
    let h = edgeMemo.get(key);
    if (h === undefined) {
      h = hashRun(tile, off, width);
      if (edgeMemo.size >= 4096) edgeMemo.clear();
      edgeMemo.set(key, h);
    }
    return h;
  };
}

/**
 * The tree levels inside a full tile: levels[r] holds the 256 / 2^r hashes of the tile's
 * subtrees of 2^r hashes (levels[0] is the tile itself), for r = 0..7.
 */
export function tileLevels(tile: Buffer): Buffer[] {
  const levels: Buffer[] = [tile];
  for (let r = 1; r < TILE_HEIGHT; r++) {
    const below = levels[r - 1] as Buffer;
    const count = TILE_WIDTH >> r;
    const out = Buffer.allocUnsafe(count * HASH_SIZE);
    for (let i = 0; i < count; i++) {
      hashChildren(below.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE), below.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE)).copy(out, i * HASH_SIZE);
    }
    levels.push(out);
  }
  return levels;
}

/** One tile under construction or completed, with its hashes in `buf` (width * 32 bytes used). */
export interface Tile {
  level: number;
  n: number;
  width: number;
  buf: Buffer;
}

/**
 * Appends leaf hashes and maintains the right edge of every tile level. When a tile fills up,
 * its MTH becomes the next hash of the tile level above, and `onFullTile` is told (so a writer
 * can persist it and a verifier can compare it).
 */
export class TreeBuilder {
  size = 0;
  /** edges[L]: the rightmost (partial) tile at tile level L; width 0 means empty. */
  readonly edges: Tile[] = [];
  onFullTile: ((tile: Tile) => void) | undefined;

  constructor(onFullTile?: (tile: Tile) => void) {
    this.onFullTile = onFullTile;
  }

  /** Seeds the builder from the right-edge tiles of an existing tree of `size` leaves. */
  static fromEdges(size: number, read: (level: number, n: number, width: number) => Buffer): TreeBuilder {
    const t = new TreeBuilder();
    t.size = size;
    const top = topTileLevel(size);
    for (let L = 0; L <= top; L++) {
      const { fullCount, partialWidth } = tilesAtLevel(size, L);
      const buf = Buffer.alloc(FULL_TILE_BYTES);
      if (partialWidth > 0) {
        const data = read(L, fullCount, partialWidth);
        if (data.length !== partialWidth * HASH_SIZE) {
          throw new Error(`${tilePath(L, fullCount, partialWidth)} has ${data.length} bytes, expected ${partialWidth * HASH_SIZE}`);
        }
        data.copy(buf);
      }
      t.edges.push({ level: L, n: fullCount, width: partialWidth, buf });
    }
    return t;
  }

  /** Appends the leaf hash of a new entry. */
  pushLeafHash(h: Buffer): void {
    this.size++;
    this.#push(0, h);
  }

  /** Appends an entry (hashing it per RFC 6962). Returns its leaf hash. */
  pushEntry(entry: Uint8Array): Buffer {
    const h = hashLeaf(entry);
    this.pushLeafHash(h);
    return h;
  }

  #push(L: number, h: Buffer): void {
    let edge = this.edges[L];
    if (edge === undefined) {
      edge = { level: L, n: 0, width: 0, buf: Buffer.alloc(FULL_TILE_BYTES) };
      this.edges[L] = edge;
    }
    h.copy(edge.buf, edge.width * HASH_SIZE);
    edge.width++;
    if (edge.width === TILE_WIDTH) {
      const full = edge;
      this.edges[L] = { level: L, n: full.n + 1, width: 0, buf: Buffer.alloc(FULL_TILE_BYTES) };
      this.onFullTile?.(full);
      // "each hash in a tile is the Merkle Tree Hash of a *full* tile at the level below".
      this.#push(L + 1, hashRun(full.buf, 0, TILE_WIDTH));
    }
  }

  /**
   * The root hash of the current tree, from the right-edge tiles only: each set bit k of the
   * size is a complete subtree of 2^k leaves inside the partial tile at level floor(k/8).
   */
  root(): Buffer {
    if (this.size === 0) return EMPTY_ROOT;
    const parts: Buffer[] = [];
    for (let L = this.edges.length - 1; L >= 0; L--) {
      const edge = this.edges[L] as Tile;
      let off = 0;
      for (let r = TILE_HEIGHT - 1; r >= 0; r--) {
        const width = 2 ** r;
        if (edge.width & width) {
          parts.push(hashRun(edge.buf, off, width));
          off += width;
        }
      }
    }
    let h = parts[parts.length - 1] as Buffer;
    for (let i = parts.length - 2; i >= 0; i--) h = hashChildren(parts[i] as Buffer, h);
    return h;
  }

  /** The edge tile at level L if it is tile n, else undefined. */
  edgeTile(L: number, n: number): Tile | undefined {
    const e = this.edges[L];
    return e !== undefined && e.n === n ? e : undefined;
  }
}
