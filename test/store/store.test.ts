// The region store over both backends (the embedded file database and a real PostgreSQL):
// sealed at rest, export, erasure by crypto-shredding, retention, the sweeper, a wrong KEK,
// and a broken database that fails writes visibly without losing what was stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { newRecordId } from '../../src/store/records.ts';
import { filesContaining, openTestStore, pgQuery, pgUnreachable, served } from './helpers.ts';

const pgWhy = await pgUnreachable();
if (pgWhy !== null && process.env.CI === 'true') {
  test('PostgreSQL is reachable (required under CI=true)', () => assert.fail(pgWhy));
}

async function metric(registry: import('prom-client').Registry, name: string): Promise<string> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(name)).join('\n');
}

for (const kind of ['sqlite', 'postgres'] as const) {
  const skip = kind === 'postgres' ? (pgWhy ?? false) : false;

  test(`${kind}: stored prompts and answers are sealed; export returns them with their receipts`, { skip }, async (t) => {
    const s = await openTestStore(kind);
    t.after(() => s.cleanup());
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    for (let i = 0; i < 5; i++) s.store.record(served('alice', `${marker} prompt ${i}`));
    s.store.record(served('bob', 'other subject'));
    s.store.record(served('alice', `${marker} other tenant`, { tenant: 'globex' }));
    await s.store.flush();
    if (kind === 'sqlite') {
      assert.deepEqual(filesContaining(s.dir, marker), [], 'no file of the store holds the plaintext');
      assert.deepEqual(filesContaining(s.dir, 'alice'), [], 'nor the subject id');
    } else {
      for (const table of ['records', 'data_keys', 'meta', 'shredded']) {
        const rows = await pgQuery(`SELECT t::text AS row FROM ${s.schema}.${table} t`);
        for (const r of rows.rows as { row: string }[]) {
          assert.ok(!r.row.includes(marker) && !r.row.includes(Buffer.from(marker).toString('hex')), `${table} holds no plaintext`);
          assert.ok(!r.row.includes('alice'), `${table} holds no subject id`);
        }
      }
    }
    const all = await s.store.export('alice', null);
    assert.equal(all.records.length, 6);
    assert.equal(all.unreadable, 0);
    const acme = await s.store.export('alice', 'acme');
    assert.equal(acme.records.length, 5);
    const first = acme.records[0];
    assert.ok(first);
    assert.deepEqual(first.ledger, { origin: 'sovereign.example/ledger/eu-test', index: 7 });
    assert.match(JSON.stringify(first.input), new RegExp(`${marker} prompt`));
    assert.match(JSON.stringify(first.output), /answer to MARKER-/);
    const none = await s.store.export('nobody', null);
    assert.deepEqual(none, { records: [], unreadable: 0 });
  });

  test(`${kind}: erasure makes the subject unreadable at once, is recorded without the subject id, and is idempotent`, { skip }, async (t) => {
    const s = await openTestStore(kind);
    t.after(() => s.cleanup());
    for (let i = 0; i < 4; i++) s.store.record(served('carol', `c${i}`));
    s.store.record(served('carol', 'g', { tenant: 'globex' }));
    s.store.record(served('dave', 'd'));
    await s.store.flush();
    // One queued, not yet written: it must not reappear after the erasure.
    s.store.record(served('carol', 'late'));
    const wrapped = (await s.backend.keysOf(s.hash('carol'), 'acme'))[0]?.wrapped;
    assert.ok(wrapped, 'the data key is stored wrapped');
    const r = await s.store.erase('carol', 'acme', '2026-01-01T00:00:00.000Z');
    if (kind === 'sqlite') assert.deepEqual(filesContaining(s.dir, wrapped), [], 'the destroyed wrapped key is in no file (free pages and WAL included)');
    assert.equal(r.keys, 1);
    assert.equal(r.records, 5);
    assert.equal(r.ledger, 'test/ledger 0');
    assert.equal(s.entries.length, 1);
    const e = s.entries[0] as Record<string, unknown>;
    assert.equal(e.kind, 'erasure');
    assert.equal(e.tenant, 'acme');
    assert.match(String(e.subject_hash), /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(e).includes('carol'), 'the ledger entry has no subject id');
    const after = await s.store.export('carol', 'acme');
    assert.equal(after.records.length, 0);
    assert.equal(after.unreadable, 5, 'stored records (the queued one was written first) are unreadable until the sweeper removes them');
    assert.equal((await s.store.export('carol', 'globex')).records.length, 1, "another tenant's subject is untouched");
    assert.equal((await s.store.export('dave', null)).records.length, 1);
    const again = await s.store.erase('carol', 'acme', '2026-01-01T00:00:00.000Z');
    assert.deepEqual([again.keys, again.records, again.ledger], [0, 0, null]);
    assert.equal(s.entries.length, 1, 'a repeated erasure records nothing new');
    const swept = await s.store.sweep();
    assert.equal(swept.shredded, 5);
    assert.equal((await s.store.export('carol', 'acme')).unreadable, 0);
    assert.match(await metric(s.registry, 'sovereign_store_swept_records_total'), /reason="erased"} 5/);
    // New data about the subject after the erasure is new data, under a new key.
    s.store.record(served('carol', 'new'));
    assert.equal((await s.store.export('carol', 'acme')).records.length, 1);
  });

  test(`${kind}: retention: 0 days stores nothing; the sweeper removes what expired`, { skip }, async (t) => {
    const s = await openTestStore(kind);
    t.after(() => s.cleanup());
    s.store.record(served('erin', 'zero', { retentionDays: 0 }));
    s.store.record(served('erin', 'one day', { retentionDays: 1, time: s.clock.now }));
    s.store.record(served('erin', 'ten days', { retentionDays: 10, time: s.clock.now }));
    await s.store.flush();
    assert.equal(await s.backend.count(), 2);
    assert.match(await metric(s.registry, 'sovereign_store_records_not_stored_total'), / 1$/);
    s.clock.now += 2 * 86_400_000;
    assert.deepEqual(await s.store.sweep(), { expired: 1, shredded: 0 });
    const left = await s.store.export('erin', null);
    assert.deepEqual(left.records.map((r) => (r.input as { messages: { content: string }[] }).messages[0]?.content), ['ten days']);
    assert.match(await metric(s.registry, 'sovereign_store_sweeps_total'), / 1$/);
  });

  test(`${kind}: a wrong key-encryption key is refused with a clear error; the right one reads everything`, { skip }, async (t) => {
    const s = await openTestStore(kind);
    s.store.record(served('frank', 'kept'));
    await s.store.flush();
    await assert.rejects(s.reopen(createSecretKey(randomBytes(32))), /not the key this region's store was sealed with.*does not start with a wrong key/);
    const again = await s.reopen();
    t.after(() => again.cleanup());
    assert.equal((await again.store.export('frank', null)).records.length, 1);
  });
}

