// The revocation list shared through PostgreSQL when the region state is (state.backend
// postgres): gateway replicas on other machines do not see this machine's revoked.json, so
// `sovereign mesh revoke` also writes the list to a table and announces it with NOTIFY, and
// every gateway LISTENs (with a poll as a safety net), as the region state does.
import pg from 'pg';
import type { Topology } from '../config/index.ts';
import { RevocationSchema, type Revocation, type RevocationList } from './revocation.ts';

const CHANNEL = 'sovereign_mesh_revocations';
const TABLE = `CREATE TABLE IF NOT EXISTS sovereign_mesh_revocations (
  cluster text PRIMARY KEY, version bigint NOT NULL, list jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`;

function connectionString(t: Topology): string | null {
  const st = t.data.state;
  if (st.backend !== 'postgres') return null;
  const url = process.env[st.postgresUrlEnv];
  if (!url) throw new Error(`state.backend is postgres but ${st.postgresUrlEnv} is not set; export the connection string in that variable`);
  return url;
}

/** Writes the list for the topology's cluster and notifies; false when the state is not in PostgreSQL. */
export async function publishRevocations(t: Topology, list: RevocationList): Promise<boolean> {
  const url = connectionString(t);
  if (url === null) return false;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(TABLE);
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO sovereign_mesh_revocations (cluster, version, list) VALUES ($1, $2, $3)
       ON CONFLICT (cluster) DO UPDATE SET version = GREATEST(sovereign_mesh_revocations.version, EXCLUDED.version), list = EXCLUDED.list, updated_at = now()`,
      [t.data.state.cluster, list.version, JSON.stringify(list.revoked)],
    );
    await c.query(`SELECT pg_notify('${CHANNEL}', $1)`, [t.data.state.cluster]);
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
  return true;
}

/** Follows the shared list; null when the state is not in PostgreSQL. */
export async function followRevocations(t: Topology, onList: (l: Revocation[]) => void, onError: (e: Error) => void): Promise<{ close(): Promise<void> } | null> {
  const url = connectionString(t);
  if (url === null) return null;
  const cluster = t.data.state.cluster;
  const c = new pg.Client({ connectionString: url });
  c.on('error', onError);
  await c.connect();
  await c.query(TABLE);
  let last = '';
  const load = async (): Promise<void> => {
    try {
      const r = await c.query<{ list: unknown }>('SELECT list FROM sovereign_mesh_revocations WHERE cluster = $1', [cluster]);
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
  c.on('notification', (n) => {
    if (n.payload === cluster) void load();
  });
  await c.query(`LISTEN ${CHANNEL}`);
  await load();
  const poll = setInterval(() => void load(), 2000);
  poll.unref();
  return {
    async close() {
      clearInterval(poll);
      await c.end().catch(() => undefined);
    },
  };
}
