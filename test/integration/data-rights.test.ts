// Data subject rights against a running Sovereign (`sovereign up`): what each region stores is
// sealed (no prompt in any file of any data directory), export gathers it from every region
// with its receipts, erasure crypto-shreds it everywhere, is recorded in each affected region's
// ledger (which still verifies) and is idempotent, and a region that is down gets the erasure
// from the gateway's outbox when it is back. Retention 0 stores nothing and the ledger says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadTopology } from '../../src/config/index.ts';
import { spiffeId } from '../../src/mesh/index.ts';
import { cli, startCluster, type Cluster } from '../helpers/cluster.ts';
import { meshClient } from '../helpers/mesh.ts';
import { PG_URL, filesContaining, pgQuery, pgUnreachable } from '../store/helpers.ts';


async function chat(c: Cluster, jurisdiction: string, subject: string | null, content: string, extra: Record<string, string> = {}): Promise<{ status: number; decision: string; ledger: string; region: string }> {
  const res = await fetch(`${c.gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': jurisdiction, ...(subject ? { 'x-sovereign-subject': subject } : {}), ...extra },
    body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content }] }),
  });
  await res.text();
  return { status: res.status, decision: res.headers.get('x-sovereign-decision-id') ?? '', ledger: res.headers.get('x-sovereign-ledger') ?? '', region: res.headers.get('x-sovereign-region') ?? '' };
}

function cellPid(c: Cluster, region: string): number {
  const line = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.includes(c.configFile) && l.includes(`--region ${region}`));
  assert.ok(line, `the cell of ${region} runs`);
  return Number(line.trim().split(/\s+/)[0]);
}

async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Exported {
  message: string;
  complete: boolean;
  regions: { region: string; records?: number }[];
  records: { region: string; decision_id: string; ledger: { origin: string; index: number } | null; proof?: string; input: { messages: { content: string }[] } }[];
}

async function ledgerEntries(c: Cluster, region: string): Promise<Record<string, unknown>[]> {
  const out = await cli(c, ['ledger', 'show', '--region', region]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry);
}

test('store, export and erasure across regions through `sovereign up`', { timeout: 300_000 }, async (t) => {
  const c = await startCluster({ store: { flushIntervalMs: 20, retention: { days: 30, rules: [{ dataClass: 'special', days: 0 }] } } });
  t.after(() => c.stop());
  const subject = `subject-${randomBytes(6).toString('hex')}`;
  const marker = `PROMPT-MARKER-${randomBytes(8).toString('hex')}`;

  const served: Awaited<ReturnType<typeof chat>>[] = [];
  for (const [j, n] of [['DE', 3], ['SG', 2], ['AE', 1]] as const) {
    for (let i = 0; i < n; i++) served.push(await chat(c, j, subject, `${marker} ${j} ${i}`));
  }
  assert.deepEqual(
    served.map((s) => [s.status, s.region]),
    [[200, 'eu-frankfurt'], [200, 'eu-frankfurt'], [200, 'eu-frankfurt'], [200, 'sg-singapore'], [200, 'sg-singapore'], [200, 'uae-dubai']],
  );
  const other = await chat(c, 'DE', 'someone-else', `${marker} other`);
  const zero = await chat(c, 'DE', subject, `${marker} special`, { 'x-data-classification': 'special' });
  assert.equal(zero.status, 200);

  await t.test('the plaintext of a stored prompt is in no file of any data directory', async () => {
    const exp = await cli(c, ['data', 'export', '--subject', subject]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal((JSON.parse(exp.stdout) as Exported).records.length, 6, 'stored (so the check below is about sealed data)');
    assert.deepEqual(filesContaining(path.join(c.dir, 'data'), marker), []);
    assert.deepEqual(filesContaining(path.join(c.dir, 'data'), subject), [], 'nor the subject id');
  });

  await t.test('export gathers every region, each record with the receipt its response carried', async () => {
    const exp = await cli(c, ['data', 'export', '--subject', subject]);
    const out = JSON.parse(exp.stdout) as Exported;
    assert.match(exp.stderr, /6 record\(s\) held about this subject in eu-frankfurt, uae-dubai, sg-singapore/);
    for (const s of served) {
      const r = out.records.find((x) => x.decision_id === s.decision);
      assert.ok(r, `record of ${s.decision}`);
      assert.equal(r.region, s.region);
      assert.equal(`${r.ledger?.origin} ${r.ledger?.index}`, s.ledger);
    }
    assert.ok(!out.records.some((r) => r.decision_id === other.decision), "another subject's record is not exported");
    assert.ok(!out.records.some((r) => r.decision_id === zero.decision), 'a request with 0 days retention is not stored');
    // A receipt exists once the entry is in a signed checkpoint (within ledger.checkpointIntervalMs).
    let one: Exported = { message: '', complete: false, regions: [], records: [] };
    await until('the records to be in a signed checkpoint', async () => {
      one = JSON.parse((await cli(c, ['data', 'export', '--subject', subject, '--region', 'sg-singapore', '--proofs'])).stdout) as Exported;
      return one.records.length === 2 && one.records.every((r) => r.proof?.startsWith('c2sp.org/tlog-proof@v1'));
    });
    assert.deepEqual(one.records.map((r) => r.region), ['sg-singapore', 'sg-singapore']);
    // With --proofs each receipt is a c2sp.org/tlog-proof@v1 an auditor checks offline.
    const key = (await cli(c, ['ledger', 'key', '--region', 'sg-singapore'])).stdout.trim();
    const proofFile = path.join(c.dir, 'receipt.txt');
    writeFileSync(proofFile, one.records[0]?.proof ?? '');
    const checked = await cli(c, ['ledger', 'check-receipt', proofFile, '--key', key]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, new RegExp(`ok: entry ${one.records[0]?.ledger?.index} of sovereign.example/ledger/sg-singapore`));
    assert.match(checked.stdout, new RegExp(one.records[0]?.decision_id ?? 'none'));
  });

  await t.test('0 days retention: the ledger entry says so', async () => {
    const entries = await ledgerEntries(c, 'eu-frankfurt');
    const z = entries.find((e) => e.decision_id === zero.decision);
    assert.equal(z?.retention_days, 0);
    const kept = entries.find((e) => e.decision_id === served[0]?.decision);
    assert.equal(kept?.retention_days, 30);
  });

  await t.test('an unknown subject exports an empty set with a clear message', async () => {
    const exp = await cli(c, ['data', 'export', '--subject', 'nobody-at-all']);
    assert.equal(exp.code, 0);
    assert.deepEqual((JSON.parse(exp.stdout) as Exported).records, []);
    assert.match(exp.stderr, /no data held about this subject in eu-frankfurt, eu-paris, uae-dubai, sg-singapore/);
  });

  await t.test('the admin API: export and erase need the admin token; a bad subject header is refused naming it', async () => {
    for (const p of ['export', 'erase']) {
      const res = await fetch(`${c.gateway}/sovereign/admin/data/${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ subject }) });
      assert.equal(res.status, 401, p);
    }
    const token = readFileSync(path.join(c.dir, 'data', 'gateway', 'admin-token'), 'utf8').trim();
    const res = await fetch(`${c.gateway}/sovereign/admin/data/export`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ subject, region: 'uae-dubai' }) });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as Exported).records.length, 1);
    const bad = await fetch(`${c.gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE', 'x-sovereign-subject': 'x'.repeat(300) },
      body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /x-sovereign-subject: expected one pseudonymous subject id of 1 to 256 characters/);
  });

  await t.test('a cell believes what a request says of itself only from the gateway: no other identity may call its inference or store routes', async () => {
    const other = await meshClient(c.configFile, spiffeId.cell(loadTopology(c.configFile).data.mesh.trustDomain, 'uae-dubai'));
    t.after(() => other.close());
    const url = c.regions['eu-frankfurt'] as string;
    const forged = await other.fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sovereign-decision-id': 'forged', 'x-sovereign-tenant': 'anonymous', 'x-sovereign-subject': subject, 'x-sovereign-data-class': 'public', 'x-sovereign-retention-days': '30' },
      body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'forged' }] }),
    });
    assert.equal(forged.status, 403);
    for (const p of ['export', 'erase']) {
      const res = await other.fetch(`${url}/sovereign/store/${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ subject, requested: new Date().toISOString() }) });
      assert.equal(res.status, 403, `store ${p}`);
    }
    await assert.rejects(fetch(`${url.replace('https:', 'http:')}/sovereign/store/status`), 'no plaintext channel to a cell');
    const out = JSON.parse((await cli(c, ['data', 'export', '--subject', subject, '--region', 'eu-frankfurt'])).stdout) as Exported;
    assert.equal(out.records.length, 3);
  });

  await t.test('erasure: unreadable at once, pending for a region that is down, delivered when it is back, recorded, idempotent', async () => {
    const dubai = cellPid(c, 'uae-dubai');
    const sizes = Object.fromEntries(await Promise.all(['eu-frankfurt', 'eu-paris', 'sg-singapore'].map(async (r) => [r, (await ledgerEntries(c, r)).length] as const)));
    process.kill(dubai, 'SIGSTOP');
    let resumed = false;
    t.after(() => {
      if (!resumed) {
        try {
          process.kill(dubai, 'SIGCONT');
        } catch {
          /* gone with the cluster */
        }
      }
    });
    const erase = await cli(c, ['data', 'erase', '--subject', subject]);
    assert.equal(erase.code, 3, `pending erasure exits 3: ${erase.stdout}${erase.stderr}`);
    assert.match(erase.stdout, /eu-frankfurt\s+erased: 1 data key\(s\) destroyed, 3 record\(s\) unreadable/);
    assert.match(erase.stdout, /sg-singapore\s+erased: 1 data key\(s\) destroyed, 2 record\(s\) unreadable/);
    assert.match(erase.stdout, /eu-paris\s+nothing held/);
    assert.match(erase.stdout, /uae-dubai\s+PENDING/);
    assert.match(erase.stdout, /erasure pending in: uae-dubai/);
    for (const r of ['eu-frankfurt', 'sg-singapore']) {
      const out = JSON.parse((await cli(c, ['data', 'export', '--subject', subject, '--region', r])).stdout) as Exported;
      assert.deepEqual(out.records, [], `${r}: unreadable at once`);
    }
    const other2 = JSON.parse((await cli(c, ['data', 'export', '--subject', 'someone-else', '--region', 'eu-frankfurt'])).stdout) as Exported;
    assert.equal(other2.records.length, 1, 'other subjects keep their data');

    process.kill(dubai, 'SIGCONT');
    resumed = true;
    const token = readFileSync(path.join(c.dir, 'data', 'gateway', 'admin-token'), 'utf8').trim();
    await until('the outbox to deliver the erasure to uae-dubai', async () => {
      const res = await fetch(`${c.gateway}/sovereign/admin/data/erasures`, { headers: { authorization: `Bearer ${token}` } });
      return ((await res.json()) as { pending: unknown[] }).pending.length === 0;
    });
    const all = await cli(c, ['data', 'export', '--subject', subject]);
    assert.deepEqual((JSON.parse(all.stdout) as Exported).records, []);

    for (const [r, n] of [['eu-frankfurt', 1], ['sg-singapore', 1], ['uae-dubai', 1], ['eu-paris', 0]] as const) {
      const erasures = (await ledgerEntries(c, r)).filter((e) => e.kind === 'erasure');
      assert.equal(erasures.length, n, `${r}: ${n} erasure entr${n === 1 ? 'y' : 'ies'}`);
      for (const e of erasures) assert.ok(!JSON.stringify(e).includes(subject) && /^[0-9a-f]{64}$/.test(String(e.subject_hash)), 'only the keyed hash of the subject');
    }
    for (const r of ['eu-frankfurt', 'uae-dubai']) {
      const v = await cli(c, ['ledger', 'verify', '--region', r]);
      assert.equal(v.code, 0, `${r} still verifies: ${v.stderr}`);
    }

    const again = await cli(c, ['data', 'erase', '--subject', subject]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /erasure complete in every region/);
    assert.doesNotMatch(again.stdout, /erased:/);
    for (const r of ['eu-frankfurt', 'eu-paris', 'sg-singapore']) {
      assert.equal((await ledgerEntries(c, r)).length, (sizes[r] as number) + (r === 'eu-paris' ? 0 : 1), `${r}: a repeated erasure records nothing new`);
    }
  });

  await t.test('region status shows each store', async () => {
    const st = await cli(c, ['region', 'status']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal((st.stdout.match(/store ok/g) ?? []).length, 4, st.stdout);
  });
});

