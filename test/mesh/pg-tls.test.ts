// How a connection string and the topology choose TLS for PostgreSQL (src/mesh/pg-tls.ts), and
// that a TLS request is never downgraded: against the local server (ssl=off), sslmode=require
// is refused with an error naming the setting and the fix, by the region state store and by
// the shared revocation list. The server checks need PostgreSQL (SOVEREIGN_TEST_PG): skipped
// with the reason when unreachable, except under CI=true, where that is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { topologyFrom } from '../../src/config/index.ts';
import { PgRegionStateStore } from '../../src/health/index.ts';
import { explainPgError, followRevocations, initTrustDomain, pgConnectionConfig, publishRevocations } from '../../src/mesh/index.ts';

const URL = process.env.SOVEREIGN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-pgtls-cfg-'));
const base = { dataDir: path.join(dir, 'data'), jurisdictions: { EU: ['FR'] }, regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'https://127.0.0.1:1' }] };
const topology = topologyFrom(base);
await initTrustDomain(topology);

test('sslmode from the URL, PGSSLMODE or mesh.postgres.sslmode: the stricter applies, and TLS parameters leave the URL', () => {
  const u = 'postgres://u@db.example:5432/sov';
  assert.deepEqual(
    [undefined, 'disable', 'require', 'verify-ca', 'verify-full'].map((m) => pgConnectionConfig(topology, 'X', m ? `${u}?sslmode=${m}` : u, null).sslmode),
    ['disable', 'disable', 'verify-ca', 'verify-ca', 'verify-full'],
  );
  const c = pgConnectionConfig(topology, 'X', `${u}?application_name=a&sslmode=verify-full&sslrootcert=${encodeURIComponent(path.join(dir, 'data/mesh/bundle.pem'))}`, null);
  assert.equal(c.connectionString, `${u}?application_name=a`);
  assert.equal(pgConnectionConfig(topology, 'X', `${u}?ssl=true`, null).sslmode, 'verify-ca');
  const strict = topologyFrom({ ...base, mesh: { postgres: { sslmode: 'verify-full' } } });
  assert.equal(pgConnectionConfig(strict, 'X', u, null).sslmode, 'verify-full', 'the topology asks for TLS for every connection');
  assert.equal(pgConnectionConfig(strict, 'X', `${u}?sslmode=disable`, null).sslmode, 'verify-full', 'a URL cannot turn it off');
  assert.equal(pgConnectionConfig(topologyFrom({ ...base, mesh: { postgres: { sslmode: 'require' } } }), 'X', `${u}?sslmode=verify-full`, null).sslmode, 'verify-full');
  process.env.PGSSLMODE = 'verify-full';
  try {
    assert.equal(pgConnectionConfig(topology, 'X', u, null).sslmode, 'verify-full');
  } finally {
    delete process.env.PGSSLMODE;
  }
});

test('settings that could fall back to plain text, or bypass the SVID, are refused with the setting named', () => {
  const u = 'postgres://u@db.example/sov';
  for (const m of ['prefer', 'allow']) {
    assert.throws(() => pgConnectionConfig(topology, 'ledger.postgresUrlEnv (L)', `${u}?sslmode=${m}`, null), new RegExp(`ledger\\.postgresUrlEnv \\(L\\): the connection string: sslmode=${m} would fall back to plain text.*use sslmode=verify-full`));
  }
  assert.throws(() => pgConnectionConfig(topology, 'S', `${u}?sslmode=bogus`, null), /S: the connection string: unknown sslmode "bogus"/);
  assert.throws(() => pgConnectionConfig(topology, 'S', `${u}?sslmode=require&sslcert=/x.pem&sslkey=/x.key`, null), /S: sslcert .* the client certificate is the process's own X\.509-SVID; remove sslcert/);
  const missing = topologyFrom({ ...base, mesh: { postgres: { caFile: path.join(dir, 'nope.pem') } } });
  assert.throws(() => pgConnectionConfig(missing, 'S', `${u}?sslmode=verify-full`, null), /mesh\.postgres\.caFile: cannot read the CA certificate of the PostgreSQL server from .*nope\.pem \(ENOENT\); point it at the PEM file/);
  writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate');
  assert.throws(() => pgConnectionConfig(topologyFrom({ ...base, mesh: { postgres: { caFile: path.join(dir, 'junk.pem') } } }), 'S', `${u}?sslmode=require`, null), /mesh\.postgres\.caFile: .*junk\.pem holds no PEM certificate/);
  assert.throws(() => pgConnectionConfig(topology, 'S', `${u}?sslmode=require&sslrootcert=${path.join(dir, 'gone.pem')}`, null), /sslrootcert in S: cannot read/);
  // Without a trust bundle there is nothing to verify the server with.
  const bare = topologyFrom({ ...base, dataDir: path.join(dir, 'bare') });
  assert.throws(() => pgConnectionConfig(bare, 'S', `${u}?sslmode=verify-full`, null), /S asks for TLS \(sslmode verify-full\) but there is no CA .*run `sovereign mesh init`/);
  // Nothing is asked of a plain-text connection.
  assert.equal(pgConnectionConfig(bare, 'S', u, null).ssl, false);
  assert.throws(() => topologyFrom({ ...base, mesh: { postgres: { serverId: 'db.example' } } }), /expected a SPIFFE ID/);
});

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
const why = 'unreachable' in server ? server.unreachable : 'ssl' in server && server.ssl ? `PostgreSQL at ${URL} has ssl=on; this checks a server without TLS` : null;
if ('unreachable' in server && process.env.CI === 'true') test('PostgreSQL is reachable (required under CI=true)', () => assert.fail(server.unreachable));

const withSsl = `${URL}${URL.includes('?') ? '&' : '?'}sslmode=require`;

test('sslmode=require against a server without TLS is refused, never used in plain text', { skip: why ?? false }, async () => {
  const c = pgConnectionConfig(topology, 'state.postgresUrlEnv (S)', withSsl, null);
  await assert.rejects(
    PgRegionStateStore.open({ connectionString: c.connectionString, ssl: c.ssl, describeError: (err) => explainPgError(err, c), cluster: `tls-${randomUUID()}` }),
    /state\.postgresUrlEnv \(S\) asks for TLS \(sslmode verify-ca\) but the PostgreSQL server does not offer it; turn ssl on .*never falls back to plain text/,
  );
  // Given the raw URL (no Sovereign settings), node-postgres itself still refuses.
  await assert.rejects(PgRegionStateStore.open({ connectionString: withSsl, cluster: `tls-${randomUUID()}` }), /does not support SSL/);
  // The shared revocation list, both ways.
  const ENV = `SOVEREIGN_TEST_PGTLS_${process.pid}`;
  process.env[ENV] = withSsl;
  try {
    const t = topologyFrom({ ...base, state: { backend: 'postgres', postgresUrlEnv: ENV, cluster: `tls-${randomUUID()}` } });
    await assert.rejects(publishRevocations(t, { version: 1, revoked: [] }), new RegExp(`state\\.postgresUrlEnv \\(${ENV}\\) asks for TLS .* does not offer it`));
    await assert.rejects(followRevocations(t, () => undefined, () => undefined), /does not offer it/);
  } finally {
    delete process.env[ENV];
  }
});
