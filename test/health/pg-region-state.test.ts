// The region state shared through PostgreSQL: a replica whose listening session is lost (server
// restart, network, an administrator's pg_terminate_backend) listens again, so a trigger reaches
// it by notification rather than only by the 2 s poll.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import test from 'node:test';
import pg from 'pg';
import { PgRegionStateStore, suspend, type RegionState } from '../../src/health/index.ts';
import { PG_URL, pgUnreachable } from '../helpers/postgres.ts';

const pgWhy = await pgUnreachable();
if (pgWhy !== null && process.env.CI === 'true') {
  test('PostgreSQL is reachable (required under CI=true)', () => assert.fail(pgWhy));
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** Backends LISTENing for region state that this test's store opened (after `after`). */
const listeners = (after: number): Promise<{ pid: number }[]> =>
  query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'sovereign-region-state' AND query = 'LISTEN sovereign_region_state' AND pid > 0 AND backend_start > to_timestamp($1 / 1000.0)`, [after]);

test('a replica whose listening session is terminated listens again and receives the next trigger', { skip: pgWhy ?? false, timeout: 30_000 }, async (t) => {
  const cluster = `relisten-${randomUUID()}`;
  const errors: string[] = [];
  const started = Date.now() - 1000;
  const replica = await PgRegionStateStore.open({ connectionString: PG_URL, cluster, replica: 'a', onError: (e) => errors.push(e.message) });
  const operator = await PgRegionStateStore.open({ connectionString: PG_URL, cluster, replica: 'op', onError: () => undefined });
  t.after(async () => {
    await replica.close();
    await operator.close();
    await query('DELETE FROM sovereign_region_state WHERE cluster = $1', [cluster]);
  });
  const seen: RegionState[] = [];
  replica.subscribe((s) => seen.push(s));

  const before = await listeners(started);
  assert.equal(before.length, 2, 'each store listens on one session');
  // Cut every listening session of this test (both stores): the replica must come back by itself.
  await query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1::int[])', [before.map((r) => r.pid)]);
  const deadline = Date.now() + 10_000;
  let again: { pid: number }[] = [];
  while (Date.now() < deadline) {
    again = (await listeners(started)).filter((r) => !before.some((b) => b.pid === r.pid));
    if (again.length === 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(again.length, 2, 'both stores listen again on new sessions');
  assert.ok(errors.length >= 1, 'the lost session was reported');

  const next = await operator.update((s) => suspend(s, { region: 'eu-paris', for: null, reason: 'order', ref: 'REF-1', mode: 'drain', at: new Date().toISOString() }));
  const until = Date.now() + 5000;
  while (!seen.some((s) => s.version === next.version) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  assert.ok(seen.some((s) => s.version === next.version && s.suspensions['eu-paris']?.ref === 'REF-1'), 'the trigger reached the replica');
});
