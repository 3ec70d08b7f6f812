// Region state shared by several gateway replicas through PostgreSQL: one row per cluster
// holds the versioned state; a change is made under SELECT ... FOR UPDATE and announced with
// NOTIFY; every replica LISTENs, applies the state, and records the version it applied with
// a heartbeat, so a trigger's caller can wait until every live replica has it in force.
import { randomUUID } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { RegionStateSchema, EMPTY_STATE, type RegionState, type RegionStateStore } from './region-state.ts';

const CHANNEL = 'sovereign_region_state';
const HEARTBEAT_MS = 500;
/** A replica that has not been seen for this long is not waited for. */
const LIVE_WITHIN_MS = 3000;

export interface PgRegionStateOptions {
  connectionString: string;
  /** TLS settings (src/mesh/pg-tls.ts); false or absent: plain text. */
  ssl?: false | ConnectionOptions;
  /** Explains a connection error (which setting asked for TLS, and the fix). */
  describeError?: (err: unknown) => Error;
  cluster: string;
  replica?: string;
  onError?: (err: Error) => void;
}

export class PgRegionStateStore implements RegionStateStore {
  readonly replica: string;
  readonly #pool: pg.Pool;
  readonly #opts: PgRegionStateOptions;
  #listener: pg.Client;
  #reconnect: NodeJS.Timeout | null = null;
  readonly #cluster: string;
  readonly #onError: (err: Error) => void;
  #subscribers: ((s: RegionState) => void)[] = [];
  #applied = -1;
  /** The version this replica last acknowledged (its heartbeat repeats it, never more). */
  #acked = -1;
  #heartbeat: NodeJS.Timeout | null = null;
  #poll: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(opts: PgRegionStateOptions) {
    this.#opts = opts;
    this.#pool = new pg.Pool({ connectionString: opts.connectionString, ssl: opts.ssl ?? false, max: 4 });
    this.#listener = this.#newListener();
    this.#cluster = opts.cluster;
    this.replica = opts.replica ?? randomUUID();
    this.#onError = opts.onError ?? ((e) => console.error(JSON.stringify({ level: 50, msg: 'region state store error', err: e.message })));
    this.#pool.on('error', (e) => this.#onError(e));
  }

  /**
   * The session that LISTENs. A lost one (server restart, network, an idle timeout) is replaced
   * a second later: without it this replica would learn of a trigger only from the 2 s poll.
   */
  #newListener(): pg.Client {
    const cl = new pg.Client({ connectionString: this.#opts.connectionString, ssl: this.#opts.ssl ?? false, application_name: 'sovereign-region-state' });
    let lost = false;
    const onLost = (err?: Error): void => {
      if (lost) return;
      lost = true;
      if (err) this.#onError(err);
      if (!this.#closed && cl === this.#listener) this.#scheduleListen();
    };
    cl.on('error', onLost);
    cl.on('end', () => onLost());
    cl.on('notification', (n) => {
      if (n.payload?.startsWith(`${this.#cluster}:`)) void this.#refresh();
    });
    return cl;
  }

  async #listen(cl: pg.Client): Promise<void> {
    await cl.connect();
    await cl.query(`LISTEN ${CHANNEL}`);
  }

  #scheduleListen(): void {
    if (this.#reconnect || this.#closed) return;
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      const cl = this.#newListener();
      this.#listener = cl;
      this.#listen(cl).then(
        // What changed while no session listened.
        () => (this.#closed ? void cl.end().catch(() => undefined) : void this.#refresh()),
        (err: unknown) => {
          this.#onError(err instanceof Error ? err : new Error(String(err)));
          void cl.end().catch(() => undefined);
          this.#scheduleListen();
        },
      );
    }, 1000);
    this.#reconnect.unref();
  }

  static async open(opts: PgRegionStateOptions): Promise<PgRegionStateStore> {
    const s = new PgRegionStateStore(opts);
    try {
      await s.#pool.query(`
        CREATE TABLE IF NOT EXISTS sovereign_region_state (
          cluster text PRIMARY KEY, version bigint NOT NULL, state jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS sovereign_replicas (
          cluster text NOT NULL, replica text NOT NULL, acked_version bigint NOT NULL, seen_at timestamptz NOT NULL,
          PRIMARY KEY (cluster, replica));`);
      await s.#pool.query('INSERT INTO sovereign_region_state (cluster, version, state) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING', [opts.cluster, JSON.stringify(EMPTY_STATE)]);
      await s.#listen(s.#listener);
    } catch (err) {
      await s.close();
      throw new Error(`region state: cannot use PostgreSQL (${(opts.describeError?.(err) ?? (err as Error)).message}); check state.postgresUrlEnv and that the server is up`);
    }
    // Safety net for notifications missed while a listening session is replaced.
    s.#poll = setInterval(() => void s.#refresh(), 2000);
    s.#poll.unref();
    s.#heartbeat = setInterval(() => void s.#beat(), HEARTBEAT_MS);
    s.#heartbeat.unref();
    return s;
  }

  async #refresh(): Promise<void> {
    if (this.#closed) return;
    try {
      const st = await this.load();
      if (st.version > this.#applied) {
        this.#applied = st.version;
        for (const cb of this.#subscribers) cb(st);
      }
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  async #beat(): Promise<void> {
    // Only what the replica said it applied: a gateway with workers acknowledges a version once
    // every worker has it in force, which may be after this store delivered it.
    if (this.#closed || this.#acked < 0) return;
    await this.ack(this.#acked).catch((e: unknown) => this.#onError(e as Error));
  }

  async load(): Promise<RegionState> {
    const r = await this.#pool.query<{ state: unknown }>('SELECT state FROM sovereign_region_state WHERE cluster = $1', [this.#cluster]);
    return RegionStateSchema.parse(r.rows[0]?.state ?? EMPTY_STATE);
  }

  async update(change: (s: RegionState) => RegionState): Promise<RegionState> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN');
      const r = await c.query<{ state: unknown }>('SELECT state FROM sovereign_region_state WHERE cluster = $1 FOR UPDATE', [this.#cluster]);
      const cur = RegionStateSchema.parse(r.rows[0]?.state ?? EMPTY_STATE);
      const next = RegionStateSchema.parse({ ...change(cur), version: cur.version + 1 });
      await c.query('UPDATE sovereign_region_state SET version = $2, state = $3, updated_at = now() WHERE cluster = $1', [this.#cluster, next.version, JSON.stringify(next)]);
      await c.query(`SELECT pg_notify('${CHANNEL}', $1)`, [`${this.#cluster}:${next.version}`]);
      await c.query('COMMIT');
      return next;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  subscribe(onState: (s: RegionState) => void): void {
    this.#subscribers.push(onState);
    void this.#refresh();
  }

  async ack(version: number): Promise<void> {
    this.#acked = Math.max(this.#acked, version);
    await this.#pool.query(
      `INSERT INTO sovereign_replicas (cluster, replica, acked_version, seen_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (cluster, replica) DO UPDATE SET acked_version = GREATEST(sovereign_replicas.acked_version, EXCLUDED.acked_version), seen_at = now()`,
      [this.#cluster, this.replica, version],
    );
  }

  async waitForReplicas(version: number, timeoutMs: number): Promise<{ replicas: number }> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.#pool.query<{ live: string; behind: string }>(
        `SELECT count(*) AS live, count(*) FILTER (WHERE acked_version < $2) AS behind FROM sovereign_replicas
         WHERE cluster = $1 AND seen_at > now() - ($3 || ' milliseconds')::interval`,
        [this.#cluster, version, String(LIVE_WITHIN_MS)],
      );
      const row = r.rows[0];
      if (row && Number(row.behind) === 0) return { replicas: Number(row.live) };
      if (Date.now() > end) throw new Error(`${row?.behind ?? '?'} of ${row?.live ?? '?'} gateway replicas have not applied region state version ${version} within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#poll) clearInterval(this.#poll);
    if (this.#reconnect) clearTimeout(this.#reconnect);
    await this.#pool.query('DELETE FROM sovereign_replicas WHERE cluster = $1 AND replica = $2', [this.#cluster, this.replica]).catch(() => undefined);
    await this.#listener.end().catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }
}
