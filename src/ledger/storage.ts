// The storage driver interface of a region's log. The log itself (group commit, integration into
// tiles, checkpoint signing, proofs) is the same whatever holds the entries; a driver says where
// a batch becomes durable (its journal), where the latest signed checkpoint is kept and swapped
// (its checkpoint lock), and how a replica recovers and catches up. Two drivers:
//   - file-storage.ts: a write-ahead log in the private state directory; one process per log.
//   - pg.ts: a PostgreSQL table shared by the region's replicas; one replica at a time signs.
// Either way the static c2sp.org/tlog-tiles layout (tiles, bundles, checkpoint) is exported to the
// log's directory by this process (integration.ts, checkpoint-signing.ts).
import type { Journal } from './group-commit.ts';
import type { TiledTree } from './integration.ts';
import type { LedgerStats } from './stats.ts';
import type { SubtreeHashFn } from './merkle.ts';
import type { NoteVerifier } from './note.ts';

/** A signed checkpoint as stored by a driver: its size and root, the note and its signed text. */
export interface StoredCheckpoint {
  size: number;
  root: Buffer;
  /** The log-signed note (no cosignatures). */
  note: string;
  text: string;
}

/**
 * Compare-and-swap of the latest signed checkpoint (as Sunlight's LockBackend): a signer only
 * publishes a checkpoint once it replaced the one it extended, so two writers can never both
 * publish inconsistent checkpoints (c2sp.org/tlog-checkpoint, "Signatures").
 */
export interface CheckpointLock {
  /** Stores `note` (of tree size `size`) if the stored note is still `prevNote` ('' for none); false if not. */
  replace(prevNote: string, size: number, note: string): Promise<boolean>;
}

/** What a driver needs from the log it stores. */
export interface StorageContext {
  readonly dir: string;
  readonly stateDir: string;
  readonly origin: string;
  readonly verifier: NoteVerifier;
  readonly tree: TiledTree;
  readonly stats: LedgerStats;
  /** Hashes of the tree (for a root check of what the driver read back). */
  readonly subtree: SubtreeHashFn;
  /** The checkpoint this replica serves now (null before the first). */
  signed(): StoredCheckpoint | null;
  /** The driver lost its storage (a dropped connection): appends fail closed from now on. */
  fail(err: unknown): void;
}

/** A storage driver once open: what it recovered, and its journal and checkpoint lock. */
export interface OpenStorage {
  /** The latest signed checkpoint found (null for a new log). */
  recovered: StoredCheckpoint | null;
  /** Where group-committed batches become durable. */
  journal: Journal;
  checkpoints: CheckpointLock;
}

export interface LogStorage {
  /**
   * True when other replicas append to the same log: this replica then integrates every
   * interval (to follow, or to take over signing) and waits for a checkpoint covering an entry
   * it did not append itself before proving it.
   */
  readonly shared: boolean;
  /** True while this process may sign checkpoints. */
  readonly isSequencer: boolean;
  /** Recovery at open: fills `ctx.tree` with every durable entry this replica can integrate. */
  open(ctx: StorageContext): Promise<OpenStorage>;
  /**
   * Before an integration: brings the tree up to what storage holds; returns the latest stored
   * checkpoint, which a sequencer extends and a follower serves (null: none yet).
   */
  sync(ctx: StorageContext): Promise<StoredCheckpoint | null>;
  /** A checkpoint of `size` is signed and every entry below it is in durable tiles. */
  covered(size: number): Promise<void>;
  close(): Promise<void>;
}
