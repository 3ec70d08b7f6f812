// The embedded store's WAL is checkpointed by a thread of its own, never by a commit on the
// cell's event loop (a checkpoint copies pages and fsyncs twice: on a slow disk it stalled every
// request in flight); if that thread dies, SQLite's own checkpoint comes back, so the WAL never
// grows without bound; closing the store ends the thread and keeps every record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteBackend } from '../../src/store/index.ts';
import type { SealedRecord } from '../../src/store/records.ts';

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-wal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let seq = 0;
function sealed(n: number): SealedRecord[] {
  return Array.from({ length: n }, () => {
    const i = seq++;
    return { id: `r-${i}`, tenant: 'acme', subjectHash: 'a'.repeat(64), keyId: 'k-1', decisionId: `d-${i}`, dataClass: 'personal', receipt: `origin ${i}`, model: 'm', modelVersion: null, path: '/v1/chat/completions', status: 200, time: i, expiresAt: Date.now() + 86_400_000, sealed: randomBytes(1500) };
  });
}

/** Writes about 4,000 pages (16 MB): four times what SQLite's automatic checkpoint lets the WAL hold. */
async function writeMany(b: SqliteBackend): Promise<void> {
  for (let i = 0; i < 100; i++) await b.write([], sealed(100));
}

const size = (f: string): number => (existsSync(f) ? statSync(f).size : 0);

test('commits never checkpoint: the WAL reaches the database file only through the thread', async (t) => {
  const dir = tempDir(t);
  // An interval the test never reaches: only an asked-for checkpoint runs.
  const b = new SqliteBackend(dir, { checkpointIntervalMs: 3_600_000 });
  t.after(() => b.close());
  const before = size(b.file);
  await writeMany(b);
  // SQLite's automatic checkpoint would have copied the first 1,000 pages into the database by now.
  assert.ok(size(b.file) - before < 1024 * 1024, `the database file grew by ${size(b.file) - before} bytes: a commit checkpointed`);
  assert.ok(size(`${b.file}-wal`) > 8 * 1024 * 1024, 'the WAL holds the writes');
  const r = await b.checkpointer!.now();
  assert.ok('log' in r, JSON.stringify(r));
  assert.equal(r.checkpointed, r.log, 'every frame copied (PASSIVE, nothing else reading or writing)');
  assert.ok(r.log > 3000, `frames in the WAL: ${r.log}`);
  assert.ok(size(b.file) - before > 8 * 1024 * 1024, 'the thread copied the pages into the database');
  assert.equal(await b.count(), 10_000);
});

test('the thread checkpoints on its interval, and the WAL is reused rather than grown', async (t) => {
  const dir = tempDir(t);
  const b = new SqliteBackend(dir, { checkpointIntervalMs: 100 });
  t.after(() => b.close());
  for (let round = 0; round < 5; round++) {
    await writeMany(b);
    // Let a checkpoint pass so the next commit restarts the WAL from its beginning.
    const seen = b.checkpointer!.last;
    for (let waited = 0; b.checkpointer!.last === seen && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(await b.count(), 50_000);
  // 80 MB were written; the WAL restarts after each complete checkpoint and is cut back to 64 MB.
  assert.ok(size(`${b.file}-wal`) <= 64 * 1024 * 1024 + 64 * 1024, `the WAL is ${size(`${b.file}-wal`)} bytes`);
  assert.ok(size(b.file) > 70 * 1024 * 1024, 'the records are in the database file');
});

test('a checkpoint thread that dies hands the checkpoint back to SQLite, and says so', async (t) => {
  const dir = tempDir(t);
  const warnings: string[] = [];
  const b = new SqliteBackend(dir, { checkpointIntervalMs: 3_600_000, onWarning: (m) => warnings.push(m) });
  t.after(() => b.close());
  await b.checkpointer!.kill();
  assert.equal(b.checkpointer!.running, false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /checkpoint thread stopped .*checkpoints its WAL inline again/);
  const before = size(b.file);
  await writeMany(b);
  assert.ok(size(b.file) - before > 2 * 1024 * 1024, 'SQLite checkpointed inline: the WAL does not grow without bound');
  assert.deepEqual(await b.checkpointer!.now(), { error: 'the checkpoint thread is not running' });
});

test('closing the store ends the thread and removes the WAL; every record is there when it opens again', async (t) => {
  const dir = tempDir(t);
  const b = new SqliteBackend(dir, { checkpointIntervalMs: 3_600_000 });
  await writeMany(b);
  await b.close();
  assert.equal(b.checkpointer!.running, false);
  assert.equal(existsSync(`${b.file}-wal`), false, 'the last connection checkpointed and removed the WAL');
  const again = new SqliteBackend(dir);
  t.after(() => again.close());
  assert.equal(await again.count(), 10_000);
});
