// The embedded store on a full disk: writes fail visibly (status, metric) and keep the records
// queued, nothing stored before is lost or corrupted, and writes resume once space is freed.
// Needs a small tmpfs, so root; skipped with the reason elsewhere, required under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fill, mountTmpfs } from '../helpers/tmpfs.ts';
import { openTestStore, served } from './helpers.ts';

const root = mkdtempSync(path.join(tmpdir(), 'store-diskfull-'));
const mnt = path.join(root, 'mnt');
mkdirSync(mnt);
const why = mountTmpfs(mnt, '4m');
if (why !== null && process.env.CI === 'true') throw new Error(`the store disk-full test must run under CI: ${why}`);

test('a full disk fails store writes visibly without losing or corrupting what was stored; writes resume when space is freed', { skip: why ?? false, timeout: 120_000 }, async (t) => {
  const dir = path.join(mnt, 'store');
  let s = await openTestStore('sqlite', { dir });
  t.after(async () => {
    await s.cleanup();
    execFileSync('umount', [mnt], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  });
  for (let i = 0; i < 50; i++) s.store.record(served('hank', `stored ${i}`));
  await s.store.flush();
  const filler = path.join(mnt, 'filler');
  fill(filler, 16 * 1024);
  // Big records, so the full disk shows within a few writes.
  const big = 'x'.repeat(64 * 1024);
  let failed = false;
  for (let i = 0; i < 200 && !failed; i++) {
    s.store.record(served('hank', `during ${i} ${big}`));
    failed = await s.store.flush().then(
      () => false,
      () => true,
    );
  }
  assert.ok(failed, 'a write failed on the full disk');
  const st = s.store.status();
  assert.equal(st.ok, false);
  assert.ok(st.queued >= 1, 'the failed records stay queued');
  assert.match(st.last_error ?? '', /full|disk|SQLITE/i);
  assert.match(await s.registry.metrics(), /sovereign_store_write_failures_total [1-9]/);
  const stillQueued = st.queued;

  rmSync(filler);
  await s.store.flush();
  assert.equal(s.store.status().ok, true);
  s = await s.reopen();
  const db = new DatabaseSync(path.join(dir, 'store.db'), { readOnly: true });
  assert.deepEqual(db.prepare('PRAGMA integrity_check').all().map((r) => ({ ...r })), [{ integrity_check: 'ok' }]);
  db.close();
  const got = (await s.store.export('hank', null)).records.map((r) => (r.input as { messages: { content: string }[] }).messages[0]?.content ?? '');
  for (let i = 0; i < 50; i++) assert.ok(got.includes(`stored ${i}`), `record ${i} from before the disk filled up`);
  assert.ok(got.filter((c) => c.startsWith('during')).length >= stillQueued, 'the records queued while the disk was full were written afterwards');
});
