// A region's transparency log on the local file system.
//
// `dir` IS the c2sp.org/tlog-tiles static layout (checkpoint, tile/<L>/<N>[.p/<W>],
// tile/entries/<N>[.p/<W>]) and can be copied to object storage as-is. Private state (the
// write-ahead log, the authoritative copy of the last signed checkpoint, the lock) lives in
// the sibling `<dir>-state/`; keys live in `keyDir`.
//
// Write path: append -> queue -> (next turn of the event loop) one WAL write for everything
// queued in this turn -> resolve once durable (group commit: one synchronous write per batch, not
// per append). Up to MAX_WRITES_IN_FLIGHT batches are written at once, so the next batch does not
// wait for the previous one's flush; they are acknowledged strictly in order (walfile.ts).
// Every checkpointIntervalMs (1 s) while there are new entries, tiles and bundles are written
// and fsync'ed two files at a time (so they hold at most two of libuv's threads and never queue
// ahead of a WAL write), and only then is a checkpoint signed (tlog-checkpoint, "Signatures":
// never sign two inconsistent checkpoints — enforced by a consistency check plus compare-and-swap
// on the state copy). Full tiles stay in memory (LRU of 2,048, about 32 MiB with their inner
// levels) so proofs neither read the disk nor rehash a tile; full bundles are encoded as they fill.
//
// With `backend: { kind: 'postgres', ... }` (src/ledger/pg.ts) there is no WAL: appends commit to
// a table shared by the region's replicas, and integration first reads entries back from it
// (the sequencer: all of them; a follower: up to the latest stored checkpoint, whose root it
// checks). Tiles, bundles and the checkpoint are still exported to `dir` by every replica.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatCheckpoint, openCheckpoint } from './checkpoint.ts';
import { serializeEntry } from './entries.ts';
import { LedgerError } from './errors.ts';
import { fsyncDir, fsyncDirSync, readIfExists, writeDurable } from './fsutil.ts';
import { loadLogSigner, loadRequestHasher } from './keys.ts';
import { consistencyProof, hashLeaf, inclusionProof, rangeHash, verifyConsistency, type SubtreeHashFn } from './merkle.ts';
import { parseNote, parseVkey, signNote, type NoteVerifier } from './note.ts';
import { PgStore, type PgBackendOptions } from './pg.ts';
import {
  FULL_TILE_BYTES,
  TILE_WIDTH,
  TreeBuilder,
  bundlePath,
  decodeBundle,
  encodeBundle,
  parseTilePath,
  subtreeFromTiles,
  tilePath,
  tilesAtLevel,
  topTileLevel,
  type Tile,
} from './tiles.ts';
import { BundleStore } from './bundle-store.ts';
import { formatTlogProof } from './tlogproof.ts';
import { encodeRecords, recordsSize } from './wal.ts';
import { WAL_SEGMENT_BYTES, WalFile } from './walfile.ts';

export interface LedgerOptions {
  /** The static tlog-tiles directory for this region's log (e.g. `<regionDataDir>/ledger`). */
  dir: string;
  /** Checkpoint origin, e.g. `sovereign.example/ledger/eu-frankfurt`; also the signing key name. */
  origin: string;
  /** Directory holding this region's keys (created 0700; key files 0600). */
  keyDir: string;
  /** How often to sign a checkpoint while there are new entries (default 1000 ms). */
  checkpointIntervalMs?: number;
  /** Private state directory (default: `<dir>-state`, outside the static tree). */
  stateDir?: string;
  /** Rotate the write-ahead log to a new segment above this many bytes (default 32 MiB). */
  walSegmentBytes?: number;
  /**
   * Where appends are made durable. `file` (default): the embedded WAL in `stateDir`, one
   * process per log. `postgres`: a table shared by the region's gateway replicas (each with its
   * own `dir`/`stateDir`); one replica at a time sequences and signs, all export the static
   * layout. See src/ledger/pg.ts.
   */
  backend?: { kind: 'file' } | PgBackendOptions;
}

export type { PgBackendOptions };

export interface StaticResource {
  body: Buffer;
  contentType: string;
  /** true for tiles and bundles (cache forever), false for the checkpoint (cache seconds). */
  immutable: boolean;
}

interface Pending {
  bytes: Buffer;
  leaf: Buffer;
  resolve: (r: { index: number }) => void;
  reject: (e: unknown) => void;
}

interface SignedState {
  size: number;
  root: Buffer;
  /** The log-signed note (no cosignatures). */
  note: string;
  text: string;
  /** Witness cosignature lines for this checkpoint. */
  cosignatures: string[];
}

/** A group-committed batch: its first index, its appends, and where it stands. */
interface Batch {
  start: number;
  items: Pending[];
  /** WAL offset of its first record (where to cut if its write fails). */
  at: number;
  /** The allocation the records are encoded into (reused once the write is done). */
  backing: Buffer;
  settled: boolean;
  error: unknown;
}

