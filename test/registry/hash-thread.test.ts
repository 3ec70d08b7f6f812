// A large blob's SHA-256 on the hash thread (hash-thread.ts), reading the shared batch buffers
// the bytes were written from. What a replication depends on: whatever the chunking, however
// many batches, whatever memory the bytes came in, the digest is the SHA-256 of the file (bytes
// hashed in file order, none twice, none skipped); a cut leaves file and hash in step, so a
// resume gives the right digest; the thread failing fails the blob (HASH_FAILED, never retried
// as a cut), nothing becomes visible, and the next replication works on a new thread; and the
// thread never keeps a process alive, nor lets one exit while it is still owed an answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { connect } from 'node:net';
import { BatchWriter, sharedBuffer } from '../../src/registry/batch.ts';
import type { RawConnect } from '../../src/registry/blob-get.ts';
import type { WriteBatch } from '../../src/registry/drain.ts';
import { closeHashThread, mainHash, threadHash, type BlobHash } from '../../src/registry/hash-thread.ts';
import { LayoutStore, RegistryClient, RegistryError, publishModel, replicateIntoLayout, sha256Digest, trustedPublishers } from '../../src/registry/index.ts';
import { PartialBlobs } from '../../src/registry/partial.ts';
import { config, modelDir, startTestGolden, tempDir } from './helpers.ts';

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Feeds `parts` through a BatchWriter of `batch` bytes into `write`, as blob-get.ts does: the
 * source stops when told to (after `overrun` more pieces: a stream may deliver a few more), and
 * reuses its read buffer at once. Throws `cutAfter` pieces in (a cut), after the writer finished.
 */
async function feedThroughBatches(write: WriteBatch, parts: Uint8Array[], batch: number, overrun: number, cutAfter = Infinity): Promise<void> {
  const maxPush = Math.max(1, ...parts.map((p) => p.byteLength));
  const w = new BatchWriter(write, maxPush, batch);
  let resumed: () => void = () => undefined;
  w.onResume = () => resumed();
  const read = Buffer.alloc(maxPush);
  let over = 0;
  for (const [i, p] of parts.entries()) {
    if (i >= cutAfter) {
      await w.finish();
      throw new Error('connection reset');
    }
    read.set(p);
    const more = w.push(read.subarray(0, p.byteLength));
    read.fill(0xee); // the read buffer is reused at once
    if (more) continue;
    if (over++ < overrun) continue;
    over = 0;
    await new Promise<void>((r) => (resumed = r));
  }
  await w.finish();
}

const blobs = fc.array(fc.uint8Array({ minLength: 1, maxLength: 5000 }), { minLength: 1, maxLength: 80 });

test('many batches through the shared batch buffers hash, on the hash thread, to the SHA-256 of the file written', async (t) => {
  t.after(() => closeHashThread());
  const dir = new PartialBlobs(tempDir('partial-'));
  let n = 0;
  await fc.assert(
    fc.asyncProperty(blobs, fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 0, max: 3 }), async (parts, batch, overrun) => {
      const digest = sha256Digest(`blob ${n++}`);
      const hash = threadHash();
      let batches = 0;
      await dir.append(digest, hash, (write) =>
        feedThroughBatches(
          async (chunks, bytes) => {
            batches++;
            // Zero copies: the writer hands over views of the shared batch buffers.
            for (const c of chunks) assert.ok(c.buffer instanceof SharedArrayBuffer, 'a batch is a view of shared memory');
            await write(chunks, bytes);
          },
          parts,
          batch,
          overrun,
        ),
      );
      const file = readFileSync(dir.file(digest));
      const expected = sha(Buffer.concat(parts));
      assert.equal(sha(file), expected, 'the file holds the bytes in order');
      assert.equal(await hash.digest(), expected, `the digest over ${batches} batches is the file's`);
      await dir.discard(digest);
    }),
    { numRuns: 60 },
  );
});

