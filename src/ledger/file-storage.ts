// The file storage driver: one process per log, everything on the local file system.
//   - journal: the write-ahead log in `<stateDir>/wal/` (walfile.ts, records framed by wal.ts),
//     each group-committed batch one O_DSYNC write; acknowledged entries enter the tree at once.
//   - checkpoint lock: the private copy `<stateDir>/checkpoint`, swapped only if it still holds
//     the checkpoint being extended (so a second writer that slipped past the lock file cannot
//     publish an inconsistent checkpoint), written and fsync'ed before the served copy.
//   - recovery: the tree at the last signed checkpoint from tiles or bundles (recovery.ts), then
//     WAL replay beyond it (a torn tail is cut), then a fresh segment for new appends.
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { CHECKPOINT } from './checkpoint-signing.ts';
import { LedgerError, unavailable } from './errors.ts';
import { writeFileDurable } from '../common/durable-file.ts';
import { readIfExists } from './fsutil.ts';
import type { Journal, JournalWrite, Pending } from './group-commit.ts';
import type { TiledTree } from './integration.ts';
import { recoverSigned } from './recovery.ts';
import type { CheckpointLock, LogStorage, OpenStorage, StorageContext, StoredCheckpoint } from './storage.ts';
import type { LedgerStats } from './stats.ts';
import { encodeRecords, recordsSize } from './wal.ts';
import { WalFile } from './walfile.ts';

/**
 * WAL writes in flight at once: the next batch is written while the previous one flushes, so a
 * batch waits for at most one flush ahead of its own. Two keep the device busy; more only make
 * batches smaller.
 */
const MAX_WRITES_IN_FLIGHT = 2;
/** Smallest write buffer allocated (about 180 decision entries). */
const WRITE_BUFFER_BYTES = 64 * 1024;

interface WalWrite extends JournalWrite {
  /** WAL offset of the batch's first record (where to cut if its write fails). */
  at: number;
}

class WalJournal implements Journal<WalWrite> {
  readonly what = 'write-ahead log append';
  readonly maxInFlight = MAX_WRITES_IN_FLIGHT;
  readonly #wal: WalFile;
  readonly #tree: TiledTree;
  readonly #signedSize: () => number;
  /**
   * Write buffers no write is using: reused, so a batch allocates nothing outside the heap
   * (large short-lived buffers push V8 into frequent full collections, which stall appends).
   */
  #spareBuffers: Buffer[] = [];

  constructor(wal: WalFile, tree: TiledTree, signedSize: () => number) {
    this.#wal = wal;
    this.#tree = tree;
    this.#signedSize = signedSize;
  }

  get full(): boolean {
    return this.#wal.full;
  }

  async rotate(nextIndex: number): Promise<void> {
    try {
      await this.#wal.rotate(nextIndex);
    } catch (err) {
      throw unavailable('rotating the write-ahead log failed', err);
    }
    await this.#wal.prune(this.#signedSize());
  }

  write(items: readonly Pending[], start: number): WalWrite {
    const bytes = items.map((p) => p.bytes);
    const size = recordsSize(bytes);
    const i = this.#spareBuffers.findIndex((b) => b.length >= size);
    const backing = i < 0 ? Buffer.allocUnsafeSlow(Math.max(WRITE_BUFFER_BYTES, size)) : (this.#spareBuffers.splice(i, 1)[0] as Buffer);
    const at = this.#wal.offset;
    const recycle = (): void => {
      // The write no longer reads its buffer: keep it for a later batch (unless it is outsized).
      if (this.#spareBuffers.length < MAX_WRITES_IN_FLIGHT && backing.length <= 16 * WRITE_BUFFER_BYTES) this.#spareBuffers.push(backing);
    };
    const done = this.#wal.write(encodeRecords(start, bytes, backing)).then(
      () => {
        recycle();
        return start;
      },
      (err: unknown) => {
        recycle();
        throw err;
      },
    );
    return { done, at };
  }

  cut(failed: WalWrite): Promise<void> {
    return this.#wal.truncate(failed.at);
  }

  /** This process is the log's only sequencer: a durable entry is in the tree at once. */
  acknowledge(_start: number, items: readonly Pending[]): void {
    for (const p of items) this.#tree.pushLeaf(p.bytes, p.leaf);
  }

  prune(size: number): Promise<void> {
    return this.#wal.prune(size);
  }

  close(): Promise<void> {
    return this.#wal.close();
  }
}

class StateFileLock implements CheckpointLock {
  readonly #stateDir: string;
  readonly #stats: LedgerStats;
  constructor(stateDir: string, stats: LedgerStats) {
    this.#stateDir = stateDir;
    this.#stats = stats;
  }

  async replace(prevNote: string, _size: number, note: string): Promise<boolean> {
    const stateFile = path.join(this.#stateDir, CHECKPOINT);
    try {
      // Compare-and-swap: the state copy must still be the checkpoint we last signed.
      const onDisk = readIfExists(stateFile)?.toString('utf8') ?? '';
      if (onDisk !== prevNote) throw new LedgerError('SOVEREIGN_LEDGER_LOCKED', `${stateFile} changed under us (another writer?); refusing to sign`);
      await writeFileDurable(stateFile, note);
      this.#stats.fileSyncs += 2;
      return true;
    } catch (err) {
      if (err instanceof LedgerError) throw err;
      throw unavailable('writing checkpoint failed', err);
    }
  }
}

export interface FileStorageOptions {
  /** Rotate the write-ahead log to a new segment above this many bytes. */
  walSegmentBytes: number;
}

export class FileStorage implements LogStorage {
  readonly shared = false;
  readonly isSequencer = true;
  readonly #opts: FileStorageOptions;
  #journal: WalJournal | undefined;

  constructor(opts: FileStorageOptions) {
    this.#opts = opts;
  }

  async open(ctx: StorageContext): Promise<OpenStorage> {
    const walDir = path.join(ctx.stateDir, 'wal');
    mkdirSync(walDir, { recursive: true, mode: 0o700 });
    const recovered = recoverSigned(ctx.dir, ctx.stateDir, ctx.verifier, ctx.origin, ctx.tree);
    // Replay the WAL beyond the checkpoint (records below it are already in tiles); cut a torn
    // tail; open a fresh segment for new appends.
    const tree = ctx.tree;
    const wal = await WalFile.open(
      walDir,
      { segmentBytes: this.#opts.walSegmentBytes, stats: ctx.stats },
      (r, file) => {
        if (r.index < tree.size) return;
        if (r.index > tree.size) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `write-ahead log ${file} skips from ${tree.size} to ${r.index}`);
        tree.pushEntry(r.entry);
      },
      () => tree.size,
    );
    this.#journal = new WalJournal(wal, tree, () => ctx.signed()?.size ?? 0);
    return { recovered, journal: this.#journal, checkpoints: new StateFileLock(ctx.stateDir, ctx.stats) };
  }

  /** Nothing to read back: every durable entry entered the tree when it was acknowledged. */
  sync(ctx: StorageContext): Promise<StoredCheckpoint | null> {
    return Promise.resolve(ctx.signed());
  }

  /** Everything below `size` is in tiles: closed WAL segments that end there can go. */
  covered(size: number): Promise<void> {
    return this.#journal?.prune(size) ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.#journal?.close();
  }
}