test('postgres: a broken database fails writes visibly (metric, status), keeps the records queued, and they are written once it is back', { skip: pgWhy ?? false }, async (t) => {
  const s = await openTestStore('postgres');
  t.after(() => s.cleanup());
  s.store.record(served('gina', 'before'));
  await s.store.flush();
  await pgQuery(`ALTER TABLE ${s.schema}.records RENAME TO records_broken`);
  s.store.record(served('gina', 'during'));
  await assert.rejects(s.store.flush());
  const st = s.store.status();
  assert.equal(st.ok, false);
  assert.equal(st.queued, 1);
  assert.match(st.last_error ?? '', /records/);
  assert.match(await metric(s.registry, 'sovereign_store_write_failures_total'), / [1-9]/);
  assert.match(await metric(s.registry, 'sovereign_store_up'), / 0$/);
  await pgQuery(`ALTER TABLE ${s.schema}.records_broken RENAME TO records`);
  await s.store.flush();
  assert.equal(s.store.status().ok, true);
  const got = await s.store.export('gina', null);
  assert.deepEqual(got.records.map((r) => (r.input as { messages: { content: string }[] }).messages[0]?.content).sort(), ['before', 'during']);
});

test('property: export of a subject is exactly what was stored for it; erasing one subject leaves every other readable', async () => {
  const subjects = ['s1', 's2', 's3'];
  const tenants = ['acme', 'globex'];
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ subject: fc.constantFrom(...subjects), tenant: fc.constantFrom(...tenants), content: fc.string({ maxLength: 40 }) }), { maxLength: 25 }),
      fc.constantFrom(...subjects),
      fc.option(fc.constantFrom(...tenants), { nil: null }),
      async (recs, victim, victimTenant) => {
        const s = await openTestStore('sqlite');
        try {
          for (const r of recs) s.store.record(served(r.subject, r.content, { tenant: r.tenant }));
          await s.store.erase(victim, victimTenant, '2026-01-01T00:00:00.000Z');
          for (const subj of subjects) {
            for (const ten of tenants) {
              const erased = subj === victim && (victimTenant === null || victimTenant === ten);
              const expected = erased ? [] : recs.filter((r) => r.subject === subj && r.tenant === ten).map((r) => r.content);
              const got = (await s.store.export(subj, ten)).records.map((x) => (x.input as { messages: { content: string }[] }).messages[0]?.content);
              assert.deepEqual(got.sort(), expected.sort(), `${subj}@${ten}`);
            }
          }
        } finally {
          await s.cleanup();
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('property: record ids are RFC 9562 version 7 UUIDs, unique, and sort in the order they were made', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 48 - 1 }), { minLength: 2, maxLength: 50 }), (times) => {
      const sorted = [...times].sort((a, b) => a - b);
      const ids = sorted.map((t) => newRecordId(t));
      for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(new Set(ids).size, ids.length);
      for (let i = 1; i < ids.length; i++) {
        if ((sorted[i] as number) > (sorted[i - 1] as number)) assert.ok((ids[i] as string) > (ids[i - 1] as string), 'a later id sorts after an earlier one');
      }
    }),
  );
});