/** Counters of the work done, for benchmarks and metrics (see {@link Ledger.stats}). */
export interface LedgerStats {
  /** Entries made durable. */
  appends: number;
  /** Synchronous WAL writes (one per group-committed batch): the WAL's fsyncs. */
  walSyncs: number;
  /** Background zero-fill writes that preallocate WAL segments (synchronous too). */
  walPreallocs: number;
  /** WAL segments opened. */
  walRotations: number;
  /** Files (tiles, bundles, checkpoints) and directories fsync'ed by integration and signing. */
  fileSyncs: number;
  /** Checkpoints signed. */
  checkpoints: number;
}

const CHECKPOINT = 'checkpoint';
/**
 * WAL writes in flight at once: the next batch is written while the previous one flushes, so a
 * batch waits for at most one flush ahead of its own. Two keep the device busy; more only make
 * batches smaller.
 */
const MAX_WRITES_IN_FLIGHT = 2;
/** Smallest write buffer allocated (about 180 decision entries). */
const WRITE_BUFFER_BYTES = 64 * 1024;
/** Tile and bundle files written concurrently by an integration (libuv has 4 threads). */
const TILE_WRITERS = 2;
const unavailable = (what: string, cause: unknown): LedgerError =>
  new LedgerError('SOVEREIGN_LEDGER_UNAVAILABLE', `ledger unavailable: ${what}: ${(cause as Error)?.message ?? String(cause)}; check the disk under the ledger directory`, { cause });

/** Small LRU of full tiles read back from disk (they're immutable). */
class TileCache {
  readonly #max: number;
  readonly #map = new Map<string, Buffer>();
  constructor(max: number) {
    this.#max = max;
  }
  set(key: string, v: Buffer): void {
    this.#map.delete(key);
    this.#map.set(key, v);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
  }
  get(key: string, load: () => Buffer): Buffer {
    const hit = this.#map.get(key);
    if (hit !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    const v = load();
    this.#map.set(key, v);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
    return v;
  }
}

/** A region's append-only, C2SP-formatted transparency log. Create with {@link openLedger}. */
export class Ledger {
  /** Absolute path of the static tlog-tiles directory. */
  readonly dir: string;
  readonly stateDir: string;
  readonly origin: string;
  /** The log's verifier key, `<origin>+<hash>+<base64(0x01 || pubkey)>` (signed-note vkey). */
  readonly verifierKey: string;
  /** Hex HMAC-SHA-256 of request bytes under the region's secret (so short prompts can't be guessed). */
  readonly requestHash: (bytes: Uint8Array | string) => string;

  readonly #signer: ReturnType<typeof loadLogSigner>;
  readonly #verifier: NoteVerifier;
  readonly #intervalMs: number;
  readonly #walSegmentBytes: number;
  #tree = new TreeBuilder();
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
  #signed: SignedState;
  /** Full hash tiles (written or read back; their inner levels are memoized alongside). */
  readonly #cache = new TileCache(2048);
  /** Full entry bundles read back from disk. */
  readonly #bundles = new TileCache(64);
  readonly #stats: LedgerStats = { appends: 0, walSyncs: 0, walPreallocs: 0, walRotations: 0, fileSyncs: 0, checkpoints: 0 };

  /** Appends not yet handed to a write. */
  #queue: Pending[] = [];
  #pumpScheduled = false;
  /** Batches being written, oldest first; acknowledged in this order. */
  #inflight: Batch[] = [];
  /** Index of the next record to be written (size + entries in flight). */
  #nextIndex = 0;
  /** A rotation, a cut after a failed write, or a PostgreSQL commit holds the pipeline. */
  #holding = false;
  #idleWaiters: (() => void)[] = [];
  #wal: WalFile | null = null;
  /**
   * Write buffers no write is using: reused, so a batch allocates nothing outside the heap
   * (large short-lived buffers push V8 into frequent full collections, which stall appends).
   */
  #spareBuffers: Buffer[] = [];
  #broken: LedgerError | null = null;
  #closed = false;
  #integrating: Promise<string> | null = null;
  #timer: NodeJS.Timeout | undefined;
  #lockFile: string;
  readonly #backend: { kind: 'file' } | PgBackendOptions;
  #pg: PgStore | null = null;