test('a cell with a wrong key-encryption key refuses to start, naming the key', { timeout: 120_000 }, async () => {
  const c = await startCluster();
  await chat(c, 'DE', 'kek-subject', 'stored under the first key');
  await c.stop();
  const env = { SOVEREIGN_STORE_KEK_EU_FRANKFURT: randomBytes(32).toString('base64') };
  const wrong = await cli(c, ['cell', '--region', 'eu-frankfurt'], env);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /region eu-frankfurt: cannot open the store: .*SOVEREIGN_STORE_KEK_EU_FRANKFURT is not the key this region's store was sealed with/);
  const bad = await cli(c, ['cell', '--region', 'eu-frankfurt'], { SOVEREIGN_STORE_KEK_EU_FRANKFURT: 'not-a-key' });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /SOVEREIGN_STORE_KEK_EU_FRANKFURT must be 32 bytes written as base64/);
});

const pgWhy = await pgUnreachable();
if (pgWhy !== null && process.env.CI === 'true') {
  test('PostgreSQL is reachable (required under CI=true)', () => assert.fail(pgWhy));
}

test('postgres backend: one schema per region; a broken database fails store writes visibly, never the request', { skip: pgWhy ?? false, timeout: 300_000 }, async (t) => {
  const prefix = `sti_${randomBytes(4).toString('hex')}`;
  process.env.SOVEREIGN_STORE_POSTGRES_URL = PG_URL;
  const c = await startCluster({ store: { backend: 'postgres', schemaPrefix: prefix, flushIntervalMs: 20 } });
  t.after(async () => {
    await c.stop();
    for (const r of ['eu_frankfurt', 'eu_paris', 'uae_dubai', 'sg_singapore']) await pgQuery(`DROP SCHEMA IF EXISTS ${prefix}_${r} CASCADE`);
  });
  const marker = `PG-MARKER-${randomBytes(6).toString('hex')}`;
  assert.equal((await chat(c, 'DE', 'pg-subject', `${marker} one`)).status, 200);
  assert.equal((await chat(c, 'SG', 'pg-subject', `${marker} sg`)).status, 200);
  const count = async (region: string): Promise<number> => Number(((await pgQuery(`SELECT count(*)::int AS n FROM ${prefix}_${region}.records`)).rows[0] as { n: number }).n);
  await until('records in the regions’ schemas', async () => (await count('eu_frankfurt')) === 1 && (await count('sg_singapore')) === 1);
  const rows = await pgQuery(`SELECT t::text AS row FROM ${prefix}_eu_frankfurt.records t`);
  assert.ok(!(rows.rows as { row: string }[]).some((r) => r.row.includes(marker)), 'sealed in PostgreSQL too');

  await pgQuery(`ALTER TABLE ${prefix}_eu_frankfurt.records RENAME TO records_broken`);
  assert.equal((await chat(c, 'DE', 'pg-subject', `${marker} two`)).status, 200, 'the inference request does not fail');
  await until('region status to show the failing store', async () => /eu-frankfurt .*store FAILING/.test((await cli(c, ['region', 'status'])).stdout));
  const gw = await meshClient(c.configFile);
  t.after(() => gw.close());
  const metrics = await (await gw.fetch(`${c.regions['eu-frankfurt']}/metrics`)).text();
  assert.match(metrics, /sovereign_store_write_failures_total [1-9]/);
  assert.match(metrics, /sovereign_store_up 0/);
  assert.match(readFileSync(path.join(c.dir, 'data', 'logs', 'eu-frankfurt.log'), 'utf8'), /store write failed/);

  await pgQuery(`ALTER TABLE ${prefix}_eu_frankfurt.records_broken RENAME TO records`);
  await until('the store to recover', async () => /eu-frankfurt .*store ok/.test((await cli(c, ['region', 'status'])).stdout));
  const out = JSON.parse((await cli(c, ['data', 'export', '--subject', 'pg-subject'])).stdout) as Exported;
  assert.deepEqual(out.records.map((r) => r.input.messages[0]?.content).sort(), [`${marker} one`, `${marker} sg`, `${marker} two`]);
});
