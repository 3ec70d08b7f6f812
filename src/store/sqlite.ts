// The embedded backend: a SQLite file database (Node's built-in node:sqlite) in the region's
// data directory. WAL journal; deleted rows are overwritten (secure_delete) and the WAL is
// truncated after an erasure, so a destroyed data key does not linger in free pages. The WAL is
// checkpointed by a thread of its own (wal-checkpointer.ts), not in the commits on the event loop.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { WalCheckpointer } from './wal-checkpointer.ts';
import { KeyExistsError, rowToKey as toKey, rowToRecord as toRecord, type Row, type StoreBackend, type SweepResult } from './backend.ts';
import type { SealedRecord, WrappedKey } from './records.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS data_keys (
  tenant TEXT NOT NULL, subject_hash TEXT NOT NULL, key_id TEXT NOT NULL UNIQUE, wrapped BLOB NOT NULL, created INTEGER NOT NULL,
  PRIMARY KEY (tenant, subject_hash));
CREATE INDEX IF NOT EXISTS data_keys_subject ON data_keys (subject_hash);
CREATE TABLE IF NOT EXISTS records (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, subject_hash TEXT NOT NULL, key_id TEXT NOT NULL, decision_id TEXT NOT NULL,
  data_class TEXT NOT NULL, receipt TEXT, model TEXT NOT NULL, model_version TEXT, path TEXT NOT NULL,
  status INTEGER NOT NULL, time INTEGER NOT NULL, expires_at INTEGER NOT NULL, sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS records_subject ON records (subject_hash, tenant);
CREATE INDEX IF NOT EXISTS records_expires ON records (expires_at);
CREATE INDEX IF NOT EXISTS records_key ON records (key_id);
-- Ids of destroyed data keys: records sealed under them are removed by the sweeper.
CREATE TABLE IF NOT EXISTS shredded (key_id TEXT PRIMARY KEY);
`;

export interface SqliteBackendOptions {
  /**
   * Where the WAL is checkpointed: 'thread' (default), a worker thread on an interval, off the
   * event loop (wal-checkpointer.ts); 'inline', SQLite's automatic checkpoint in the commit.
   */
  checkpoint?: 'thread' | 'inline';
  /** The thread's interval (default CHECKPOINT_INTERVAL_MS). */
  checkpointIntervalMs?: number;
  /** Told when the checkpoint thread failed and SQLite checkpoints inline again. */
  onWarning?: (msg: string) => void;
}

/**
 * How often the thread checkpoints. Each checkpoint copies the pages written since the last and
 * fsyncs the WAL and the database; a shorter interval copies often-rewritten pages (the indexes'
 * last leaves) more often: at 1,500 records/s, 1 s cost 13 µs more CPU per record than SQLite's
 * inline checkpoint, 3 s 5-7 µs (`npm run bench:store-loop`,
 * bench/results/store-loop-2026-12-02.md). Commits since the last checkpoint are what a power
 * loss may take (synchronous = NORMAL), as with SQLite's own checkpoint every 1,000 pages.
 */
export const CHECKPOINT_INTERVAL_MS = 3000;

/** The WAL file is cut back to this size when it restarts (it is reused, not regrown, below it). */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export class SqliteBackend implements StoreBackend {
  readonly kind = 'sqlite' as const;
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #insertRecord: StatementSync;
  readonly #insertKey: StatementSync;
  /** The checkpoint thread (null: SQLite checkpoints inline). */
  readonly checkpointer: WalCheckpointer | null;

  constructor(dir: string, opts: SqliteBackendOptions = {}) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'store.db');
    this.#db = new DatabaseSync(this.file);
    this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; PRAGMA busy_timeout = 5000; PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES};`);
    this.#db.exec(SCHEMA);
    this.checkpointer =
      opts.checkpoint === 'inline'
        ? null
        : new WalCheckpointer({
            file: this.file,
            intervalMs: opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
            setAutocheckpoint: (pages) => this.#db.exec(`PRAGMA wal_autocheckpoint = ${pages}`),
            onFallback: (why) => opts.onWarning?.(`store ${this.file}: ${why}; SQLite checkpoints its WAL inline again (the cell's event loop pays for it)`),
          });
    this.#insertRecord = this.#db.prepare(
      'INSERT INTO records (id, tenant, subject_hash, key_id, decision_id, data_class, receipt, model, model_version, path, status, time, expires_at, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#insertKey = this.#db.prepare('INSERT OR IGNORE INTO data_keys (tenant, subject_hash, key_id, wrapped, created) VALUES (?, ?, ?, ?, ?)');
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        /* SQLite rolled back by itself (a full disk) */
      }
      throw err;
    }
  }

  async getMeta(name: string): Promise<string | null> {
    const r = this.#db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as Row | undefined;
    return r ? (r.value as string) : null;
  }

  async initMeta(name: string, value: string): Promise<string> {
    this.#db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)').run(name, value);
    return (await this.getMeta(name)) as string;
  }

  async getKey(tenant: string, subjectHash: string): Promise<WrappedKey | null> {
    const r = this.#db.prepare('SELECT * FROM data_keys WHERE tenant = ? AND subject_hash = ?').get(tenant, subjectHash) as Row | undefined;
    return r ? toKey(r) : null;
  }

  async write(keys: readonly WrappedKey[], records: readonly SealedRecord[]): Promise<void> {
    this.#tx(() => {
      for (const k of keys) {
        const res = this.#insertKey.run(k.tenant, k.subjectHash, k.keyId, k.wrapped, k.created);
        if (res.changes !== 1) throw new KeyExistsError(k.tenant, k.subjectHash);
      }
      for (const r of records) {
        this.#insertRecord.run(r.id, r.tenant, r.subjectHash, r.keyId, r.decisionId, r.dataClass, r.receipt, r.model, r.modelVersion, r.path, r.status, r.time, r.expiresAt, r.sealed);
      }
    });
  }

  #where(tenant: string | null): string {
    return tenant === null ? 'subject_hash = ?' : 'subject_hash = ? AND tenant = ?';
  }

  #args(subjectHash: string, tenant: string | null): string[] {
    return tenant === null ? [subjectHash] : [subjectHash, tenant];
  }

  async keysOf(subjectHash: string, tenant: string | null): Promise<WrappedKey[]> {
    return (this.#db.prepare(`SELECT * FROM data_keys WHERE ${this.#where(tenant)}`).all(...this.#args(subjectHash, tenant)) as Row[]).map(toKey);
  }

  async recordsOf(subjectHash: string, tenant: string | null): Promise<SealedRecord[]> {
    return (this.#db.prepare(`SELECT * FROM records WHERE ${this.#where(tenant)} ORDER BY time, id`).all(...this.#args(subjectHash, tenant)) as Row[]).map(toRecord);
  }

  async countRecords(subjectHash: string, tenant: string | null): Promise<number> {
    const r = this.#db.prepare(`SELECT count(*) AS n FROM records WHERE ${this.#where(tenant)}`).get(...this.#args(subjectHash, tenant)) as Row;
    return Number(r.n);
  }

  async destroyKeys(subjectHash: string, tenant: string | null): Promise<number> {
    const n = this.#tx(() => {
      this.#db.prepare(`INSERT OR IGNORE INTO shredded (key_id) SELECT key_id FROM data_keys WHERE ${this.#where(tenant)}`).run(...this.#args(subjectHash, tenant));
      return Number(this.#db.prepare(`DELETE FROM data_keys WHERE ${this.#where(tenant)}`).run(...this.#args(subjectHash, tenant)).changes);
    });
    // The deleted key's page images must not survive in the write-ahead log either.
    if (n > 0) this.#db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return n;
  }

  async sweep(now: number): Promise<SweepResult> {
    return this.#tx(() => {
      const expired = Number(this.#db.prepare('DELETE FROM records WHERE expires_at <= ?').run(now).changes);
      const shredded = Number(this.#db.prepare('DELETE FROM records WHERE key_id IN (SELECT key_id FROM shredded)').run().changes);
      return { expired, shredded };
    });
  }

  async count(): Promise<number> {
    return Number((this.#db.prepare('SELECT count(*) AS n FROM records').get() as Row).n);
  }

  async close(): Promise<void> {
    // The thread first: the last connection to close checkpoints the WAL and removes it.
    await this.checkpointer?.stop();
    if (this.#db.isOpen) this.#db.close();
  }
}
