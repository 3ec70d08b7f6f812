// The PostgreSQL backend: one schema per region ("<prefix>_<region>"), so regions sharing a
// server never share tables. Writes are one transaction each (synchronous_commit on). After an
// erasure, VACUUM marks the destroyed keys' tuples reusable; PostgreSQL's own WAL and free
// space are the operator's to manage (see README, "Data subject rights").
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { KeyExistsError, rowToKey as toKey, rowToRecord as toRecord, type Row, type StoreBackend, type SweepResult } from './backend.ts';
import type { SealedRecord, WrappedKey } from './records.ts';

export interface PgStoreOptions {
  connectionString: string;
  /** e.g. sovereign_store_eu_frankfurt (a SQL identifier). */
  schema: string;
  /** TLS settings (src/mesh/pg-tls.ts); false or absent: plain text. */
  ssl?: false | ConnectionOptions;
}

const RECORD_COLUMNS = ['id', 'tenant', 'subject_hash', 'key_id', 'decision_id', 'data_class', 'receipt', 'model', 'model_version', 'path', 'status', 'time', 'expires_at', 'sealed'] as const;

export class PgBackend implements StoreBackend {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  readonly #pool: pg.Pool;

  private constructor(opts: PgStoreOptions, onError: (err: Error) => void) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) throw new Error(`bad PostgreSQL schema name ${JSON.stringify(opts.schema)}`);
    this.schema = opts.schema;
    this.#pool = new pg.Pool({ connectionString: opts.connectionString, ssl: opts.ssl ?? false, max: 4, options: '-c synchronous_commit=on' });
    this.#pool.on('error', onError);
  }

  static async open(opts: PgStoreOptions, onError: (err: Error) => void): Promise<PgBackend> {
    const b = new PgBackend(opts, onError);
    const s = b.schema;
    const ddl = [
      `CREATE SCHEMA IF NOT EXISTS ${s}`,
      `CREATE TABLE IF NOT EXISTS ${s}.meta (name text PRIMARY KEY, value text NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${s}.data_keys (tenant text NOT NULL, subject_hash text NOT NULL, key_id text NOT NULL UNIQUE, wrapped bytea NOT NULL, created bigint NOT NULL, PRIMARY KEY (tenant, subject_hash))`,
      `CREATE INDEX IF NOT EXISTS data_keys_subject ON ${s}.data_keys (subject_hash)`,
      `CREATE TABLE IF NOT EXISTS ${s}.records (id text PRIMARY KEY, tenant text NOT NULL, subject_hash text NOT NULL, key_id text NOT NULL, decision_id text NOT NULL, data_class text NOT NULL, receipt text, model text NOT NULL, model_version text, path text NOT NULL, status integer NOT NULL, time bigint NOT NULL, expires_at bigint NOT NULL, sealed bytea NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS records_subject ON ${s}.records (subject_hash, tenant)`,
      `CREATE INDEX IF NOT EXISTS records_expires ON ${s}.records (expires_at)`,
      `CREATE INDEX IF NOT EXISTS records_key ON ${s}.records (key_id)`,
      `CREATE TABLE IF NOT EXISTS ${s}.shredded (key_id text PRIMARY KEY)`,
    ];
    try {
      for (const q of ddl) {
        try {
          await b.#pool.query(q);
        } catch (err) {
          // Two cells creating the same schema at once: the loser's IF NOT EXISTS can still fail.
          if ((err as { code?: string }).code !== '23505' && (err as { code?: string }).code !== '42P07') throw err;
        }
      }
    } catch (err) {
      await b.#pool.end();
      throw err;
    }
    return b;
  }

  async #tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async getMeta(name: string): Promise<string | null> {
    const r = await this.#pool.query(`SELECT value FROM ${this.schema}.meta WHERE name = $1`, [name]);
    return (r.rows[0] as Row | undefined)?.value as string | undefined ?? null;
  }

  async initMeta(name: string, value: string): Promise<string> {
    await this.#pool.query(`INSERT INTO ${this.schema}.meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, value]);
    return (await this.getMeta(name)) as string;
  }

  async getKey(tenant: string, subjectHash: string): Promise<WrappedKey | null> {
    const r = await this.#pool.query(`SELECT * FROM ${this.schema}.data_keys WHERE tenant = $1 AND subject_hash = $2`, [tenant, subjectHash]);
    const row = r.rows[0] as Row | undefined;
    return row ? toKey(row) : null;
  }

  async write(keys: readonly WrappedKey[], records: readonly SealedRecord[]): Promise<void> {
    await this.#tx(async (c) => {
      for (const k of keys) {
        const res = await c.query(`INSERT INTO ${this.schema}.data_keys (tenant, subject_hash, key_id, wrapped, created) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, [k.tenant, k.subjectHash, k.keyId, k.wrapped, k.created]);
        if (res.rowCount !== 1) throw new KeyExistsError(k.tenant, k.subjectHash);
      }
      // Multi-row inserts of up to 500 records (14 parameters each, under the 65535 limit).
      for (let i = 0; i < records.length; i += 500) {
        const chunk = records.slice(i, i + 500);
        const values: unknown[] = [];
        const rows = chunk.map((r, j) => {
          values.push(r.id, r.tenant, r.subjectHash, r.keyId, r.decisionId, r.dataClass, r.receipt, r.model, r.modelVersion, r.path, r.status, r.time, r.expiresAt, r.sealed);
          return `(${RECORD_COLUMNS.map((_, k) => `$${j * RECORD_COLUMNS.length + k + 1}`).join(', ')})`;
        });
        await c.query(`INSERT INTO ${this.schema}.records (${RECORD_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`, values);
      }
    });
  }

  #where(tenant: string | null): string {
    return tenant === null ? 'subject_hash = $1' : 'subject_hash = $1 AND tenant = $2';
  }

  #args(subjectHash: string, tenant: string | null): string[] {
    return tenant === null ? [subjectHash] : [subjectHash, tenant];
  }

  async keysOf(subjectHash: string, tenant: string | null): Promise<WrappedKey[]> {
    const r = await this.#pool.query(`SELECT * FROM ${this.schema}.data_keys WHERE ${this.#where(tenant)}`, this.#args(subjectHash, tenant));
    return (r.rows as Row[]).map(toKey);
  }

  async recordsOf(subjectHash: string, tenant: string | null): Promise<SealedRecord[]> {
    const r = await this.#pool.query(`SELECT * FROM ${this.schema}.records WHERE ${this.#where(tenant)} ORDER BY time, id`, this.#args(subjectHash, tenant));
    return (r.rows as Row[]).map(toRecord);
  }

  async countRecords(subjectHash: string, tenant: string | null): Promise<number> {
    const r = await this.#pool.query(`SELECT count(*)::int AS n FROM ${this.schema}.records WHERE ${this.#where(tenant)}`, this.#args(subjectHash, tenant));
    return Number((r.rows[0] as Row).n);
  }

  async destroyKeys(subjectHash: string, tenant: string | null): Promise<number> {
    const n = await this.#tx(async (c) => {
      await c.query(`INSERT INTO ${this.schema}.shredded (key_id) SELECT key_id FROM ${this.schema}.data_keys WHERE ${this.#where(tenant)} ON CONFLICT DO NOTHING`, this.#args(subjectHash, tenant));
      const res = await c.query(`DELETE FROM ${this.schema}.data_keys WHERE ${this.#where(tenant)}`, this.#args(subjectHash, tenant));
      return res.rowCount ?? 0;
    });
    if (n > 0) await this.#pool.query(`VACUUM ${this.schema}.data_keys`).catch(() => undefined);
    return n;
  }

  async sweep(now: number): Promise<SweepResult> {
    return this.#tx(async (c) => {
      const expired = (await c.query(`DELETE FROM ${this.schema}.records WHERE expires_at <= $1`, [now])).rowCount ?? 0;
      const shredded = (await c.query(`DELETE FROM ${this.schema}.records WHERE key_id IN (SELECT key_id FROM ${this.schema}.shredded)`)).rowCount ?? 0;
      return { expired, shredded };
    });
  }

  async count(): Promise<number> {
    const r = await this.#pool.query(`SELECT count(*)::int AS n FROM ${this.schema}.records`);
    return Number((r.rows[0] as Row).n);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
