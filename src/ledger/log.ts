// A region's transparency log.
//
// `dir` IS the c2sp.org/tlog-tiles static layout (checkpoint, tile/<L>/<N>[.p/<W>],
// tile/entries/<N>[.p/<W>]) and can be copied to object storage as-is. Private state (the
// write-ahead log, the authoritative copy of the last signed checkpoint, the lock) lives in
// the sibling `<dir>-state/`; keys live in `keyDir`.
//
// The log is put together from modules with one job each:
//   - lock.ts               one writer per log directory
//   - group-commit.ts       appends queued in one event-loop turn share one durable write
//   - integration.ts        the Merkle tree, its tiles and bundles written every interval
//   - checkpoint-signing.ts sign only what is durable and consistent; cosignatures
//   - recovery.ts           the tree back from tiles or bundles after a crash
//   - tile-cache.ts         full tiles kept for proofs
// and a storage driver (storage.ts) that says where appends become durable: the file driver
// (file-storage.ts, a write-ahead log; the default) or PostgreSQL (pg.ts, a table shared by the
// region's replicas, one of which sequences and signs while the others follow).
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CHECKPOINT, CheckpointSigning } from './checkpoint-signing.ts';
import { serializeEntry } from './entries.ts';
import { LedgerError, unavailable } from './errors.ts';
import { FileStorage } from './file-storage.ts';
import { GroupCommit } from './group-commit.ts';
import { TiledTree } from './integration.ts';
import { loadLogSigner, loadRequestHasher } from './keys.ts';
import { acquireLock, type LogLock } from './lock.ts';
import { consistencyProof, hashLeaf, inclusionProof } from './merkle.ts';
import { parseVkey, type NoteVerifier } from './note.ts';
import { PgStorage, type PgBackendOptions } from './pg.ts';
import { newStats, type LedgerStats } from './stats.ts';
import type { CheckpointLock, LogStorage, StorageContext } from './storage.ts';
import { parseTilePath } from './tiles.ts';
import { formatTlogProof } from './tlogproof.ts';
import { WAL_SEGMENT_BYTES } from './walfile.ts';

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

export type { PgBackendOptions, LedgerStats };

export interface StaticResource {
  body: Buffer;
  contentType: string;
  /** true for tiles and bundles (cache forever), false for the checkpoint (cache seconds). */
  immutable: boolean;
}