test('the hash thread takes bytes in any memory (shared views, plain buffers, a kept prefix read from the file) and hashes them in the order given', async (t) => {
  t.after(() => closeHashThread());
  const dir = tempDir('prefix-');
  await fc.assert(
    fc.asyncProperty(blobs, fc.nat(), fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }), async (parts, prefixAt, shared) => {
      const all = Buffer.concat(parts);
      const prefix = prefixAt % (all.length + 1);
      const file = path.join(dir, 'kept');
      // A file longer than the prefix: only `prefix` bytes of it may be hashed.
      writeFileSync(file, Buffer.concat([all.subarray(0, prefix), Buffer.from('bytes past the prefix')]));
      const hashes: BlobHash[] = [threadHash(), mainHash()];
      for (const h of hashes) {
        await h.updateFile(file, prefix);
        let at = prefix;
        for (const [i, p] of parts.entries()) {
          const take = all.subarray(at, Math.min(all.length, at + p.byteLength));
          if (take.length === 0) break;
          at += take.length;
          let mem: Uint8Array = Buffer.from(take);
          if (shared[i]) {
            const s = sharedBuffer(take.length + 7);
            s.set(take, 7);
            mem = s.subarray(7);
          }
          await h.update([mem]);
        }
      }
      const expected = sha(all);
      assert.equal(await (hashes[0] as BlobHash).digest(), expected);
      assert.equal(await (hashes[1] as BlobHash).digest(), expected, 'the same on the main thread');
    }),
    { numRuns: 60 },
  );
});

test('a cut mid-blob leaves the file and the hash in step: the resumed blob, in the same call or from the kept file, hashes right', async (t) => {
  t.after(() => closeHashThread());
  const dir = new PartialBlobs(tempDir('partial-'));
  let n = 0;
  await fc.assert(
    fc.asyncProperty(blobs, fc.nat(), fc.integer({ min: 1, max: 20_000 }), async (parts, cutAt, batch) => {
      const cutAfter = cutAt % parts.length;
      const digest = sha256Digest(`cut ${n++}`);
      const hash = threadHash();
      // The first attempt is cut: what arrived is written and hashed, the cut is UNAVAILABLE.
      await assert.rejects(
        dir.append(digest, hash, (write) => feedThroughBatches(write, parts, batch, 0, cutAfter)),
        (err: unknown) => err instanceof RegistryError && err.code === 'UNAVAILABLE',
      );
      const kept = dir.size(digest);
      assert.equal(kept, parts.slice(0, cutAfter).reduce((k, p) => k + p.byteLength, 0), 'every piece that arrived was written');
      // A later run starts from the kept file: its prefix read on the thread.
      const later = threadHash();
      await dir.hashInto(digest, later, kept);
      // The same call resumes with the hash it has.
      await dir.append(digest, hash, (write) => feedThroughBatches(write, parts.slice(cutAfter), batch, 0));
      const expected = sha(Buffer.concat(parts));
      assert.equal(sha(readFileSync(dir.file(digest))), expected);
      assert.equal(await hash.digest(), expected, 'resumed in the same call');
      await later.update([readFileSync(dir.file(digest)).subarray(kept)]);
      assert.equal(await later.digest(), expected, 'resumed from the kept file');
      await dir.discard(digest);
    }),
    { numRuns: 40 },
  );
});

