// Several gateway replicas share region state and legal triggers through a real PostgreSQL
// server: a suspension made on one replica is in force on the other before the call returns.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { MAIN, ROOT, startCluster, type Cluster } from '../helpers/cluster.ts';
import { freePort } from '../helpers/ports.ts';

const PG_URL = process.env.SOVEREIGN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CLUSTER = `it-${process.pid}-${Date.now()}`;

async function postgresUp(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('select 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const unreachable = await postgresUp();
if (unreachable && process.env.CI === 'true') throw new Error(`PostgreSQL at ${PG_URL} is required under CI: ${unreachable}`);
const skip = unreachable ? `PostgreSQL not reachable at ${PG_URL} (${unreachable}); set SOVEREIGN_TEST_POSTGRES_URL` : false;

let c: Cluster;
let second: ChildProcess;
let secondUrl: string;
let token: string;

before(async () => {
  if (skip) return;
  process.env.SOVEREIGN_POSTGRES_URL = PG_URL;
  // Two workers in each replica: a trigger waits for every worker of every replica.
  c = await startCluster({ state: { backend: 'postgres', cluster: CLUSTER }, gateway: { workers: 2 } });
  token = readFileSync(path.join(c.dir, 'data/gateway/admin-token'), 'utf8').trim();
  const port = await freePort();
  secondUrl = `http://127.0.0.1:${port}`;
  second = spawn(process.execPath, [MAIN, '--config', c.configFile, 'gateway', '--port', String(port), '--replica', 'second'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, SOVEREIGN_POSTGRES_URL: PG_URL } });
  // Up to a minute: a gateway starting on a busy machine (it joins the mesh, loads the policy engine) can take a while.
  for (let i = 0; i < 600; i++) {
    try {
      const r = await request(`${secondUrl}/v2/health/ready`);
      await r.body.dump();
      if (r.statusCode === 200) break;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  second?.kill('SIGTERM');
  await c?.stop();
  if (!skip) {
    const cl = new pg.Client({ connectionString: PG_URL });
    await cl.connect();
    await cl.query('DELETE FROM sovereign_region_state WHERE cluster = $1', [CLUSTER]);
    await cl.query('DELETE FROM sovereign_replicas WHERE cluster = $1', [CLUSTER]);
    await cl.end();
  }
});

async function regionOf(base: string): Promise<string> {
  const res = await request(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' },
    body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hello' }] }),
  });
  await res.body.dump();
  return String(res.headers['x-sovereign-region']);
}

test('a suspension on one replica is in force on the other before the command returns', { skip }, async () => {
  assert.equal(await regionOf(secondUrl), 'eu-frankfurt');
  const res = await request(`${c.gateway}/sovereign/admin/regions/eu-frankfurt/suspend`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'Supervisory authority order', ref: 'SA-2026-17', mode: 'drain' }),
  });
  const body = (await res.body.json()) as { in_force_on_replicas: number };
  assert.equal(res.statusCode, 200, JSON.stringify(body));
  assert.equal(body.in_force_on_replicas, 2);
  assert.equal((body as { in_force_on_workers?: number }).in_force_on_workers, 2);
  // Immediately, on the other replica: never the suspended region.
  for (let i = 0; i < 20; i++) assert.notEqual(await regionOf(secondUrl), 'eu-frankfurt');

  const resumed = await request(`${secondUrl}/sovereign/admin/regions/eu-frankfurt/resume`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'order lifted' }),
  });
  assert.equal(resumed.statusCode, 200);
  await resumed.body.dump();
  assert.equal(await regionOf(c.gateway), 'eu-frankfurt');
});

test('a region ledger in PostgreSQL: receipts verify against the exported log', { skip }, async () => {
  const name = `it${process.pid}x${Date.now()}.example/ledger`;
  process.env.SOVEREIGN_LEDGER_POSTGRES_URL = PG_URL;
  const pgc = await startCluster({ ledger: { name, backend: 'postgres' } });
  try {
    const res = await request(`${pgc.gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'AE' },
      body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hello' }] }),
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    const [origin, index] = String(res.headers['x-sovereign-ledger']).split(' ');
    assert.equal(origin, `${name}/uae-dubai`);
    let proof = '';
    for (let i = 0; i < 60 && proof === ''; i++) {
      const p = await request(`${pgc.gateway}/sovereign/ledger/uae-dubai/proof/${index}`);
      if (p.statusCode === 200) proof = await p.body.text();
      else {
        await p.body.dump();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const key = (await (await request(`${pgc.gateway}/sovereign/ledger/uae-dubai/key`)).body.json()) as { log: string };
    const { verifyProof } = await import('../../src/ledger/index.ts');
    assert.equal(verifyProof(proof, key.log).origin, `${name}/uae-dubai`);
  } finally {
    await pgc.stop();
  }
});