/** The storage driver for a backend choice. */
function storageFor(opts: LedgerOptions): LogStorage {
  const backend = opts.backend ?? { kind: 'file' };
  return backend.kind === 'postgres' ? new PgStorage(backend) : new FileStorage({ walSegmentBytes: opts.walSegmentBytes ?? WAL_SEGMENT_BYTES });
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

  readonly #verifier: NoteVerifier;
  readonly #intervalMs: number;
  readonly #stats = newStats();
  readonly #tree: TiledTree;
  readonly #signing: CheckpointSigning;
  readonly #storage: LogStorage;
  /** What the storage driver sees of this log. */
  readonly #ctx: StorageContext;
  readonly #commit = new GroupCommit(this.#stats);
  #checkpoints: CheckpointLock | undefined;
  #lock: LogLock | undefined;
  #closed = false;
  #integrating: Promise<string> | null = null;
  #timer: NodeJS.Timeout | undefined;

  private constructor(opts: LedgerOptions, signer: ReturnType<typeof loadLogSigner>, requestHash: (b: Uint8Array | string) => string) {
    this.dir = path.resolve(opts.dir);
    this.stateDir = path.resolve(opts.stateDir ?? `${this.dir}-state`);
    this.origin = opts.origin;
    this.verifierKey = signer.vkey;
    this.#verifier = parseVkey(signer.vkey);
    this.requestHash = requestHash;
    this.#intervalMs = opts.checkpointIntervalMs ?? 1000;
    this.#tree = new TiledTree(this.dir, this.#stats);
    this.#signing = new CheckpointSigning(this.dir, this.origin, signer, this.#stats);
    this.#storage = storageFor(opts);
    this.#ctx = {
      dir: this.dir,
      stateDir: this.stateDir,
      origin: this.origin,
      verifier: this.#verifier,
      tree: this.#tree,
      stats: this.#stats,
      subtree: this.#tree.subtree,
      signed: () => this.#signing.current,
      fail: (err) => this.#commit.fail(err instanceof LedgerError ? err : unavailable('storage failed', err)),
    };
  }

  /** Opens (creating or recovering) the log. See {@link openLedger}. */
  static async open(opts: LedgerOptions): Promise<Ledger> {
    const signer = loadLogSigner(opts.keyDir, opts.origin);
    const l = new Ledger(opts, signer, loadRequestHasher(opts.keyDir));
    await l.#open();
    return l;
  }

  async #open(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.#lock = acquireLock(this.stateDir, this.dir);
    try {
      const opened = await this.#storage.open(this.#ctx);
      this.#signing.adopt(opened.recovered);
      this.#checkpoints = opened.checkpoints;
      this.#commit.open(opened.journal, this.#tree.size);
      // Extend tiles and sign a checkpoint covering everything recovered.
      if (this.#tree.size > this.#signing.size || this.#tree.tiledSize < this.#tree.size || this.#signing.current === null) {
        await this.publish();
      }
      await this.#storage.covered(this.#signing.size);
    } catch (err) {
      await this.#storage.close().catch(() => undefined);
      this.#lock.release();
      throw err;
    }
    this.#timer = setInterval(() => {
      // A shared log integrates every interval: followers poll for new checkpoints, and a
      // follower takes over signing when the sequencer goes.
      const due = this.#storage.shared || this.#tree.size > this.#signing.size;
      if (due && this.#integrating === null && this.#commit.broken === null) this.publish().catch(() => undefined);
    }, this.#intervalMs);
    this.#timer.unref();
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
    return this.#signing.size;
  }

  /** With the PostgreSQL backend: true while this replica holds the sequencer lock. */
  get isSequencer(): boolean {
    return this.#storage.isSequencer;
  }

  /**
   * Appends an entry (validated against the entry schemas, stored as RFC 8785 JSON). Resolves
   * with its index once it is durable (fdatasync'ed in the WAL, or committed in PostgreSQL);
   * rejects with code SOVEREIGN_LEDGER_UNAVAILABLE if the storage can't be written (fail
   * closed), or SOVEREIGN_LEDGER_BAD_ENTRY if the entry doesn't match a schema.
   */
  append(entry: unknown): Promise<{ index: number }> {
    if (this.#closed) return Promise.reject(new LedgerError('SOVEREIGN_LEDGER_CLOSED', 'ledger is closed'));
    if (this.#commit.broken !== null) return Promise.reject(this.#commit.broken);
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
    if (this.#commit.broken !== null) return Promise.reject(this.#commit.broken);
    if (bytes.length > 0xffff) return Promise.reject(new LedgerError('SOVEREIGN_LEDGER_BAD_ENTRY', 'entry over 65535 bytes'));
    return this.#commit.append(bytes, hashLeaf(bytes));
  }

  /** Counters of the work done so far (fsyncs per append = (walSyncs + fileSyncs) / appends). */
  stats(): LedgerStats {
    return { ...this.#stats };
  }

  /** The stored bytes of entry `index` (must be < size). */
  entry(index: number): Buffer {
    return this.#tree.entry(index);
  }

  /** The latest signed checkpoint note, with any witness cosignatures ('' before the first). */
  checkpoint(): string {
    return this.#signing.note();
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
    const stored = await this.#storage.sync(this.#ctx);
    const S = this.#tree.size;
    if (S === this.#signing.size && this.#tree.tiledSize === S && this.#signing.current !== null) return this.checkpoint();
    const { size, root } = await this.#tree.integrate();
    const before = this.#signing.size;
    await this.#signing.publish(size, root, stored, this.#storage.isSequencer, this.#checkpoints as CheckpointLock, this.#tree.subtree);
    if (this.#signing.size > before) await this.#storage.covered(this.#signing.size);
    return this.checkpoint();
  }

  /**
   * A C2SP tlog-proof for entry `index` against the latest checkpoint (signing one first if
   * the entry isn't covered yet). The entry's canonical JSON rides in the `extra` line.
   */
  async proof(index: number): Promise<string> {
    if (this.#storage.shared) {
      // Another replica may have appended it: wait (a few checkpoint intervals) for a checkpoint.
      for (let i = 0; i < 50 && Number.isSafeInteger(index) && index >= this.#signing.size; i++) {
        await this.publish();
        if (index >= this.#signing.size) await new Promise((r) => setTimeout(r, this.#intervalMs / 10));
      }
    }
    if (!(Number.isSafeInteger(index) && index >= 0 && index < this.size)) throw new LedgerError('SOVEREIGN_LEDGER_NOT_FOUND', `no entry ${index} (log size ${this.size})`);
    if (index >= this.#signing.size) await this.publish();
    const size = this.#signing.size;
    const hashes = inclusionProof(this.#tree.subtree, index, size);
    return formatTlogProof({ index, proof: hashes, checkpoint: this.checkpoint(), extra: this.entry(index) });
  }

  /** A consistency proof between two sizes (both at most the signed size). */
  consistency(oldSize: number, newSize = this.#signing.size): Buffer[] {
    if (newSize > this.size) throw new LedgerError('SOVEREIGN_LEDGER_NOT_FOUND', `size ${newSize} is beyond the log`);
    return consistencyProof(this.#tree.subtree, oldSize, newSize);
  }

  /** The c2sp.org/tlog-witness add-checkpoint request body for the latest checkpoint, from `oldSize`. */
  witnessRequest(oldSize: number): string {
    const proof = oldSize === 0 ? [] : this.consistency(oldSize, this.#signing.size);
    return `old ${oldSize}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${this.#signing.current?.note ?? ''}`;
  }

  /**
   * Attaches witness cosignature lines (a tlog-witness add-checkpoint response body) to the
   * latest checkpoint, keeping only lines that verify against one of `witnessKeys` (vkeys).
   * Rewrites the served checkpoint; returns how many cosignatures were added.
   */
  addCosignature(signatureLines: string, witnessKeys: readonly string[]): Promise<number> {
    return this.#signing.addCosignature(signatureLines, witnessKeys);
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
    await this.#commit.idle();
    if (this.#commit.broken === null) {
      try {
        await this.publish();
      } catch {
        // Entries stay in the journal; the next open() integrates them.
      }
      await this.#commit.idle();
    }
    await this.#storage.close();
    this.#lock?.release();
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
