// Integration: the in-memory Merkle tree of a log and its c2sp.org/tlog-tiles export. Durable
// entries enter the tree as they are acknowledged; every checkpoint interval the tiles and entry
// bundles that changed since the last integration are written and fsync'ed (two files at a time,
// so they hold at most two of libuv's threads and never queue ahead of a journal write), and only
// then may a checkpoint covering them be signed (checkpoint-signing.ts).
//
// Full tiles stay in memory (LRU of 2,048, about 32 MiB with their inner levels) so proofs
// neither read the disk nor rehash a tile; full bundles are encoded as they fill.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { BundleStore } from './bundle-store.ts';
import { LedgerError, unavailable } from './errors.ts';
import { fsyncDir, writeFileDurable } from '../common/durable-file.ts';
import type { SubtreeHashFn } from './merkle.ts';
import type { LedgerStats } from './stats.ts';
import { TileCache } from './tile-cache.ts';
import {
  FULL_TILE_BYTES,
  TILE_WIDTH,
  TreeBuilder,
  bundlePath,
  decodeBundle,
  encodeBundle,
  subtreeFromTiles,
  tilePath,
  tilesAtLevel,
  topTileLevel,
  type Tile,
} from './tiles.ts';

/** Tile and bundle files written concurrently by an integration (libuv has 4 threads). */
const TILE_WRITERS = 2;

export class TiledTree {
  readonly #dir: string;
  readonly #stats: LedgerStats;
  #tree: TreeBuilder;
  /** Full tiles not yet on disk, keyed "L/n". */
  readonly #unflushed = new Map<string, Buffer>();
  /** Full entry bundles not yet on disk, by bundle index: encoded as each fills, not all at once. */
  readonly #unflushedBundles = new BundleStore();
  /**
   * Entries from #edgeBase (a multiple of 256) to size: normally just the partial bundle's, as
   * each full bundle is encoded into #unflushedBundles when it fills (after a rebuild from
   * bundles, everything until the first integration).
   */
  #edgeEntries: Buffer[] = [];
  #edgeBase = 0;
  /** Size up to which tiles and bundles are durably on disk. */
  #tiledSize = 0;
  /** Full hash tiles (written or read back; their inner levels are memoized alongside). */
  readonly #cache = new TileCache(2048);
  /** Full entry bundles read back from disk. */
  readonly #bundles = new TileCache(64);

  constructor(dir: string, stats: LedgerStats) {
    this.#dir = dir;
    this.#stats = stats;
    this.#tree = new TreeBuilder(this.#onFullTile);
  }

  get size(): number {
    return this.#tree.size;
  }

  /** Size up to which tiles and bundles are durable. */
  get tiledSize(): number {
    return this.#tiledSize;
  }

  root(): Buffer {
    return this.#tree.root();
  }

  /** A durable entry whose leaf hash is already computed (the append path). */
  pushLeaf(bytes: Buffer, leaf: Buffer): void {
    this.#edgeEntries.push(bytes);
    this.#tree.pushLeafHash(leaf);
  }

  /** A durable entry read back (WAL replay, another replica's append). */
  pushEntry(bytes: Buffer): void {
    this.#edgeEntries.push(bytes);
    this.#tree.pushEntry(bytes);
  }

  /**
   * Recovery: the tree at `tree.size` with its tiles durable up to `tiledSize`, and the entries
   * from `edgeBase` (a multiple of 256) held in memory.
   */
  restore(tree: TreeBuilder, tiledSize: number, edgeBase: number, edgeEntries: Buffer[]): void {
    tree.onFullTile = this.#onFullTile;
    this.#tree = tree;
    this.#tiledSize = tiledSize;
    this.#edgeBase = edgeBase;
    this.#edgeEntries = edgeEntries;
  }

  #onFullTile = (t: Tile): void => {
    this.#unflushed.set(`${t.level}/${t.n}`, t.buf);
    if (t.level !== 0) return;
    // Level-0 tile n is full, so bundle n is too: encode it now (spreads the work over appends
    // instead of pausing the event loop for every bundle at the once-a-second integration).
    const from = t.n * TILE_WIDTH - this.#edgeBase;
    if (from < 0 || from + TILE_WIDTH > this.#edgeEntries.length) return;
    this.#unflushedBundles.add(t.n, this.#edgeEntries.slice(from, from + TILE_WIDTH));
    if (from === 0) {
      // The bundle now holds these entries: let go of them, so at most one bundle's worth of
      // small buffers stays alive between integrations (fewer survivors for the GC to copy).
      this.#edgeEntries = this.#edgeEntries.slice(TILE_WIDTH);
      this.#edgeBase += TILE_WIDTH;
    }
  };

