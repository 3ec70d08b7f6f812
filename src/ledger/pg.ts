// PostgreSQL storage for a log shared by several gateway replicas of one region.
//
// Any replica appends: one transaction per group-committed batch reserves a contiguous index
// range on the origin's head row (the row lock orders concurrent batches, so indexes are gapless
// and become visible in order) and inserts the entries; synchronous_commit is on, so an append
// is durable once COMMIT returns. One replica at a time is the sequencer (a session-level
// pg_try_advisory_lock on a key derived from the origin): it integrates the entries into tiles,
// signs checkpoints and stores them with a compare-and-swap. The others follow: they read the
// entries up to the latest signed checkpoint, check its root, and export the same static layout.
//
// PgStorage is the storage driver (storage.ts) built on it: its journal is the append
// transaction, its checkpoint lock the checkpoints row, and `sync` reads back what other
// replicas appended before each integration.
import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { openCheckpoint } from './checkpoint.ts';
import { LedgerError, unavailable } from './errors.ts';
import type { Journal, JournalWrite, Pending } from './group-commit.ts';
import { rangeHash } from './merkle.ts';
import type { LedgerStats } from './stats.ts';
import type { CheckpointLock, LogStorage, OpenStorage, StorageContext, StoredCheckpoint } from './storage.ts';

export interface PgBackendOptions {
  kind: 'postgres';
  /** e.g. `postgres://ledger@db.eu-frankfurt.internal/sovereign`. */
  connectionString: string;
  /** Table name prefix (default `sovereign_ledger`). */
  tablePrefix?: string;
  /** TLS settings (src/mesh/pg-tls.ts); false or absent: plain text. */
  ssl?: false | ConnectionOptions;
  /** Explains a connection error (which setting asked for TLS, and the fix). */
  describeError?: (err: unknown) => Error;
}

/** The stored checkpoint of an origin. */
export interface PgCheckpoint {
  size: number;
  note: string;
}

export class PgStore {
  readonly #origin: string;
  readonly #t: { head: string; entries: string; checkpoints: string };
  /** Serial appends (one transaction per batch). */
  readonly #appender: pg.Client;
  /** Holds the advisory lock (session-level) and runs the sequencer's and follower's reads. */
  readonly #control: pg.Client;
  readonly #lockKey: string;
  #sequencer = false;
  #lost: ((err: Error) => void) | undefined;

  private constructor(opts: PgBackendOptions, origin: string) {
    const prefix = opts.tablePrefix ?? 'sovereign_ledger';
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new Error(`bad PostgreSQL table prefix ${JSON.stringify(prefix)}`);
    this.#t = { head: `${prefix}_head`, entries: `${prefix}_entries`, checkpoints: `${prefix}_checkpoints` };
    this.#origin = origin;
    // Every append must be durable at COMMIT, whatever the server default says.
    const cfg = { connectionString: opts.connectionString, ssl: opts.ssl ?? false, options: '-c synchronous_commit=on' };
    this.#appender = new pg.Client(cfg);
    this.#control = new pg.Client(cfg);
    // Advisory lock key: first 8 bytes of SHA-256 over the origin, as a signed bigint.
    this.#lockKey = createHash('sha256').update(`sovereign-ledger-sequencer\n${origin}`).digest().readBigInt64BE(0).toString();
  }

