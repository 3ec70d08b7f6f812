// The embedded store database on its own thread (src/store/threaded-sqlite.ts): the cell's event
// loop goes on while a batch commits, errors keep their meaning across the thread, and a process
// that closes its store does not exit before the queued records are committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyExistsError } from '../../src/store/backend.ts';
import { newRecordId, type SealedRecord, type WrappedKey } from '../../src/store/records.ts';
import { SqliteBackend, ThreadedSqliteBackend } from '../../src/store/index.ts';

const dirOf = (): string => mkdtempSync(path.join(tmpdir(), 'store-thread-'));
const key = (tenant: string, subjectHash: string): WrappedKey => ({ tenant, subjectHash, keyId: randomBytes(16).toString('hex'), wrapped: randomBytes(60), created: Date.now() });
function record(keyId: string, bytes: number): SealedRecord {
  return { id: newRecordId(), tenant: 'acme', subjectHash: 'a'.repeat(64), keyId, decisionId: 'd-1', dataClass: 'personal', receipt: null, model: 'm', modelVersion: null, path: '/v1/chat/completions', status: 200, time: Date.now(), expiresAt: Date.now() + 86_400_000, sealed: randomBytes(bytes) };
}

test('a batch commits on the store thread: the event loop runs timers while it is written (on the calling thread it could not)', async (t) => {
  const batch = (k: WrappedKey): SealedRecord[] => Array.from({ length: 2000 }, () => record(k.keyId, 4096));
  const raced = async (b: ThreadedSqliteBackend | SqliteBackend): Promise<'timer' | 'write'> => {
    const k = key('acme', randomBytes(32).toString('hex'));
    const write = b.write([k], batch(k)).then(() => 'write' as const);
    const timer = new Promise<'timer'>((r) => setTimeout(() => r('timer'), 0));
    const first = await Promise.race([write, timer]);
    await write;
    return first;
  };
  const threaded = await ThreadedSqliteBackend.open(dirOf());
  const inline = new SqliteBackend(dirOf());
  t.after(async () => {
    await threaded.close();
    await inline.close();
  });
  assert.equal(await raced(inline), 'write', 'on the calling thread the write holds the event loop (the check can fail)');
  assert.equal(await raced(threaded), 'timer', 'the event loop was held while the batch was written');
  assert.equal(await threaded.count(), 2000);
});

test('errors keep their meaning across the thread: a key that exists is KeyExistsError, values come back as Buffers', async (t) => {
  const dir = dirOf();
  const a = await ThreadedSqliteBackend.open(dir);
  const b = await ThreadedSqliteBackend.open(dir);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const k = key('acme', 'b'.repeat(64));
  await a.write([k], [record(k.keyId, 100)]);
  const again = { ...k, keyId: randomBytes(16).toString('hex') };
  await assert.rejects(b.write([again], []), (err: unknown) => err instanceof KeyExistsError && err.tenant === 'acme' && err.subjectHash === 'b'.repeat(64));
  const got = await b.getKey('acme', 'b'.repeat(64));
  assert.ok(got && Buffer.isBuffer(got.wrapped) && got.wrapped.equals(k.wrapped));
  const recs = await b.recordsOf('a'.repeat(64), null);
  assert.equal(recs.length, 1);
  assert.ok(Buffer.isBuffer(recs[0]?.sealed));
  await a.close();
  await assert.rejects(a.count(), /the store database in .* is closed/);
});

test('a database that cannot be opened is refused at open with the reason', async () => {
  const file = path.join(dirOf(), 'not-a-dir');
  await import('node:fs/promises').then((fs) => fs.writeFile(file, 'x'));
  await assert.rejects(ThreadedSqliteBackend.open(file), /the store database in .*not-a-dir cannot be opened/);
});

test('a process that closes its store with records queued exits only after they are committed', async () => {
  const dir = dirOf();
  const kek = randomBytes(32).toString('hex');
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./close-child.ts', import.meta.url)), dir, kek, '300'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(child.status, 0, child.stderr);
  const check = new SqliteBackend(dir);
  try {
    assert.equal(await check.count(), 300, 'records queued at close were lost');
  } finally {
    await check.close();
  }
});
