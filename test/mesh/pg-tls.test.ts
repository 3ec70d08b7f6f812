// PostgreSQL connections use TLS when the connection string asks for it (node-postgres reads
// sslmode from it): with sslmode=require a server without TLS is refused rather than used in
// the clear, and a server with TLS is reached encrypted. The local server's `SHOW ssl` decides
// which of the two is checked. Needs PostgreSQL (SOVEREIGN_TEST_PG): skipped with the reason
// when unreachable, except under CI=true, where that is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PgRegionStateStore } from '../../src/health/index.ts';

const URL = process.env.SOVEREIGN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function serverSsl(): Promise<{ ssl: boolean } | { unreachable: string }> {
  const c = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const r = await c.query<{ ssl: string }>('SHOW ssl');
    return { ssl: r.rows[0]?.ssl === 'on' };
  } catch (err) {
    return { unreachable: `PostgreSQL at ${URL} is unreachable (${(err as Error).message}); set SOVEREIGN_TEST_PG` };
  } finally {
    await c.end().catch(() => undefined);
  }
}
const server = await serverSsl();
const why = 'unreachable' in server ? server.unreachable : null;
if (why !== null && process.env.CI === 'true') test('PostgreSQL is reachable (required under CI=true)', () => assert.fail(why));

const withSsl = `${URL}${URL.includes('?') ? '&' : '?'}sslmode=require`;

test('the region state store honours sslmode=require: refused by a server without TLS, encrypted with one', { skip: why ?? false }, async (t) => {
  if ('ssl' in server && !server.ssl) {
    t.diagnostic('the local PostgreSQL has ssl=off: checking that sslmode=require refuses it instead of falling back to plain text');
    await assert.rejects(PgRegionStateStore.open({ connectionString: withSsl, cluster: `tls-${randomUUID()}` }), /does not support SSL/);
    return;
  }
  const store = await PgRegionStateStore.open({ connectionString: withSsl, cluster: `tls-${randomUUID()}` });
  await store.close();
  const c = new pg.Client({ connectionString: withSsl });
  await c.connect();
  const r = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  await c.end();
  assert.equal(r.rows[0]?.ssl, true);
});
