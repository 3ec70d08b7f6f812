// PostgreSQL over TLS with mesh identities, against a real PostgreSQL 15 of the test's own:
// ssl=on, a server SVID (spiffe://sovereign.internal/postgres/test, IP SAN 127.0.0.1), the
// trust bundle as ssl_ca_file and the one pg_hba line `hostssl all all 127.0.0.1/32 trust
// clientcert=verify-ca`. A process gets in with its SVID as client certificate; plain text, no
// client certificate, or one of another trust domain are refused; a renewed SVID is used by
// new pooled connections while open ones keep working; the server is checked as a database
// identity; an operator's own CA for the server works through mesh.postgres.caFile.
// Needs root and the PostgreSQL 15 binaries: skipped with the reason when missing, except under
// CI=true, where that is a failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { explainPgError, followRevocations, initTrustDomain, issueFor, Mesh, pgConnectionConfig, publishRevocations, readBundle, spiffeId, trustDomainPaths, type PgConnectionConfig } from '../../src/mesh/index.ts';
import { startTlsPostgres, tlsPostgresUnavailable, type TlsPostgres } from '../helpers/pg-tls-server.ts';

const why = tlsPostgresUnavailable();
if (why !== null && process.env.CI === 'true') test('a PostgreSQL server of the test\'s own can be started (required under CI=true)', () => assert.fail(why));

const quiet = pino({ level: 'silent' });
const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-pgtls-test-'));
const base = { jurisdictions: { EU: ['FR'] }, regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'https://127.0.0.1:1' }] };
let topology: Topology;
let server: TlsPostgres | undefined;
let gw: Mesh;
const meshes: Mesh[] = [];

before(async () => {
  if (why) return;
  topology = topologyFrom({ ...base, dataDir: path.join(dir, 'a') });
  await initTrustDomain(topology);
  const db = await issueFor(topology, 'spiffe://sovereign.internal/postgres/test', { by: 'test', hosts: ['127.0.0.1'], ttlSeconds: 3600 });
  server = await startTlsPostgres({ cert: db.chainPem, key: db.keyPem, ca: readBundle(topology) });
  gw = await Mesh.open(topology, spiffeId.gateway('sovereign.internal', 'a'), quiet);
  meshes.push(gw);
});
after(async () => {
  for (const m of meshes) m.close();
  await server?.stop();
});

function client(c: PgConnectionConfig): pg.Client {
  return new pg.Client({ connectionString: c.connectionString, ssl: c.ssl, connectionTimeoutMillis: 10_000 });
}

