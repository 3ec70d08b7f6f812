// The revocation list shared through PostgreSQL: processes on other machines do not see this
// machine's revoked.json, so `sovereign mesh revoke` also writes the list to a table in every
// database the topology uses (region state, ledger, store) and announces it with NOTIFY.
// Gateways LISTEN on the region state's database, cells on their ledger's or store's (with a
// poll as a safety net), as the region state does. Connections use TLS with the process's
// SVID when asked to (pg-tls.ts).
import pg from 'pg';
import type { Topology } from '../config/index.ts';
import { explainPgError, pgConnectionFromEnv, type PgConnectionConfig, type PgTlsIdentity } from './pg-tls.ts';
import { RevocationSchema, readRevocations, type Revocation, type RevocationList } from './revocation.ts';
import { trustDomainPaths } from './paths.ts';
import { issueFor, readBundle } from './trust-domain.ts';
import { checkPeer } from './verify.ts';

const CHANNEL = 'sovereign_mesh_revocations';
const TABLE = `CREATE TABLE IF NOT EXISTS sovereign_mesh_revocations (
  cluster text PRIMARY KEY, version bigint NOT NULL, list jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`;

/** A PostgreSQL database of the topology: the region state's, the ledger's or the store's. */
export type PgSource = 'state' | 'ledger' | 'store';

function uses(t: Topology, s: PgSource): boolean {
  if (s === 'state') return t.data.state.backend === 'postgres';
  if (s === 'ledger') return t.data.ledger.backend === 'postgres';
  return t.data.store.enabled && t.data.store.backend === 'postgres';
}

/** The connection of a source the topology uses; null when it does not use it; throws when its variable is unset. */
function connectionOf(t: Topology, s: PgSource, identity: PgTlsIdentity | null): PgConnectionConfig | null {
  if (!uses(t, s)) return null;
  const c = pgConnectionFromEnv(t, s, identity);
  if (!c) throw new Error(`${s}.backend is postgres but ${t.data[s].postgresUrlEnv} is not set; export the connection string in that variable`);
  return c;
}

/**
 * The identity of `sovereign mesh revoke` on a PostgreSQL server that wants a client
 * certificate: a short-lived SVID of its own (spiffe://<td>/operator/mesh-cli), recorded like
 * any issuance.
 */
async function operatorIdentity(t: Topology): Promise<PgTlsIdentity> {
  const td = t.data.mesh.trustDomain;
  const s = await issueFor(t, `spiffe://${td}/operator/mesh-cli`, { by: 'mesh revoke', ttlSeconds: 300 });
  const bundle = readBundle(t);
  return {
    serverTls: () => ({ key: s.keyPem, cert: s.chainPem, ca: bundle }),
    check: (cert) => checkPeer(cert, td, readRevocations(trustDomainPaths(t).revoked)),
  };
}

/** Where a list was published: the settings whose databases hold it now, and those left out with why. */
export interface PublishResult {
  published: string[];
  skipped: string[];
}

/**
 * Writes the list for the topology's cluster to every database the topology uses and notifies.
 * The region state's variable must be set when state.backend is postgres; a ledger or store
 * database whose variable is unset here is reported as skipped.
 */