  /**
   * Writes every tile and bundle that differs between the durable tiled size and the current
   * size (c2sp.org/tlog-tiles: full tiles, and partial ones named `<N>.p/<W>`), fsyncs them and
   * their directories; resolves with the size and root they cover.
   */
  async integrate(): Promise<{ size: number; root: Buffer }> {
    const S = this.#tree.size;
    // Snapshot (synchronously) every tile and bundle that differs between #tiledSize and S.
    const writes: { rel: string; data: Buffer }[] = [];
    const flushedKeys: string[] = [];
    const top = topTileLevel(S);
    for (let L = 0; L <= top; L++) {
      const now = tilesAtLevel(S, L);
      const before = tilesAtLevel(this.#tiledSize, L);
      for (let n = before.fullCount; n < now.fullCount; n++) {
        const key = `${L}/${n}`;
        const data = this.#unflushed.get(key);
        if (data === undefined) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `full tile ${key} missing from memory`);
        writes.push({ rel: tilePath(L, n), data });
        flushedKeys.push(key);
      }
      if (now.partialWidth > 0) {
        const edge = this.#tree.edgeTile(L, now.fullCount) as Tile;
        writes.push({ rel: tilePath(L, now.fullCount, now.partialWidth), data: Buffer.from(edge.buf.subarray(0, now.partialWidth * 32)) });
      }
    }
    const firstBundle = Math.floor(this.#tiledSize / TILE_WIDTH);
    for (let n = firstBundle; n * TILE_WIDTH < S; n++) {
      const from = n * TILE_WIDTH;
      const to = Math.min(S, from + TILE_WIDTH);
      const ready = to - from === TILE_WIDTH ? this.#unflushedBundles.get(n) : undefined;
      if (ready === undefined && from < this.#edgeBase) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `entry bundle ${n} missing from memory`);
      writes.push({ rel: bundlePath(n, to - from), data: ready ?? encodeBundle(this.#edgeEntries.slice(from - this.#edgeBase, to - this.#edgeBase)) });
    }
    const root = this.#tree.root();
    try {
      // At most TILE_WRITERS files at a time: tile I/O holds at most two of libuv's four threads,
      // so journal writes (the append latency) never queue behind hundreds of tile operations.
      const dirs = new Set<string>();
      for (const w of writes) dirs.add(path.dirname(path.join(this.#dir, w.rel)));
      for (const d of dirs) await mkdir(d, { recursive: true });
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let w = writes[next++]; w !== undefined; w = writes[next++]) {
          await writeFileDurable(path.join(this.#dir, w.rel), w.data, { mode: 0o644, syncDir: false });
          this.#stats.fileSyncs++;
        }
      };
      await Promise.all(Array.from({ length: TILE_WRITERS }, worker));
      for (const d of dirs) {
        await fsyncDir(d);
        this.#stats.fileSyncs++;
      }
    } catch (err) {
      throw unavailable('writing tiles failed', err);
    }
    // Tiles up to S are durable: move full tiles to the LRU (proofs keep using the same buffers).
    this.#tiledSize = S;
    for (const k of flushedKeys) {
      const t = this.#unflushed.get(k);
      if (t !== undefined) this.#cache.set(k, t);
      this.#unflushed.delete(k);
    }
    const newBase = Math.floor(S / TILE_WIDTH) * TILE_WIDTH;
    this.#unflushedBundles.release(S);
    if (newBase > this.#edgeBase) {
      this.#edgeEntries = this.#edgeEntries.slice(newBase - this.#edgeBase);
      this.#edgeBase = newBase;
    }
    return { size: S, root };
  }

  /** Tile source for proofs: in-memory edge, unflushed full tiles, then full tiles on disk. */
  #tileSource = (L: number, n: number): Buffer => {
    const edge = this.#tree.edgeTile(L, n);
    if (edge !== undefined) return edge.buf;
    const key = `${L}/${n}`;
    const mem = this.#unflushed.get(key);
    if (mem !== undefined) return mem;
    return this.#cache.get(key, () => {
      const b = readFileSync(path.join(this.#dir, tilePath(L, n)));
      if (b.length !== FULL_TILE_BYTES) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `${tilePath(L, n)} is ${b.length} bytes, not ${FULL_TILE_BYTES}`);
      return b;
    });
  };

  /** Subtree hashes of the tree (RFC 6962 MTH of any aligned range), from tiles. */
  readonly subtree: SubtreeHashFn = subtreeFromTiles(this.#tileSource, (L, n) => this.#tree.edgeTile(L, n) === undefined);

  /** The stored bytes of entry `index` (must be < size). */
  entry(index: number): Buffer {
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.size)) throw new LedgerError('SOVEREIGN_LEDGER_NOT_FOUND', `no entry ${index} (log size ${this.size})`);
    if (index >= this.#edgeBase) return this.#edgeEntries[index - this.#edgeBase] as Buffer;
    const n = Math.floor(index / TILE_WIDTH);
    const unflushed = this.#unflushedBundles.get(n);
    const bundle = unflushed ?? this.#bundles.get(String(n), () => readFileSync(path.join(this.#dir, bundlePath(n))));
    const entries = decodeBundle(bundle);
    const e = entries[index % TILE_WIDTH];
    if (e === undefined) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `${bundlePath(n)} has no entry ${index}`);
    // An unflushed bundle's memory is reused once its file is written: hand out a copy.
    return unflushed === undefined ? e : Buffer.from(e);
  }
}