test('the hash thread failing fails the blob with HASH_FAILED (not retried as a cut), nothing becomes visible, and the next replication runs on a new thread', async (t) => {
  const g = await startTestGolden();
  t.after(async () => {
    await closeHashThread();
    await g.close();
  });
  const BIG = 24 * 1024 * 1024;
  await publishModel(g.client, modelDir({ 'package.json': '{}', 'big.bin': BIG }), config('demo', '1.0.0'), g.key);
  const root = tempDir('region-');
  const store = new LayoutStore(root);
  let gets = 0;
  class Counting extends RegistryClient {
    override async blobInto(name: string, digest: string, offset: number, size: number, write: WriteBatch): Promise<void> {
      if (size === BIG) gets++;
      return super.blobInto(name, digest, offset, size, write);
    }
  }
  // The big blob off a connection of its own (blob-get.ts), as between Sovereign's registries.
  const at = new URL(g.golden.url);
  const own: RawConnect = (onread) =>
    new Promise((resolve, reject) => {
      const s = connect({ host: at.hostname, port: Number(at.port), onread }, () => resolve(s));
      s.once('error', reject);
    });
  const source = new Counting(g.golden.url, { connect: own });
  let stopped = false;
  const err = await replicateIntoLayout(store, {
    source,
    name: 'demo',
    version: '1.0.0',
    publishers: trustedPublishers(g.topology),
    onProgress: (done) => {
      // A few MiB in, the thread goes away under the transfer.
      if (!stopped && done > 4 * 1024 * 1024) {
        stopped = true;
        void closeHashThread();
      }
    },
  }).then(
    () => assert.fail('the replication succeeded without its hash thread'),
    (e: unknown) => e,
  );
  assert.ok(stopped, 'the thread was stopped mid-blob');
  assert.ok(err instanceof RegistryError, String(err));
  assert.equal(err.code, 'HASH_FAILED', err.message);
  assert.match(err.message, /SHA-256 could not be computed: the hash thread (stopped|failed)/);
  assert.match(err.message, /run the promotion again/);
  assert.equal(gets, 1, 'not retried as a cut connection');
  assert.equal(store.resolve('demo', '1.0.0'), null, 'no tag');
  const layer = JSON.parse((await g.source.manifest('demo', '1.0.0')).bytes.toString()) as { layers: { digest: string; size: number }[] };
  const big = layer.layers.find((l) => l.size === BIG)!.digest;
  assert.equal(store.blobSize('demo', big), null, 'the blob is not visible under its digest');

  // Run again: a new thread, the kept bytes hashed again from the file, the right digest.
  const kept = statSync(store.partial.file(big)).size;
  assert.ok(kept > 0 && kept < BIG, `${kept} bytes kept for the next run`);
  const a = await replicateIntoLayout(store, { source, name: 'demo', version: '1.0.0', publishers: trustedPublishers(g.topology) });
  assert.equal(store.resolve('demo', '1.0.0')?.digest, a.digest);
  assert.equal(store.blobSize('demo', big), BIG);
});

test('the hash thread answering an error (a kept prefix shorter than said) fails that hash with HASH_FAILED; other hashes go on', async (t) => {
  t.after(() => closeHashThread());
  const file = path.join(tempDir('short-'), 'kept');
  writeFileSync(file, Buffer.alloc(100, 1));
  const bad = threadHash();
  const good = threadHash();
  await good.update([Buffer.from('abc')]);
  await assert.rejects(bad.updateFile(file, 200), (err: unknown) => err instanceof RegistryError && err.code === 'HASH_FAILED' && /ends at byte 100, 200 expected/.test(err.message));
  // Nothing more goes into the failed hash (a gap would give a digest of other bytes).
  await assert.rejects(bad.update([Buffer.from('x')]), (err: unknown) => err instanceof RegistryError && err.code === 'HASH_FAILED');
  bad.drop();
  assert.equal(await good.digest(), sha(Buffer.from('abc')));
  await assert.rejects(good.digest(), (err: unknown) => err instanceof RegistryError && err.code === 'HASH_FAILED', 'a finished hash takes nothing more');
});

test('the hash thread keeps no process alive, and a process waiting on it does not exit before its answer', async () => {
  const hashThread = fileURLToPath(new URL('../../src/registry/hash-thread.ts', import.meta.url));
  // No close: the process must end by itself once its last answer came.
  const script = `import { threadHash } from ${JSON.stringify(hashThread)};
const h = threadHash();
await h.update([Buffer.alloc(1 << 20, 7)]);
process.stdout.write(await h.digest());`;
  const file = path.join(tempDir('exit-'), 'hash-and-exit.ts');
  writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errText = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (errText += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  assert.equal(code, 0, `the process ended by itself (stderr: ${errText})`);
  assert.equal(out, sha(Buffer.alloc(1 << 20, 7)), 'and printed the digest first');
});