  private constructor(opts: LedgerOptions, signer: ReturnType<typeof loadLogSigner>, requestHash: (b: Uint8Array | string) => string) {
    this.dir = path.resolve(opts.dir);
    this.stateDir = path.resolve(opts.stateDir ?? `${this.dir}-state`);
    this.origin = opts.origin;
    this.#signer = signer;
    this.verifierKey = signer.vkey;
    this.#verifier = parseVkey(signer.vkey);
    this.requestHash = requestHash;
    this.#intervalMs = opts.checkpointIntervalMs ?? 1000;
    this.#walSegmentBytes = opts.walSegmentBytes ?? WAL_SEGMENT_BYTES;
    this.#lockFile = path.join(this.stateDir, 'lock');
    this.#backend = opts.backend ?? { kind: 'file' };
    this.#signed = { size: 0, root: this.#tree.root(), note: '', text: '', cosignatures: [] };
  }

  /** Opens (creating or recovering) the log. See {@link openLedger}. */
  static async open(opts: LedgerOptions): Promise<Ledger> {
    const signer = loadLogSigner(opts.keyDir, opts.origin);
    const l = new Ledger(opts, signer, loadRequestHasher(opts.keyDir));
    await l.#recover();
    return l;
  }

  /**
   * Number of durably appended entries (some may not be covered by a checkpoint yet). With the
   * PostgreSQL backend: the entries this replica has read back (the sequencer reads all at each
   * integration; a follower reads up to the latest signed checkpoint).
   */
  get size(): number {
    return this.#tree.size;
  }

  /** Size of the latest signed checkpoint. */
  get checkpointSize(): number {
    return this.#signed.size;
  }