  static async connect(opts: PgBackendOptions, origin: string, onLost: (err: Error) => void): Promise<PgStore> {
    const s = new PgStore(opts, origin);
    s.#lost = onLost;
    for (const c of [s.#appender, s.#control]) c.on('error', (err) => s.#lost?.(err));
    try {
      for (const c of [s.#appender, s.#control]) await c.connect();
    } catch (err) {
      // A refused second session (e.g. a TLS failure) leaves no first one open behind it.
      s.#lost = undefined;
      await Promise.allSettled([s.#appender.end(), s.#control.end()]);
      throw err;
    }
    const { head, entries, checkpoints } = s.#t;
    // One statement per table; IF NOT EXISTS races between replicas are retried once.
    const ddl = [
      `CREATE TABLE IF NOT EXISTS ${head} (origin text PRIMARY KEY, next bigint NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${entries} (origin text NOT NULL, idx bigint NOT NULL, bytes bytea NOT NULL, PRIMARY KEY (origin, idx))`,
      `CREATE TABLE IF NOT EXISTS ${checkpoints} (origin text PRIMARY KEY, size bigint NOT NULL, note text NOT NULL)`,
    ];
    for (const q of ddl) {
      try {
        await s.#control.query(q);
      } catch (err) {
        if ((err as { code?: string }).code !== '23505') throw err; // unique_violation on pg_type: created concurrently
      }
    }
    return s;
  }

  /** Durably appends a batch; returns the index of its first entry. */
  async append(batch: readonly Buffer[]): Promise<number> {
    const c = this.#appender;
    await c.query('BEGIN');
    try {
      const r = await c.query<{ next: string }>(
        `INSERT INTO ${this.#t.head} (origin, next) VALUES ($1, $2) ON CONFLICT (origin) DO UPDATE SET next = ${this.#t.head}.next + EXCLUDED.next RETURNING next`,
        [this.#origin, batch.length],
      );
      const start = Number((r.rows[0] as { next: string }).next) - batch.length;
      await c.query(
        `INSERT INTO ${this.#t.entries} (origin, idx, bytes) SELECT $1, $2::bigint + t.ord - 1, t.b FROM unnest($3::bytea[]) WITH ORDINALITY AS t(b, ord)`,
        [this.#origin, start, batch],
      );
      await c.query('COMMIT');
      return start;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Entries with from <= index < to (to = Infinity: all), in index order, at most `limit`. */
  async read(from: number, to: number, limit = 50_000): Promise<Buffer[]> {
    const r = await this.#control.query<{ idx: string; bytes: Buffer }>(
      `SELECT idx, bytes FROM ${this.#t.entries} WHERE origin = $1 AND idx >= $2 AND idx < $3 ORDER BY idx LIMIT $4`,
      [this.#origin, from, Number.isFinite(to) ? to : Number.MAX_SAFE_INTEGER, limit],
    );
    const out: Buffer[] = [];
    for (const row of r.rows) {
      if (Number(row.idx) !== from + out.length) throw new Error(`entry ${from + out.length} is missing from ${this.#t.entries}`);
      out.push(row.bytes);
    }
    return out;
  }

  /** Tries to become (or checks it still is) the sequencer of this origin. */
  async trySequencer(): Promise<boolean> {
    if (this.#sequencer) return true;
    const r = await this.#control.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [this.#lockKey]);
    this.#sequencer = r.rows[0]?.ok === true;
    return this.#sequencer;
  }

  get isSequencer(): boolean {
    return this.#sequencer;
  }

  async latestCheckpoint(): Promise<PgCheckpoint | null> {
    const r = await this.#control.query<{ size: string; note: string }>(`SELECT size, note FROM ${this.#t.checkpoints} WHERE origin = $1`, [this.#origin]);
    const row = r.rows[0];
    return row === undefined ? null : { size: Number(row.size), note: row.note };
  }

  /** Stores a new checkpoint if the stored one is still `prevNote` ('' for none); false if not. */
  async swapCheckpoint(prevNote: string, size: number, note: string): Promise<boolean> {
    const r =
      prevNote === ''
        ? await this.#control.query(`INSERT INTO ${this.#t.checkpoints} (origin, size, note) VALUES ($1, $2, $3) ON CONFLICT (origin) DO NOTHING`, [this.#origin, size, note])
        : await this.#control.query(`UPDATE ${this.#t.checkpoints} SET size = $2, note = $3 WHERE origin = $1 AND note = $4 AND size <= $2`, [this.#origin, size, note, prevNote]);
    return r.rowCount === 1;
  }

  /** Ends both sessions (which releases the advisory lock). */
  async close(): Promise<void> {
    this.#lost = undefined;
    this.#sequencer = false;
    await Promise.allSettled([this.#appender.end(), this.#control.end()]);
  }
}

/** One transaction per group-committed batch; entries enter the tree when read back (sync). */
class PgJournal implements Journal {
  readonly what = 'PostgreSQL append';
  /** Batches commit one after another: the head row's lock would serialize them anyway. */
  readonly maxInFlight = 1;
  readonly full = false;
  readonly #store: PgStore;
  readonly #stats: LedgerStats;
  constructor(store: PgStore, stats: LedgerStats) {
    this.#store = store;
    this.#stats = stats;
  }

  rotate(): Promise<void> {
    return Promise.resolve();
  }

  write(items: readonly Pending[]): JournalWrite {
    return { done: this.#store.append(items.map((p) => p.bytes)) };
  }

  /** A failed transaction rolled back: nothing to undo. */
  cut(): Promise<void> {
    return Promise.resolve();
  }

  acknowledge(): void {
    this.#stats.walSyncs++;
  }
}

/** The stored checkpoint row, swapped in one UPDATE ... WHERE note = previous. */
class PgCheckpointLock implements CheckpointLock {
  readonly #store: PgStore;
  constructor(store: PgStore) {
    this.#store = store;
  }

  async replace(prevNote: string, size: number, note: string): Promise<boolean> {
    try {
      return await this.#store.swapCheckpoint(prevNote, size, note);
    } catch (err) {
      throw unavailable('storing the checkpoint in PostgreSQL failed', err);
    }
  }
}

export class PgStorage implements LogStorage {
  readonly shared = true;
  readonly #opts: PgBackendOptions;
  #store: PgStore | undefined;

  constructor(opts: PgBackendOptions) {
    this.#opts = opts;
  }

  /** True while this replica holds the sequencer lock. */
  get isSequencer(): boolean {
    return this.#store?.isSequencer ?? false;
  }

  /** The database is authoritative: the tree is rebuilt from its entries at the first sync. */
  async open(ctx: StorageContext): Promise<OpenStorage> {
    try {
      this.#store = await PgStore.connect(this.#opts, ctx.origin, (err) => ctx.fail(unavailable('PostgreSQL connection lost', err)));
    } catch (err) {
      throw unavailable(`connecting to PostgreSQL for ${ctx.origin} failed`, this.#opts.describeError?.(err) ?? err);
    }
    return { recovered: null, journal: new PgJournal(this.#store, ctx.stats), checkpoints: new PgCheckpointLock(this.#store) };
  }

  /**
   * Before tiles are written: read the latest stored checkpoint, read the entries it covers and
   * check its root; the sequencer also reads every later entry.
   */
  async sync(ctx: StorageContext): Promise<StoredCheckpoint | null> {
    const store = this.#store as PgStore;
    let seq: boolean;
    let stored: PgCheckpoint | null;
    try {
      seq = await store.trySequencer();
      stored = await store.latestCheckpoint();
    } catch (err) {
      throw unavailable('reading from PostgreSQL failed', err);
    }
    let out: StoredCheckpoint | null = null;
    if (stored !== null) {
      const cp = openCheckpoint(stored.note, ctx.verifier, ctx.origin);
      const served = ctx.signed()?.size ?? 0;
      if (cp.size < served) throw new LedgerError('SOVEREIGN_LEDGER_INCONSISTENT', `stored checkpoint ${cp.size} is below the one this replica served (${served})`);
      await this.#ingest(ctx, cp.size);
      if (ctx.tree.size < cp.size) throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `checkpoint of size ${cp.size} but only ${ctx.tree.size} entries in PostgreSQL`);
      if (!rangeHash(ctx.subtree, 0, cp.size).equals(cp.root)) {
        throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `entries in PostgreSQL don't match the signed checkpoint of size ${cp.size}`);
      }
      out = { size: cp.size, root: cp.root, note: stored.note, text: cp.text };
    }
    if (seq) await this.#ingest(ctx, Infinity);
    return out;
  }

  /** Reads entries [tree.size, to) into the tree. */
  async #ingest(ctx: StorageContext, to: number): Promise<void> {
    const store = this.#store as PgStore;
    try {
      while (ctx.tree.size < to) {
        const rows = await store.read(ctx.tree.size, to);
        if (rows.length === 0) break;
        for (const e of rows) ctx.tree.pushEntry(e);
      }
    } catch (err) {
      throw unavailable('reading entries from PostgreSQL failed', err);
    }
  }

  covered(): Promise<void> {
    return Promise.resolve();
  }

  /** Ends both sessions (which releases the sequencer lock). */
  async close(): Promise<void> {
    await this.#store?.close();
  }
}
