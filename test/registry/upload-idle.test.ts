// A push cut off mid-blob leaves its append finishing (the last write, the truncation back to
// what was hashed, the close). A registry that closes waits for it: afterwards the session's
// file is final and matches the offset a client would resume from.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import test, { type TestContext } from 'node:test';
import { LayoutStore } from '../../src/registry/index.ts';

/** A registry in a fresh directory (removed after the test), an upload session, and its source. */
function session(t: TestContext): { root: string; store: LayoutStore; u: ReturnType<LayoutStore['startUpload']>; src: PassThrough } {
  const root = mkdtempSync(path.join(tmpdir(), 'upload-idle-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const store = new LayoutStore(root);
  return { root, store, u: store.startUpload('text-analysis'), src: new PassThrough() };
}

test('uploadsIdle waits for a cut append: file, offset and the resumed hash agree afterwards', async (t) => {
  const { root, store, u, src } = session(t);
  const done = u.append(src).catch((err: unknown) => err);
  // Several MiB, then the client goes away.
  const piece = Buffer.alloc(1 << 20, 7);
  for (let i = 0; i < 8; i++) src.write(piece);
  setImmediate(() => src.destroy(new Error('client went away')));
  assert.equal(await store.uploadsIdle(), undefined);
  // Idle means the append has settled, whatever its outcome.
  const outcome = await Promise.race([done, new Promise((r) => setTimeout(() => r('still running'), 0))]);
  assert.notEqual(outcome, 'still running');
  const size = statSync(u.file).size;
  assert.equal(size, u.offset, 'the file holds exactly the bytes the session accounts for');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(statSync(u.file).size, size, 'nothing is written after idle');
  // A registry restarted on this directory resumes the session with the same bytes and hash.
  const again = new LayoutStore(root).upload('text-analysis', u.id);
  await again.ready();
  assert.equal(again.offset, size);
  assert.equal(again.digest(), `sha256:${createHash('sha256').update(readFileSync(u.file)).digest('hex')}`);
  assert.equal(u.digest(), again.digest());
});

test('a source that fails before the append reads it fails the append, not the process', async (t) => {
  const { store, u, src } = session(t);
  const done = u.append(src);
  // The client goes away while the session's file is still being opened.
  src.destroy(new Error('client went away'));
  await assert.rejects(done, /client went away/);
  await store.uploadsIdle();
  assert.equal(statSync(u.file).size, u.offset, 'nothing half-written');
});