  /**
   * Appends an entry (validated against the entry schemas, stored as RFC 8785 JSON). Resolves
   * with its index once it is fdatasync'ed in the WAL; rejects with code
   * SOVEREIGN_LEDGER_UNAVAILABLE if the disk can't be written (fail closed), or
   * SOVEREIGN_LEDGER_BAD_ENTRY if the entry doesn't match a schema.
   */
  append(entry: unknown): Promise<{ index: number }> {
    if (this.#closed) return Promise.reject(new LedgerError('SOVEREIGN_LEDGER_CLOSED', 'ledger is closed'));
    if (this.#broken !== null) return Promise.reject(this.#broken);
    let bytes: Buffer;
    try {
      bytes = serializeEntry(entry);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.appendRaw(bytes);
  }

  /** Appends pre-serialized entry bytes (no schema check; for tools and benchmarks). */
  appendRaw(bytes: Buffer): Promise<{ index: number }> {
    if (this.#closed) return Promise.reject(new LedgerError('SOVEREIGN_LEDGER_CLOSED', 'ledger is closed'));
    if (this.#broken !== null) return Promise.reject(this.#broken);
    if (bytes.length > 0xffff) return Promise.reject(new LedgerError('SOVEREIGN_LEDGER_BAD_ENTRY', 'entry over 65535 bytes'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ bytes, leaf: hashLeaf(bytes), resolve, reject });
      this.#schedulePump();
    });
  }

  /**
   * Group commit: the queue is written on the next turn of the event loop, so everything
   * appended in this turn (for example by requests parsed from one read of the sockets) shares
   * one write.
   */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(this.#pump);
  }

  #pump = (): void => {
    this.#pumpScheduled = false;
    while (this.#queue.length > 0 && !this.#holding) {
      if (this.#broken !== null) {
        for (const p of this.#queue.splice(0)) p.reject(this.#broken);
        break;
      }
      if (this.#pg !== null) {
        this.#hold(this.#commitPg(this.#pg, this.#queue.splice(0)));
        break;
      }
      const wal = this.#wal as WalFile;
      // After a failed write nothing new is issued until the cut (see #cutAfterFailure).
      if (this.#inflight.length >= MAX_WRITES_IN_FLIGHT || this.#inflight.some((b) => b.error !== null)) break;
      if (wal.full) {
        // A segment starts at a known index: rotate once the writes in flight are acknowledged.
        if (this.#inflight.length === 0) this.#hold(this.#rotateWal(wal));
        break;
      }
      const items = this.#queue.splice(0);
      const bytes = items.map((p) => p.bytes);
      const size = recordsSize(bytes);
      const backing = this.#spareBuffer(size) ?? Buffer.allocUnsafeSlow(Math.max(WRITE_BUFFER_BYTES, size));
      const buf = encodeRecords(this.#nextIndex, bytes, backing);
      const batch: Batch = { start: this.#nextIndex, items, at: wal.offset, backing, settled: false, error: null };
      this.#nextIndex += items.length;
      this.#inflight.push(batch);
      wal.write(buf).then(
        () => this.#settle(batch, null),
        (err: unknown) => this.#settle(batch, err),
      );
    }
    this.#notifyIdle();
  };

  /** Runs `work` with the pipeline held (no new writes), then resumes it. */
  #hold(work: Promise<void>): void {
    this.#holding = true;
    void work.finally(() => {
      this.#holding = false;
      this.#pump();
    });
  }

  /** A spare write buffer of at least `size` bytes, if one is free and large enough. */
  #spareBuffer(size: number): Buffer | undefined {
    const i = this.#spareBuffers.findIndex((b) => b.length >= size);
    return i < 0 ? undefined : this.#spareBuffers.splice(i, 1)[0];
  }

  /** A write finished: acknowledge every batch at the head that is durable, in order. */
  #settle(batch: Batch, error: unknown): void {
    batch.settled = true;
    batch.error = error;
    // The write no longer reads its buffer: keep it for a later batch (unless it is outsized).
    if (this.#spareBuffers.length < MAX_WRITES_IN_FLIGHT && batch.backing.length <= 16 * WRITE_BUFFER_BYTES) this.#spareBuffers.push(batch.backing);
    for (let head = this.#inflight[0]; head?.settled === true && head.error === null; head = this.#inflight[0]) {
      this.#inflight.shift();
      this.#stats.appends += head.items.length;
      for (let i = 0; i < head.items.length; i++) {
        const p = head.items[i] as Pending;
        this.#edgeEntries.push(p.bytes);
        this.#tree.pushLeafHash(p.leaf);
        p.resolve({ index: head.start + i });
      }
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
   * A WAL write failed: every batch from it on is rejected (a later one that did reach the disk
   * sits behind the failed record, which recovery would cut), and the segment is cut where the
   * failed batch began so later records stay contiguous. If even the cut fails, the log stays
   * closed for appends (fail closed).
   */
  async #cutAfterFailure(failed: Batch): Promise<void> {
    const e = unavailable('write-ahead log append failed', failed.error);
    const rejected = this.#inflight.splice(0);
    this.#nextIndex = failed.start;
    try {
      await (this.#wal as WalFile).truncate(failed.at);
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
  #idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#inflight.length === 0 && !this.#holding) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** PostgreSQL backend: one transaction per batch; the sequencer reads entries back in order. */
  async #commitPg(store: PgStore, batch: Pending[]): Promise<void> {
    let start: number;
    try {
      start = await store.append(batch.map((p) => p.bytes));
    } catch (err) {
      const e = unavailable('PostgreSQL append failed', err);
      for (const p of batch) p.reject(e);
      return;
    }
    this.#stats.walSyncs++;
    this.#stats.appends += batch.length;
    for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve({ index: start + i });
  }

  /** Reads entries [tree.size, to) from PostgreSQL into the tree. */
  async #ingestPg(store: PgStore, to: number): Promise<void> {
    while (this.#tree.size < to) {
      const rows = await store.read(this.#tree.size, to);
      if (rows.length === 0) break;
      for (const e of rows) {
        this.#edgeEntries.push(e);
        this.#tree.pushEntry(e);
      }
    }
  }

  /**
   * PostgreSQL backend, before tiles are written: read the latest stored checkpoint, read the
   * entries it covers and check its root; the sequencer also reads every later entry.
   */
  async #syncPg(store: PgStore): Promise<{ size: number; root: Buffer; note: string; text: string } | null> {
    let seq: boolean;
    let stored;
    try {
      seq = await store.trySequencer();
      stored = await store.latestCheckpoint();
    } catch (err) {
      throw unavailable('reading from PostgreSQL failed', err);
    }
    let out: { size: number; root: Buffer; note: string; text: string } | null = null;
    if (stored !== null) {
      const cp = openCheckpoint(stored.note, this.#verifier, this.origin);
      if (cp.size < this.#signed.size) throw new LedgerError('SOVEREIGN_LEDGER_INCONSISTENT', `stored checkpoint ${cp.size} is below the one this replica served (${this.#signed.size})`);
      try {
        await this.#ingestPg(store, cp.size);
      } catch (err) {
        throw unavailable('reading entries from PostgreSQL failed', err);
      }
      if (this.#tree.size < cp.size) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `checkpoint of size ${cp.size} but only ${this.#tree.size} entries in PostgreSQL`);
      if (!rangeHash(this.#subtree, 0, cp.size).equals(cp.root)) {
        throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `entries in PostgreSQL don't match the signed checkpoint of size ${cp.size}`);
      }
      out = { size: cp.size, root: cp.root, note: stored.note, text: cp.text };
    }
    if (seq) {
      try {
        await this.#ingestPg(store, Infinity);
      } catch (err) {
        throw unavailable('reading entries from PostgreSQL failed', err);
      }
    }
    return out;
  }

  /**
   * PostgreSQL backend, once tiles up to `size` are durable: the sequencer signs and stores the
   * checkpoint (compare-and-swap on the stored one); a follower serves the stored checkpoint.
   */
  async #publishPg(store: PgStore, size: number, root: Buffer, stored: { size: number; root: Buffer; note: string; text: string } | null): Promise<void> {
    let next = stored;
    if (store.isSequencer && (stored === null || size > stored.size)) {
      if (stored !== null) {
        const proof = consistencyProof(this.#subtree, stored.size, size);
        if (!verifyConsistency(stored.size, size, proof, stored.root, root)) {
          throw new LedgerError('SOVEREIGN_LEDGER_INCONSISTENT', `tree of size ${size} is not consistent with stored checkpoint ${stored.size}; refusing to sign`);
        }
      }
      const text = formatCheckpoint({ origin: this.origin, size, root });
      const note = signNote(text, [this.#signer]);
      let swapped: boolean;
      try {
        swapped = await store.swapCheckpoint(stored?.note ?? '', size, note);
      } catch (err) {
        throw unavailable('storing the checkpoint in PostgreSQL failed', err);
      }
      if (!swapped) throw new LedgerError('SOVEREIGN_LEDGER_LOCKED', `the stored checkpoint of ${this.origin} changed under us (another sequencer?); refusing to serve ours`);
      this.#stats.checkpoints++;
      next = { size, root, note, text };
    }
    if (next === null || next.note === this.#signed.note || next.size < this.#signed.size) return;
    this.#signed = { size: next.size, root: next.root, note: next.note, text: next.text, cosignatures: [] };
    try {
      await writeDurable(path.join(this.dir, CHECKPOINT), Buffer.from(next.note));
      await fsyncDir(this.dir);
      this.#stats.fileSyncs += 2;
    } catch (err) {
      throw unavailable('writing checkpoint failed', err);
    }
  }

  /** Counters of the work done so far (fsyncs per append = (walSyncs + fileSyncs) / appends). */
  stats(): LedgerStats {
    return { ...this.#stats };
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

  /** Tile source for proofs: in-memory edge, unflushed full tiles, then full tiles on disk. */
  #tileSource = (L: number, n: number): Buffer => {
    const edge = this.#tree.edgeTile(L, n);
    if (edge !== undefined) return edge.buf;
    const key = `${L}/${n}`;
    const mem = this.#unflushed.get(key);
    if (mem !== undefined) return mem;
    return this.#cache.get(key, () => {
      const b = readFileSync(path.join(this.dir, tilePath(L, n)));
      if (b.length !== FULL_TILE_BYTES) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `${tilePath(L, n)} is ${b.length} bytes, not ${FULL_TILE_BYTES}`);
      return b;
    });
  };

  #subtree: SubtreeHashFn = subtreeFromTiles(this.#tileSource, (L, n) => this.#tree.edgeTile(L, n) === undefined);

  /** The stored bytes of entry `index` (must be < size). */
  entry(index: number): Buffer {
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.size)) throw new LedgerError('SOVEREIGN_LEDGER_NOT_FOUND', `no entry ${index} (log size ${this.size})`);
    if (index >= this.#edgeBase) return this.#edgeEntries[index - this.#edgeBase] as Buffer;
    const n = Math.floor(index / TILE_WIDTH);
    const unflushed = this.#unflushedBundles.get(n);
    const bundle = unflushed ?? this.#bundles.get(String(n), () => readFileSync(path.join(this.dir, bundlePath(n))));
    const entries = decodeBundle(bundle);
    const e = entries[index % TILE_WIDTH];
    if (e === undefined) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `${bundlePath(n)} has no entry ${index}`);
    // An unflushed bundle's memory is reused once its file is written: hand out a copy.
    return unflushed === undefined ? e : Buffer.from(e);
  }

  /** The latest signed checkpoint note, with any witness cosignatures ('' before the first). */
  checkpoint(): string {
    return this.#signed.note === '' ? '' : this.#signed.note + this.#signed.cosignatures.join('');
  }

  /**
   * Writes tiles for everything appended so far and signs a checkpoint now (on demand).
   * Resolves with the checkpoint note; concurrent calls share one run.
   */
  publish(): Promise<string> {
    if (this.#integrating !== null) {
      // A run is in flight; chain one more so entries appended meanwhile are covered too.
      return this.#integrating.then(() => this.publish());
    }
    const p = this.#integrate().finally(() => {
      this.#integrating = null;
    });
    this.#integrating = p;
    return p;
  }

  async #integrate(): Promise<string> {
    const stored = this.#pg === null ? null : await this.#syncPg(this.#pg);
    const S = this.#tree.size;
    if (S === this.#signed.size && this.#tiledSize === S && this.#signed.note !== '') return this.checkpoint();
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
      // so WAL writes (the append latency) never queue behind hundreds of tile operations.
      const dirs = new Set<string>();
      for (const w of writes) dirs.add(path.dirname(path.join(this.dir, w.rel)));
      for (const d of dirs) await mkdir(d, { recursive: true });
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let w = writes[next++]; w !== undefined; w = writes[next++]) {
          await writeDurable(path.join(this.dir, w.rel), w.data);
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
    if (this.#pg !== null) await this.#publishPg(this.#pg, S, root, stored);
    else await this.#sign(S, root);
    return this.checkpoint();
  }

  /** Signs (size, root) if consistent with the last signed state; CAS on the state copy. */
  async #sign(size: number, root: Buffer): Promise<void> {
    const prev = this.#signed;
    if (size < prev.size) throw new LedgerError('SOVEREIGN_LEDGER_INCONSISTENT', `refusing to sign size ${size} below signed size ${prev.size}`);
    if (prev.note !== '' && prev.size > 0) {
      const proof = consistencyProof(this.#subtree, prev.size, size);
      if (!verifyConsistency(prev.size, size, proof, prev.root, root)) {
        throw new LedgerError('SOVEREIGN_LEDGER_INCONSISTENT', `tree of size ${size} is not consistent with signed checkpoint ${prev.size}; refusing to sign`);
      }
    }
    const text = formatCheckpoint({ origin: this.origin, size, root });
    const note = signNote(text, [this.#signer]);
    const stateFile = path.join(this.stateDir, CHECKPOINT);
    try {
      // Compare-and-swap: the state copy must still be the checkpoint we last signed.
      const onDisk = readIfExists(stateFile)?.toString('utf8') ?? '';
      if (onDisk !== prev.note) throw new LedgerError('SOVEREIGN_LEDGER_LOCKED', `${stateFile} changed under us (another writer?); refusing to sign`);
      await writeDurable(stateFile, Buffer.from(note));
      await fsyncDir(this.stateDir);
      this.#signed = { size, root, note, text, cosignatures: [] };
      await writeDurable(path.join(this.dir, CHECKPOINT), Buffer.from(note));
      await fsyncDir(this.dir);
      this.#stats.fileSyncs += 4;
      this.#stats.checkpoints++;
    } catch (err) {
      if (err instanceof LedgerError) throw err;
      throw unavailable('writing checkpoint failed', err);
    }
    // Everything below `size` is now in tiles: closed WAL segments that end there can go.
    await this.#wal?.prune(size);
  }

  /** Starts a new WAL segment at the next index (the pipeline is held and empty). */
  async #rotateWal(wal: WalFile): Promise<void> {
    try {
      await wal.rotate(this.#nextIndex);
    } catch (err) {
      this.#broken = unavailable('rotating the write-ahead log failed', err);
      return;
    }
    await wal.prune(this.#signed.size);
  }

  /**
   * A C2SP tlog-proof for entry `index` against the latest checkpoint (signing one first if
   * the entry isn't covered yet). The entry's canonical JSON rides in the `extra` line.
   */
  async proof(index: number): Promise<string> {
    if (this.#pg !== null) {
      // Another replica may have appended it: wait (a few checkpoint intervals) for a checkpoint.
      for (let i = 0; i < 50 && Number.isSafeInteger(index) && index >= this.#signed.size; i++) {
        await this.publish();
        if (index >= this.#signed.size) await new Promise((r) => setTimeout(r, this.#intervalMs / 10));
      }
    }
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.size)) throw new LedgerError('SOVEREIGN_LEDGER_NOT_FOUND', `no entry ${index} (log size ${this.size})`);
    if (index >= this.#signed.size) await this.publish();
    const cp = this.#signed;
    const hashes = inclusionProof(this.#subtree, index, cp.size);
    return formatTlogProof({ index, proof: hashes, checkpoint: this.checkpoint(), extra: this.entry(index) });
  }

  /** A consistency proof between two sizes (both at most the signed size). */
  consistency(oldSize: number, newSize = this.#signed.size): Buffer[] {
    if (newSize > this.size) throw new LedgerError('SOVEREIGN_LEDGER_NOT_FOUND', `size ${newSize} is beyond the log`);
    return consistencyProof(this.#subtree, oldSize, newSize);
  }

  /** The tlog-witness add-checkpoint request body for the latest checkpoint, from `oldSize`. */
  witnessRequest(oldSize: number): string {
    const proof = oldSize === 0 ? [] : this.consistency(oldSize, this.#signed.size);
    return `old ${oldSize}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${this.#signed.note}`;
  }

  /**
   * Attaches witness cosignature lines (a tlog-witness add-checkpoint response body) to the
   * latest checkpoint, keeping only lines that verify against one of `witnessKeys` (vkeys).
   * Rewrites the served checkpoint; returns how many cosignatures were added.
   */
  async addCosignature(signatureLines: string, witnessKeys: readonly string[]): Promise<number> {
    const cp = this.#signed;
    if (cp.note === '') return 0;
    const verifiers = witnessKeys.map(parseVkey);
    const parsed = parseNote(`${cp.text}\n${signatureLines.endsWith('\n') ? signatureLines : `${signatureLines}\n`}`);
    let added = 0;
    for (const s of parsed.signatures) {
      const v = verifiers.find((k) => k.name === s.name && k.keyId.equals(s.keyId));
      if (v === undefined || !v.verify(cp.text, s.sig)) continue;
      if (cp.cosignatures.some((l) => l.startsWith(`\u2014 ${s.name} `))) continue;
      cp.cosignatures.push(s.line);
      added++;
    }
    if (added > 0 && this.#signed === cp) {
      try {
        await writeDurable(path.join(this.dir, CHECKPOINT), Buffer.from(this.checkpoint()));
      } catch (err) {
        throw unavailable('writing checkpoint failed', err);
      }
    }
    return added;
  }

  /**
   * Read-only serving helper for `/sovereign/ledger/<region>/<relPath>`: only `checkpoint` and
   * canonical tlog-tiles paths are served (no traversal, no state files); null if absent.
   */
  async readStatic(relPath: string): Promise<StaticResource | null> {
    const rel = relPath.replace(/^\/+/, '');
    const isCheckpoint = rel === CHECKPOINT;
    if (!isCheckpoint && parseTilePath(rel) === null) return null;
    try {
      const body = await readFile(path.join(this.dir, rel));
      return isCheckpoint
        ? { body, contentType: 'text/plain; charset=utf-8', immutable: false }
        : { body, contentType: 'application/octet-stream', immutable: true };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw unavailable(`reading ${rel} failed`, err);
    }
  }

  /** Waits for queued appends, signs a final checkpoint, and releases the log. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#idle();
    if (this.#broken === null) {
      try {
        await this.publish();
      } catch {
        // Entries stay in the WAL; the next open() integrates them.
      }
      await this.#idle();
    }
    await this.#wal?.close();
    await this.#pg?.close();
    rmSync(this.#lockFile, { force: true });
  }

  #acquireLock(): void {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(this.#lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number(readIfExists(this.#lockFile)?.toString('utf8'));
        let alive = false;
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
          try {
            process.kill(pid, 0);
            alive = true;
          } catch (e) {
            alive = (e as NodeJS.ErrnoException).code === 'EPERM';
          }
        }
        if (alive) throw new LedgerError('SOVEREIGN_LEDGER_LOCKED', `${this.dir} is open in process ${pid}; one writer per log`);
        rmSync(this.#lockFile, { force: true }); // stale (crashed writer)
      }
    }
    throw new LedgerError('SOVEREIGN_LEDGER_LOCKED', `could not lock ${this.#lockFile}`);
  }

  /** Reads the hashes of tile (L, n) of width w: the partial file, or a prefix of the full tile. */
  #readTileForWidth(L: number, n: number, w: number): Buffer {
    const partial = readIfExists(path.join(this.dir, tilePath(L, n, w)));
    if (partial !== null) return partial;
    const full = readIfExists(path.join(this.dir, tilePath(L, n)));
    if (full === null) throw new Error(`${tilePath(L, n, w)} is missing`);
    return full.subarray(0, w * 32);
  }

  #readBundleForWidth(n: number, w: number): Buffer[] {
    const partial = readIfExists(path.join(this.dir, bundlePath(n, w)));
    const data = partial ?? readIfExists(path.join(this.dir, bundlePath(n)));
    if (data === null) throw new Error(`${bundlePath(n, w)} is missing`);
    const entries = decodeBundle(data);
    if (entries.length < w || (partial !== null && entries.length !== w)) throw new Error(`${bundlePath(n, w)} holds ${entries.length} entries`);
    return entries.slice(0, w);
  }

  /** Rebuilds all tiles up to `size` from the entry bundles on disk. */
  #rebuildFromBundles(size: number): TreeBuilder {
    const t = new TreeBuilder(this.#onFullTile);
    for (let n = 0; n * TILE_WIDTH < size; n++) {
      const w = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
      for (const e of this.#readBundleForWidth(n, w)) t.pushEntry(e);
    }
    return t;
  }

  /**
   * PostgreSQL backend: the database is authoritative; the tree is rebuilt from its entries and
   * the static layout (re)exported at the first integration.
   */
  async #openPg(opts: PgBackendOptions): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.#acquireLock();
    this.#tree = new TreeBuilder(this.#onFullTile);
    try {
      this.#pg = await PgStore.connect(opts, this.origin, (err) => {
        this.#broken ??= unavailable('PostgreSQL connection lost', err);
      });
    } catch (err) {
      rmSync(this.#lockFile, { force: true });
      throw unavailable(`connecting to PostgreSQL for ${this.origin} failed`, err);
    }
    try {
      await this.publish();
    } catch (err) {
      await this.#pg.close();
      rmSync(this.#lockFile, { force: true });
      throw err;
    }
    this.#timer = setInterval(() => {
      // Followers poll for new checkpoints; a follower also takes over when the sequencer goes.
      if (this.#integrating === null && this.#broken === null) this.publish().catch(() => undefined);
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** With the PostgreSQL backend: true while this replica holds the sequencer lock. */
  get isSequencer(): boolean {
    return this.#pg?.isSequencer ?? true;
  }

  async #recover(): Promise<void> {
    if (this.#backend.kind === 'postgres') return this.#openPg(this.#backend);
    mkdirSync(this.dir, { recursive: true });
    this.#acquireLock();
    mkdirSync(path.join(this.stateDir, 'wal'), { recursive: true, mode: 0o700 });

    // 1. The last signed checkpoint: the state copy is authoritative (written before publishing).
    const stateNote = readIfExists(path.join(this.stateDir, CHECKPOINT))?.toString('utf8') ?? null;
    const servedNote = readIfExists(path.join(this.dir, CHECKPOINT))?.toString('utf8') ?? null;
    const note = stateNote ?? servedNote;
    let S = 0;
    if (note !== null) {
      const cp = openCheckpoint(note, this.#verifier, this.origin);
      S = cp.size;
      this.#signed = { size: cp.size, root: cp.root, note, text: cp.text, cosignatures: [] };
      if (stateNote === null) writeFileSync(path.join(this.stateDir, CHECKPOINT), note, { mode: 0o600 });
    }

    // 2. Right edge of the tree at S from the tiles; fall back to rebuilding from the bundles.
    let tree: TreeBuilder;
    try {
      tree = TreeBuilder.fromEdges(S, (L, n, w) => this.#readTileForWidth(L, n, w));
      if (!tree.root().equals(this.#signed.root)) throw new Error('tile root differs from the checkpoint');
    } catch {
      tree = this.#rebuildFromBundles(S);
      if (!tree.root().equals(this.#signed.root)) {
        throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `entry bundles in ${this.dir} don't match the signed checkpoint of size ${S}; run \`sovereign ledger verify\` to locate the damage`);
      }
      // Rebuilt tiles will be rewritten by the integration below.
      this.#tiledSize = 0;
      this.#tree = tree;
      this.#edgeBase = 0;
      this.#edgeEntries = [];
      for (let n = 0; n * TILE_WIDTH < S; n++) this.#edgeEntries.push(...this.#readBundleForWidth(n, Math.min(TILE_WIDTH, S - n * TILE_WIDTH)));
    }
    if (this.#tree !== tree) {
      tree.onFullTile = this.#onFullTile;
      this.#tree = tree;
      this.#tiledSize = S;
      this.#edgeBase = Math.floor(S / TILE_WIDTH) * TILE_WIDTH;
      this.#edgeEntries = S % TILE_WIDTH === 0 ? [] : this.#readBundleForWidth(Math.floor(S / TILE_WIDTH), S % TILE_WIDTH);
    }

    // 3. Replay the WAL beyond S (records below S are already in tiles); cut a torn tail.
    // 4. A fresh WAL segment for new appends.
    this.#wal = await WalFile.open(
      path.join(this.stateDir, 'wal'),
      { segmentBytes: this.#walSegmentBytes, stats: this.#stats },
      (r, file) => {
        if (r.index < this.#tree.size) return;
        if (r.index > this.#tree.size) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `write-ahead log ${file} skips from ${this.#tree.size} to ${r.index}`);
        this.#edgeEntries.push(r.entry);
        this.#tree.pushEntry(r.entry);
      },
      () => this.#tree.size,
    );
    this.#nextIndex = this.#tree.size;

    // 5. Extend tiles and sign a checkpoint covering everything recovered; republish if needed.
    if (this.#tree.size > this.#signed.size || this.#tiledSize < this.#tree.size || this.#signed.note === '') {
      await this.publish();
    } else if (servedNote !== this.#signed.note) {
      writeFileSync(path.join(this.dir, CHECKPOINT), this.#signed.note);
      fsyncDirSync(this.dir);
    }
    await this.#wal.prune(this.#signed.size);
    this.#timer = setInterval(() => {
      if (this.#tree.size > this.#signed.size && this.#integrating === null && this.#broken === null) {
        this.publish().catch(() => undefined);
      }
    }, this.#intervalMs);
    this.#timer.unref();
  }
}

/**
 * Opens a region's log: creates keys (0600) and directories on first use, recovers from a crash
 * (WAL replay, torn-tail cut, tile rebuild), and starts signing a checkpoint at least every
 * `checkpointIntervalMs` while there are new entries.
 */
export function openLedger(opts: LedgerOptions): Promise<Ledger> {
  return Ledger.open(opts);
}

/** True if a directory looks like a ledger (has a checkpoint). */
export function hasLedger(dir: string): boolean {
  return existsSync(path.join(dir, CHECKPOINT));
}