export async function publishRevocations(t: Topology, list: RevocationList, identity: PgTlsIdentity | null = null): Promise<PublishResult> {
  const plan = (id: PgTlsIdentity | null): PublishResult & { targets: PgConnectionConfig[] } => {
    const targets: PgConnectionConfig[] = [];
    const skipped: string[] = [];
    for (const s of ['state', 'ledger', 'store'] as const) {
      if (!uses(t, s)) continue;
      const c = s === 'state' ? connectionOf(t, s, id) : pgConnectionFromEnv(t, s, id);
      if (!c) skipped.push(`${s}.postgresUrlEnv (${t.data[s].postgresUrlEnv} is not set here)`);
      // One write per database (several settings often name the same one).
      else if (!targets.some((o) => o.connectionString === c.connectionString && o.sslmode === c.sslmode)) targets.push(c);
    }
    return { targets, skipped, published: [] };
  };
  let p = plan(identity);
  if (identity === null && t.data.mesh.mode === 'mtls' && p.targets.some((c) => c.sslmode !== 'disable')) p = plan(await operatorIdentity(t));
  const { targets, skipped } = p;
  const published: string[] = [];
  for (const conn of targets) {
    const c = new pg.Client({ connectionString: conn.connectionString, ssl: conn.ssl });
    try {
      await c.connect().catch((err: unknown) => Promise.reject(explainPgError(err, conn)));
      await c.query(TABLE);
      await c.query('BEGIN');
      await c.query(
        `INSERT INTO sovereign_mesh_revocations (cluster, version, list) VALUES ($1, $2, $3)
         ON CONFLICT (cluster) DO UPDATE SET version = GREATEST(sovereign_mesh_revocations.version, EXCLUDED.version), list = EXCLUDED.list, updated_at = now()`,
        [t.data.state.cluster, list.version, JSON.stringify(list.revoked)],
      );
      await c.query(`SELECT pg_notify('${CHANNEL}', $1)`, [t.data.state.cluster]);
      await c.query('COMMIT');
      published.push(conn.setting);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  return { published, skipped };
}

/**
 * Follows the shared list in the first of `sources` the topology uses (gateways: the region
 * state's database; cells: their ledger's or store's); null when it uses none of them.
 */
export async function followRevocations(
  t: Topology,
  onList: (l: Revocation[]) => void,
  onError: (e: Error) => void,
  identity: PgTlsIdentity | null = null,
  sources: readonly PgSource[] = ['state'],
): Promise<{ close(): Promise<void>; setting: string } | null> {
  let conn: PgConnectionConfig | null = null;
  for (const s of sources) {
    conn = connectionOf(t, s, identity);
    if (conn) break;
  }
  if (conn === null) return null;
  const cfg = conn;
  const cluster = t.data.state.cluster;
  let c: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  let last = '';
  const load = async (): Promise<void> => {
    const cl = c;
    if (!cl) return;
    try {
      const r = await cl.query<{ list: unknown }>('SELECT list FROM sovereign_mesh_revocations WHERE cluster = $1', [cluster]);
      const list = RevocationSchema.array().parse(r.rows[0]?.list ?? []);
      const key = JSON.stringify(list);
      if (key !== last) {
        last = key;
        onList(list);
      }
    } catch (err) {
      onError(err as Error);
    }
  };
  const connect = async (): Promise<void> => {
    // Named, so an operator sees in pg_stat_activity which session follows the list.
    const cl = new pg.Client({ connectionString: cfg.connectionString, ssl: cfg.ssl, application_name: 'sovereign-revocations' });
    let up = false;
    let lost = false;
    // A lost session (server restart, network) is replaced: a cell on another machine must not
    // stop hearing about revocations. Each new session uses the SVID in force then.
    const onLost = (err?: Error): void => {
      if (lost || !up) return; // a session that never came up is the caller's to report
      lost = true;
      if (err) onError(err);
      if (c === cl) c = null;
      if (!closed) schedule();
    };
    cl.on('error', onLost);
    cl.on('end', () => onLost());
    cl.on('notification', (n) => {
      if (n.payload === cluster) void load();
    });
    try {
      await cl.connect();
      await cl.query(TABLE);
      await cl.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await cl.end().catch(() => undefined);
      throw explainPgError(err, cfg);
    }
    if (closed) return void (await cl.end().catch(() => undefined));
    up = true;
    c = cl;
    await load();
  };
  const schedule = (): void => {
    if (retry || closed) return;
    retry = setTimeout(() => {
      retry = null;
      connect().catch((err: unknown) => {
        onError(err as Error);
        schedule();
      });
    }, 1000);
    retry.unref();
  };
  await connect();
  // Safety net for notifications missed while a session was being replaced.
  const poll = setInterval(() => void load(), 2000);
  poll.unref();
  return {
    setting: cfg.setting,
    async close() {
      closed = true;
      clearInterval(poll);
      if (retry) clearTimeout(retry);
      await c?.end().catch(() => undefined);
    },
  };
}
