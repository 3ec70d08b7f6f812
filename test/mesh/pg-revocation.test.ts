// A revocation reaches gateway replicas on other machines through PostgreSQL (the shared region
// state's database): published there, a gateway that follows it stops talking to the revoked
// cell within a second, open connections included, without any revoked.json on its machine.
// Needs PostgreSQL (SOVEREIGN_TEST_PG, default postgres://postgres@127.0.0.1:5432/test): skipped
// with the reason when unreachable, except under CI=true, where that is a failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { startCell, type RunningCell } from '../../src/cell/index.ts';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { followRevocations, initTrustDomain, Mesh, publishRevocations, spiffeId } from '../../src/mesh/index.ts';
import { withShippedModel } from '../helpers/golden.ts';
import { freePort } from '../helpers/ports.ts';

const URL = process.env.SOVEREIGN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const ENV = `SOVEREIGN_TEST_MESH_PG_${process.pid}`;

async function reachable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return null;
  } catch (err) {
    return `PostgreSQL at ${URL} is unreachable (${(err as Error).message}); set SOVEREIGN_TEST_PG`;
  } finally {
    await c.end().catch(() => undefined);
  }
}
const why = await reachable();
if (why !== null && process.env.CI === 'true') test('PostgreSQL is reachable (required under CI=true)', () => assert.fail(why));

let topology: Topology;
let cell: RunningCell;
let golden: { close(): Promise<void> } | undefined;
let gw: Mesh;
let follow: { close(): Promise<void> } | null = null;

before(async () => {
  if (why) return;
  process.env[ENV] = URL;
  topology = topologyFrom({
    dataDir: mkdtempSync(path.join(tmpdir(), 'sovereign-mesh-pg-')),
    jurisdictions: { EU: ['FR'] },
    regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: `https://127.0.0.1:${await freePort()}` }],
    // A cluster name of its own: other runs share the database.
    state: { backend: 'postgres', postgresUrlEnv: ENV, cluster: `mesh-test-${randomUUID()}` },
  });
  await initTrustDomain(topology);
  golden = await withShippedModel(topology);
  cell = await startCell({ topology, region: 'eu-paris', logger: pino({ level: 'silent' }) });
  await cell.ready;
  gw = await Mesh.open(topology, spiffeId.gateway('sovereign.internal', 'replica-b'), pino({ level: 'silent' }));
  follow = await followRevocations(topology, (l) => gw.setSharedRevocations(l), () => undefined);
});
after(async () => {
  await follow?.close();
  await gw?.closeClients();
  gw?.close();
  await cell?.close();
  await golden?.close();
});

test('a revocation published in PostgreSQL is in force on a following gateway within a second', { skip: why ?? false }, async () => {
  const pool = gw.cellPool('eu-paris', { connections: 1 });
  const ok = await pool.request({ method: 'GET', path: '/v2/health/ready' });
  await ok.body.dump();
  assert.equal(ok.statusCode, 200);
  assert.deepEqual((await publishRevocations(topology, { version: 1, revoked: [{ spiffe_id: spiffeId.cell('sovereign.internal', 'eu-paris'), time: new Date().toISOString(), reason: 'test' }] })).published, [`state.postgresUrlEnv (${ENV})`]);
  // From the moment the revocation is committed.
  const started = Date.now();
  let refused = '';
  while (Date.now() - started < 1000 && refused === '') {
    await pool.request({ method: 'GET', path: '/v2/health/ready', headersTimeout: 1000 }).then(
      (r) => r.body.dump(),
      (err: unknown) => void (refused = (err as Error).message),
    );
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(refused, /mTLS: peer refused: identity spiffe:\/\/sovereign\.internal\/region\/eu-paris\/cell revoked|other side closed|socket|^closed$/);
  // And a new connection is refused at its handshake.
  const fresh = gw.cellPool('eu-paris', { connections: 1 });
  await assert.rejects(fresh.request({ method: 'GET', path: '/v2/health/ready' }), /identity spiffe:\/\/sovereign\.internal\/region\/eu-paris\/cell revoked/);
  await fresh.close();
  await pool.close();
});
