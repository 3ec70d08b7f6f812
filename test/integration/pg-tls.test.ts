// A real Sovereign (`sovereign up`: four cells and a gateway as OS processes) whose ledger,
// region store, region state and shared revocation list all live in a PostgreSQL 15 that takes
// TLS connections with a client certificate of the trust domain only (hostssl ...
// clientcert=verify-ca, no plain host line; server SVID spiffe://sovereign.internal/postgres/main).
// The connection string says sslmode=verify-full. Every process connects with its own SVID;
// a revocation published in PostgreSQL (and nowhere else) is in force on every cell within a
// second; `sovereign mesh revoke` publishes over TLS with an operator SVID of its own.
// The trust domain's root is made first (the server's certificate must chain to it) and named
// in the topology as the operator's own root (mesh.rootCertFile / rootKeyFile).
// Needs root and the PostgreSQL 15 binaries: skipped with the reason when missing, except under
// CI=true, where that is a failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { request } from 'undici';
import { loadTopology, topologyFrom, type Topology } from '../../src/config/index.ts';
import { initTrustDomain, issueFor, pgConnectionConfig, publishRevocations, readBundle, spiffeId, trustDomainPaths, type PgTlsIdentity } from '../../src/mesh/index.ts';
import { checkPeer } from '../../src/mesh/verify.ts';
import { MAIN, ROOT, startCluster, type Cluster } from '../helpers/cluster.ts';
import { meshClient, type MeshClient } from '../helpers/mesh.ts';
import { startTlsPostgres, tlsPostgresUnavailable, type TlsPostgres } from '../helpers/pg-tls-server.ts';

const run = promisify(execFile);
const why = tlsPostgresUnavailable();
if (why !== null && process.env.CI === 'true') test("a PostgreSQL server of the test's own can be started (required under CI=true)", () => assert.fail(why));

const ENV = `SOVEREIGN_TEST_PGTLS_URL_${process.pid}`;
const TD = 'sovereign.internal';
let server: TlsPostgres | undefined;
let cluster: Cluster | undefined;
let topology: Topology;
let db: pg.Client | undefined;
const clients: MeshClient[] = [];

before(async () => {
  if (why) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-pgtls-it-'));
  const ca = topologyFrom({ dataDir: path.join(dir, 'ca'), jurisdictions: { EU: ['FR'] }, regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'https://127.0.0.1:1' }] });
  await initTrustDomain(ca);
  const cert = await issueFor(ca, `spiffe://${TD}/postgres/main`, { by: 'test', hosts: ['127.0.0.1'], ttlSeconds: 3600 });
  server = await startTlsPostgres({ cert: cert.chainPem, key: cert.keyPem, ca: readBundle(ca) });
  process.env[ENV] = server.url('sslmode=verify-full');
  const root = trustDomainPaths(ca);
  cluster = await startCluster({
    mesh: { rootCertFile: root.rootCert, rootKeyFile: root.rootKey },
    ledger: { backend: 'postgres', postgresUrlEnv: ENV },
    store: { backend: 'postgres', postgresUrlEnv: ENV, flushIntervalMs: 50 },
    state: { backend: 'postgres', postgresUrlEnv: ENV, cluster: 'pgtls-it' },
  });
  topology = loadTopology(cluster.configFile);
  // The test reads the database as an operator would: over TLS, with an SVID of its own.
  const me = await issueFor(topology, `spiffe://${TD}/operator/test`, { by: 'test' });
  const identity: PgTlsIdentity = { serverTls: () => ({ key: me.keyPem, cert: me.chainPem, ca: readBundle(topology) }), check: (c) => checkPeer(c, TD, { version: 0, revoked: [] }) };
  const cfg = pgConnectionConfig(topology, ENV, process.env[ENV], identity);
  db = new pg.Client({ connectionString: cfg.connectionString, ssl: cfg.ssl });
  await db.connect();
});