async function sslFacts(c: pg.ClientBase): Promise<{ ssl: boolean; serial: string | null }> {
  const r = await c.query<{ ssl: boolean; client_serial: string | null }>('SELECT ssl, client_serial::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  const row = r.rows[0];
  return { ssl: row?.ssl ?? false, serial: row?.client_serial ? BigInt(row.client_serial).toString(16) : null };
}

const hex = (s: string): string => BigInt(`0x${s}`).toString(16);

/** Connects with `c` and returns the refusal, explained as Sovereign explains it. */
async function refusal(c: PgConnectionConfig): Promise<string> {
  const cl = client(c);
  try {
    await cl.connect();
  } catch (err) {
    return explainPgError(err, c).message;
  } finally {
    await cl.end().catch(() => undefined);
  }
  return 'connected';
}

test('a process connects with its SVID as client certificate and verifies the server (verify-full)', { skip: why ?? false }, async () => {
  const cfg = pgConnectionConfig(topology, 'TEST_URL', (server as TlsPostgres).url('sslmode=verify-full'), gw);
  assert.equal(cfg.sslmode, 'verify-full');
  assert.doesNotMatch(cfg.connectionString, /sslmode/, 'Sovereign sets TLS itself, node-postgres does not read it from the URL');
  const c = client(cfg);
  await c.connect();
  try {
    const f = await sslFacts(c);
    assert.equal(f.ssl, true);
    assert.equal(f.serial, hex(gw.svid?.serial as string), 'the server saw this process\'s current SVID');
  } finally {
    await c.end();
  }
  // require means verify-ca: the server is still checked against the trust bundle.
  const req = client(pgConnectionConfig(topology, 'TEST_URL', (server as TlsPostgres).url('sslmode=require'), gw));
  await req.connect();
  assert.equal((await sslFacts(req)).ssl, true);
  await req.end();
});

test('plain text, no client certificate, and a client certificate of another trust domain are refused', { skip: why ?? false }, async () => {
  const s = server as TlsPostgres;
  // No hostnossl/host line: a plain-text connection finds no pg_hba entry.
  const plain = await refusal(pgConnectionConfig(topology, 'TEST_URL', s.url('sslmode=disable'), gw));
  assert.match(plain, /no pg_hba\.conf entry .*no encryption/);
  assert.match(plain, /TEST_URL.*add sslmode=verify-full/, 'the error names the setting and the fix');
  // TLS, the server verified, but no client certificate (no mesh identity).
  const anonymous = await refusal(pgConnectionConfig(topology, 'TEST_URL', s.url('sslmode=verify-full'), null));
  assert.match(anonymous, /client certificate/);
  assert.match(anonymous, /TEST_URL/);
  // A workload of another trust domain (it trusts our server through caFile, but the server does not trust it).
  const other = topologyFrom({ ...base, dataDir: path.join(dir, 'b'), mesh: { trustDomain: 'other.example', postgres: { caFile: trustDomainPaths(topology).bundle } } });
  await initTrustDomain(other);
  const stranger = await Mesh.open(other, spiffeId.gateway('other.example', 'x'), quiet);
  meshes.push(stranger);
  const foreign = await refusal(pgConnectionConfig(other, 'TEST_URL', s.url('sslmode=verify-full'), stranger));
  assert.match(foreign, /TEST_URL: the PostgreSQL server does not trust this process's certificate \(.*unknown ca.*\).*ssl_ca_file/);
  assert.match(s.log(), /connection requires a valid client certificate|certificate verify failed/);
});

test('a renewed SVID is used by new pooled connections; open ones keep working', { skip: why ?? false }, async () => {
  // Same trust domain, SVIDs of 4 s: renewed every 2 s.
  const short = topologyFrom({ ...base, dataDir: path.join(dir, 'a'), mesh: { svidTtlSeconds: 4 } });
  const m = await Mesh.open(short, spiffeId.gateway('sovereign.internal', 'renewing'), quiet);
  meshes.push(m);
  const cfg = pgConnectionConfig(short, 'TEST_URL', (server as TlsPostgres).url('sslmode=verify-full'), m);
  const pool = new pg.Pool({ connectionString: cfg.connectionString, ssl: cfg.ssl, max: 4 });
  try {
    const first = await pool.connect();
    const s1 = (await sslFacts(first)).serial;
    assert.equal(s1, hex(m.svid?.serial as string));
    const deadline = Date.now() + 30_000;
    while (hex(m.svid?.serial as string) === s1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.notEqual(hex(m.svid?.serial as string), s1, 'the SVID was renewed');
    // The open connection is not dropped by the renewal.
    assert.equal((await first.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1);
    // A new connection (the first is checked out) presents the new SVID.
    const second = await pool.connect();
    const s2 = (await sslFacts(second)).serial;
    assert.notEqual(s2, s1);
    assert.equal(s2, hex(m.svid?.serial as string));
    first.release();
    second.release();
  } finally {
    await pool.end();
  }
});

test('the shared revocation list is followed over TLS, also after its session is lost', { skip: why ?? false }, async () => {
  const ENV = `SOVEREIGN_TEST_PGTLS_FOLLOW_${process.pid}`;
  process.env[ENV] = (server as TlsPostgres).url('sslmode=verify-full');
  // A cell's view: its ledger is in this database.
  const t = topologyFrom({ ...base, dataDir: path.join(dir, 'a'), ledger: { backend: 'postgres', postgresUrlEnv: ENV } });
  const lists: string[][] = [];
  const f = await followRevocations(t, (l) => lists.push(l.map((r) => r.spiffe_id ?? '')), () => undefined, gw, ['ledger', 'store']);
  assert.ok(f);
  try {
    assert.equal(f.setting, `ledger.postgresUrlEnv (${ENV})`);
    const has = async (id: string): Promise<void> => {
      const deadline = Date.now() + 15_000;
      while (!lists.some((l) => l.includes(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(lists.some((l) => l.includes(id)), `${id} heard of; lists: ${JSON.stringify(lists)}`);
    };
    const revoke = async (id: string, version: number): Promise<void> => {
      const r = await publishRevocations(t, { version, revoked: [{ spiffe_id: id, time: new Date().toISOString(), reason: 'test' }] });
      assert.deepEqual(r.published, [`ledger.postgresUrlEnv (${ENV})`]);
    };
    await revoke('spiffe://sovereign.internal/gateway/one', 1);
    await has('spiffe://sovereign.internal/gateway/one');
    // The follower's session ends (a server restart, a network cut): it comes back by itself.
    const admin = client(pgConnectionConfig(topology, 'TEST_URL', (server as TlsPostgres).url('sslmode=verify-full'), gw));
    await admin.connect();
    const killed = await admin.query<{ n: string }>(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = 'sovereign-revocations'`);
    await admin.end();
    assert.equal(killed.rows[0]?.n, '1');
    await revoke('spiffe://sovereign.internal/gateway/two', 2);
    await has('spiffe://sovereign.internal/gateway/two');
  } finally {
    await f.close();
    delete process.env[ENV];
  }
});

// Last: these change the server's certificate.
test('the server must be a database identity; an operator CA for it is named with mesh.postgres.caFile', { skip: why ?? false }, async () => {
  const s = server as TlsPostgres;
  const bundle = readBundle(topology);
  // A cell's SVID chains to the same bundle and names 127.0.0.1, but it is not a database.
  const cell = await issueFor(topology, spiffeId.cell('sovereign.internal', 'eu-paris'), { by: 'test', hosts: ['127.0.0.1'] });
  await s.setTls({ cert: cell.chainPem, key: cell.keyPem, ca: bundle });
  const cfg = pgConnectionConfig(topology, 'TEST_URL', s.url('sslmode=verify-full'), gw);
  const deadline = Date.now() + 20_000;
  let seen = '';
  while (Date.now() < deadline && !/not a database identity/.test(seen)) seen = await refusal(cfg);
  assert.match(seen, /TEST_URL: the PostgreSQL server presented spiffe:\/\/sovereign\.internal\/region\/eu-paris\/cell, which is not a database identity/);

  // The operator's own CA (openssl) signs the server's certificate.
  const o = mkdtempSync(path.join(tmpdir(), 'sovereign-pgtls-ca-'));
  const sh = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: o, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Operator DB CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'db.key', '-out', 'db.csr', '-subj', '/CN=db']);
  writeFileSync(path.join(o, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  sh(['x509', '-req', '-in', 'db.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'db.crt', '-days', '2', '-extfile', 'ext.cnf']);
  await s.setTls({ cert: readFileSync(path.join(o, 'db.crt'), 'utf8'), key: readFileSync(path.join(o, 'db.key'), 'utf8'), ca: bundle });
  const operator = topologyFrom({ ...base, dataDir: path.join(dir, 'a'), mesh: { postgres: { caFile: path.join(o, 'ca.crt') } } });
  const viaCa = pgConnectionConfig(operator, 'TEST_URL', s.url('sslmode=verify-full'), gw);
  let ok = '';
  const until = Date.now() + 20_000;
  while (Date.now() < until && ok !== 'connected') ok = await refusal(viaCa);
  assert.equal(ok, 'connected');
  // Without the setting, the bundle does not trust it: the error names the setting and the fix.
  assert.match(await refusal(cfg), /TEST_URL: the PostgreSQL server's certificate is not trusted .*mesh\.postgres\.caFile/);
});
