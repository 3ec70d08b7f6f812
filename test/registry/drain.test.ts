// The blob sink's invariant, for any chunking of any bytes and any batch size: the bytes
// written are the source's bytes in order; after a cut, a prefix of them is written (what the
// stream delivered before it failed; the resume continues after it) and the error is the source's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { drainInto } from '../../src/registry/drain.ts';

const chunks = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 40 });

test('drainInto writes every byte in order, in batches, whatever the chunking', async () => {
  await fc.assert(
    fc.asyncProperty(chunks, fc.integer({ min: 1, max: 2000 }), async (parts, batch) => {
      const out: Buffer[] = [];
      let writes = 0;
      await drainInto(Readable.from(parts.map((p) => Buffer.from(p))), async (cs, n) => {
        writes++;
        assert.equal(cs.reduce((k, c) => k + c.byteLength, 0), n);
        await new Promise((r) => setImmediate(r));
        out.push(...cs.map((c) => Buffer.from(c)));
      }, batch);
      assert.deepEqual(Buffer.concat(out), Buffer.concat(parts.map((p) => Buffer.from(p))));
      assert.ok(writes <= parts.length || parts.length === 0);
    }),
    { numRuns: 200 },
  );
});

test('drainInto after a cut: a prefix is written (all of it when nothing waited behind a write), then the cut is reported', async () => {
  await fc.assert(
    fc.asyncProperty(chunks, fc.integer({ min: 1, max: 2000 }), async (parts, batch) => {
      const src = new Readable({ read() {} });
      const out: Buffer[] = [];
      const done = drainInto(src, async (cs) => {
        await new Promise((r) => setImmediate(r));
        out.push(...cs.map((c) => Buffer.from(c)));
      }, batch);
      for (const p of parts) src.push(Buffer.from(p));
      await new Promise((r) => setImmediate(r));
      src.destroy(new Error('connection cut'));
      await assert.rejects(done, /connection cut/);
      const all = Buffer.concat(parts.map((p) => Buffer.from(p)));
      const got = Buffer.concat(out);
      assert.deepEqual(got, all.subarray(0, got.length), 'a prefix, in order');
      // Below one batch nothing was held back by a write in flight: every byte is kept.
      if (all.length < batch) assert.equal(got.length, all.length);
    }),
    { numRuns: 200 },
  );
});

test('drainInto: a failing write stops the transfer with the write error', async () => {
  const src = Readable.from([Buffer.alloc(10), Buffer.alloc(10)]);
  await assert.rejects(drainInto(src, async () => {
    throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
  }, 5), /no space/);
});