after(async () => {
  await db?.end().catch(() => undefined);
  for (const c of clients) await c.close();
  await cluster?.stop();
  await server?.stop();
  delete process.env[ENV];
});

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what} within ${ms} ms`);
}

test('the gateway and every cell reach PostgreSQL over TLS only, each with its own SVID; ledger and store work through it', { skip: why ?? false }, async () => {
  const d = db as pg.Client;
  const conns = await d.query<{ ssl: boolean; issuer_dn: string | null }>(
    `SELECT s.ssl, s.issuer_dn FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()`,
  );
  assert.ok(conns.rows.length >= 10, `connections of the gateway and four cells, got ${conns.rows.length}`);
  assert.ok(conns.rows.every((r) => r.ssl), 'every connection is TLS');
  // The issuer of each client certificate: the control plane's CA (the gateway) and each region's CA (its cell).
  const issuers = new Set(conns.rows.map((r) => /CN=([^,/]+)/.exec(r.issuer_dn ?? '')?.[1]));
  for (const n of ['Sovereign control plane CA', 'Sovereign region eu-frankfurt CA', 'Sovereign region eu-paris CA', 'Sovereign region uae-dubai CA', 'Sovereign region sg-singapore CA']) assert.ok(issuers.has(n), `a connection with an SVID of ${n}; saw ${[...issuers].join(', ')}`);

  const origin = topology.ledgerOrigin('eu-frankfurt');
  const count = async (): Promise<number> => Number((await d.query<{ n: string }>('SELECT count(*) AS n FROM sovereign_ledger_entries WHERE origin = $1', [origin])).rows[0]?.n);
  const before = await count();
  const res = await request(`${(cluster as Cluster).gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' },
    body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hello over TLS' }] }),
  });
  const body = await res.body.text();
  assert.equal(res.statusCode, 200, body);
  assert.equal(res.headers['x-sovereign-region'], 'eu-frankfurt');
  await until(async () => (await count()) > before, 10_000, 'the decision is an entry of the ledger in PostgreSQL');
  await until(async () => Number((await d.query<{ n: string }>('SELECT count(*) AS n FROM sovereign_store_eu_frankfurt.records')).rows[0]?.n) > 0, 10_000, 'the served request is in the region store in PostgreSQL');
  const state = await d.query('SELECT version FROM sovereign_region_state WHERE cluster = $1', ['pgtls-it']);
  assert.equal(state.rows.length, 1, 'the gateway keeps the region state in it');
});

test('a revocation published in PostgreSQL only is in force on every cell within a second', { skip: why ?? false }, async (t) => {
  const c = cluster as Cluster;
  const probe = await meshClient(c.configFile, spiffeId.gateway(TD, 'probe'));
  clients.push(probe);
  for (const url of Object.values(c.regions)) {
    const r = await probe.request(`${url}/v2/health/ready`);
    await r.body.dump();
    assert.equal(r.statusCode, 200);
  }
  // Not in this machine's revoked.json: the cells can learn it from PostgreSQL only.
  const shared = await publishRevocations(topology, { version: 1000, revoked: [{ spiffe_id: probe.id, time: new Date().toISOString(), reason: 'test' }] });
  assert.deepEqual(shared.published, [`state.postgresUrlEnv (${ENV})`], 'one database, written once');
  const started = Date.now();
  // Each cell asked in turn of its own, from the moment the revocation is committed.
  const refusedAfter = await Promise.all(
    Object.entries(c.regions).map(async ([region, url]) => {
      while (Date.now() - started < 1000) {
        const refused = await probe.request(`${url}/v2/health/ready`, { headersTimeout: 1000 }).then(
          async (r) => (await r.body.dump(), false),
          () => true,
        );
        if (refused) return [region, Date.now() - started] as const;
        await new Promise((r) => setTimeout(r, 20));
      }
      return [region, null] as const;
    }),
  );
  t.diagnostic(`refused ${refusedAfter.map(([r, ms]) => `${r}: ${ms ?? 'never'} ms`).join(', ')} after the commit`);
  const refused = refusedAfter.filter(([, ms]) => ms !== null).map(([r]) => r);
  assert.deepEqual(refused.sort(), Object.keys(c.regions).sort());
});

test('`sovereign mesh revoke` publishes the list over TLS with an operator SVID', { skip: why ?? false }, async () => {
  const id = spiffeId.gateway(TD, 'probe-2');
  const out = await run(process.execPath, [MAIN, '--config', (cluster as Cluster).configFile, 'mesh', 'revoke', id, '--reason', 'test'], { cwd: ROOT, env: process.env });
  assert.match(out.stdout, new RegExp(`shared through PostgreSQL: state\\.postgresUrlEnv \\(${ENV}\\)`));
  const row = await (db as pg.Client).query<{ list: { spiffe_id?: string }[] }>('SELECT list FROM sovereign_mesh_revocations WHERE cluster = $1', ['pgtls-it']);
  assert.ok(row.rows[0]?.list.some((r) => r.spiffe_id === id));
});
