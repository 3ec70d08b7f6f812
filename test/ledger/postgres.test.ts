// The PostgreSQL backend against a real server: two replicas of one region append concurrently
// to the same origin, one sequences and signs, both export a static layout that verifies, and the
// follower takes over when the sequencer goes. Skipped with the reason when no server answers
// (SOVEREIGN_TEST_PG, default postgres://postgres@127.0.0.1:5432/test) unless CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { openLedger, verifyLog, verifyProof, type Ledger } from '../../src/ledger/index.ts';
import { decision, tempDir } from './helpers.ts';

const URL = process.env.SOVEREIGN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const ORIGIN = 'sovereign.example/ledger/pg-eu';

async function reachable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    return `PostgreSQL at ${URL} is unreachable (${(err as Error).message}); set SOVEREIGN_TEST_PG`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const why = await reachable();
if (why !== null && process.env.CI === 'true') {
  test('PostgreSQL is reachable (required under CI=true)', () => assert.fail(why));
}

async function dropTables(prefix: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  for (const t of ['head', 'entries', 'checkpoints']) await c.query(`DROP TABLE IF EXISTS ${prefix}_${t}`);
  await c.end();
}

test('two replicas append concurrently to one origin; one sequencer; exports verify; failover', { skip: why ?? false, timeout: 120_000 }, async () => {
  const prefix = `sovereign_ledger_t${randomBytes(4).toString('hex')}`;
  const root = tempDir('ledger-pg-');
  const keyDir = path.join(root, 'keys'); // the region's key, shared by its replicas
  const backend = { kind: 'postgres' as const, connectionString: URL, tablePrefix: prefix };
  const open = (name: string): Promise<Ledger> =>
    openLedger({ dir: path.join(root, name, 'ledger'), origin: ORIGIN, keyDir, checkpointIntervalMs: 100, backend });
  try {
    const a = await open('a');
    const b = await open('b');
    assert.equal(a.isSequencer, true, 'the first replica became the sequencer');
    assert.equal(b.isSequencer, false, 'one sequencer at a time');

    // 2 x 400 concurrent appends, interleaved: indexes are unique and gapless.
    const N = 400;
    const got = await Promise.all(Array.from({ length: 2 * N }, (_, i) => (i % 2 === 0 ? a : b).append(decision(i))));
    const indexes = got.map((r) => r.index).sort((x, y) => x - y);
    assert.deepEqual(indexes, Array.from({ length: 2 * N }, (_, i) => i));

    // Durable at resolve: the rows are committed.
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    const rows = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${prefix}_entries WHERE origin = $1`, [ORIGIN]);
    await c.end();
    assert.equal(Number(rows.rows[0]?.n), 2 * N);

    // The sequencer signs; the follower serves the same checkpoint after checking its root.
    await a.publish();
    assert.equal(a.checkpointSize, 2 * N);
    await b.publish();
    assert.equal(b.checkpointSize, 2 * N);
    assert.equal(b.checkpoint(), a.checkpoint());
    for (const r of [a, b]) {
      const v = await verifyLog({ dir: r.dir, verifierKey: r.verifierKey });
      assert.equal(v.ok, true, v.error);
      assert.equal(v.size, 2 * N);
    }
    // A proof from the follower for an entry the sequencer's replica appended.
    const idx = (got[10] as { index: number }).index;
    const p = verifyProof(await b.proof(idx), a.verifierKey);
    assert.equal((JSON.parse(p.entry.toString('utf8')) as { decision_id: string }).decision_id, 'dec-10');

    // Failover: the sequencer goes; the follower takes the lock at its next integration.
    const stateFile = path.join(root, 'verified.json');
    assert.equal((await verifyLog({ dir: b.dir, verifierKey: b.verifierKey, stateFile })).ok, true);
    await a.close();
    await Promise.all(Array.from({ length: 50 }, (_, i) => b.append(decision(1000 + i))));
    await b.publish();
    assert.equal(b.isSequencer, true, 'the follower took over');
    assert.equal(b.checkpointSize, 2 * N + 50);
    const v = await verifyLog({ dir: b.dir, verifierKey: b.verifierKey, stateFile });
    assert.equal(v.ok, true, v.error);

    // A restarted replica rebuilds from the database and follows the new sequencer.
    const a2 = await open('a');
    assert.equal(a2.isSequencer, false);
    assert.equal(a2.checkpoint(), b.checkpoint());
    assert.equal((await verifyLog({ dir: a2.dir, verifierKey: a2.verifierKey })).ok, true);
    await a2.close();
    await b.close();
  } finally {
    await dropTables(prefix);
  }
});
