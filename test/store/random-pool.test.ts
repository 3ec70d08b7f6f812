// The store's pooled random bytes (src/store/random-pool.ts): AES-GCM nonces and record ids come
// from one 64 KiB CSPRNG draw at a time. A nonce used twice under one key breaks GCM, so what
// the pool must guarantee is that no byte is ever handed out twice and that a value handed out
// never changes afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { openRecord, sealRecord } from '../../src/store/envelope.ts';
import { POOL_BYTES, RandomPool, pooledRandomBytes } from '../../src/store/random-pool.ts';

test('property: the pool never hands out the same byte twice, and a value handed out never changes, across refills', () => {
  fc.assert(
    fc.property(fc.integer({ min: 16, max: 256 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 300 }), (size, draws) => {
      const pool = new RandomPool(size);
      const taken: { buf: Buffer; copy: Buffer }[] = [];
      for (const n of draws) {
        const buf = pool.take(n);
        assert.equal(buf.length, n);
        taken.push({ buf, copy: Buffer.from(buf) });
      }
      // No two values share memory: byte ranges of one backing buffer never overlap.
      const ranges = new Map<ArrayBufferLike, [number, number][]>();
      for (const { buf } of taken) {
        const list = ranges.get(buf.buffer) ?? [];
        for (const [a, b] of list) assert.ok(buf.byteOffset >= b || buf.byteOffset + buf.length <= a, 'two draws share bytes');
        list.push([buf.byteOffset, buf.byteOffset + buf.length]);
        ranges.set(buf.buffer, list);
      }
      // Later draws (refills included) left every earlier value as it was.
      for (const { buf, copy } of taken) assert.deepEqual(buf, copy);
    }),
    { numRuns: 200 },
  );
});

test('property: nonces of records sealed under one key are all distinct, and every record opens to what was sealed', () => {
  const key = createSecretKey(randomBytes(32));
  const seen = new Set<string>();
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 64 }), { minLength: 1, maxLength: 50 }), (texts) => {
      for (const [i, t] of texts.entries()) {
        const sealed = sealRecord(key, Buffer.from(t), `id-${i}`, 'tenant', 'a'.repeat(64));
        const nonce = sealed.subarray(0, 12).toString('hex');
        assert.ok(!seen.has(nonce), `nonce ${nonce} used twice under one key`);
        seen.add(nonce);
        assert.equal(openRecord(key, sealed, `id-${i}`, 'tenant', 'a'.repeat(64)).toString(), t);
      }
    }),
    { numRuns: 100 },
  );
  // Enough seals to go through several pools of the shared one.
  for (let i = 0; i < (3 * POOL_BYTES) / 12; i++) {
    const nonce = sealRecord(key, Buffer.from('x'), 'id', 't', 'h').subarray(0, 12).toString('hex');
    assert.ok(!seen.has(nonce), 'nonce reused');
    seen.add(nonce);
  }
});

test('the pool draws from the CSPRNG: two pools give different bytes, and the bytes look uniform', () => {
  assert.notDeepEqual(new RandomPool().take(32), new RandomPool().take(32));
  // 64 KiB of pooled bytes: every byte value appears, none far more often than the others.
  const counts = new Array<number>(256).fill(0);
  for (let i = 0; i < 4096; i++) for (const b of pooledRandomBytes(16)) counts[b] = (counts[b] as number) + 1;
  assert.ok(Math.min(...counts) > 128 && Math.max(...counts) < 400, `byte counts out of range: ${Math.min(...counts)}..${Math.max(...counts)}`);
});

test('a bad count is refused with a clear error; a count above the pool size still gets fresh bytes', () => {
  const pool = new RandomPool(16);
  assert.throws(() => pool.take(0), /expected a positive integer count, got 0/);
  assert.throws(() => pool.take(1.5), /expected a positive integer count/);
  assert.throws(() => new RandomPool(0), /random pool size: expected a positive integer/);
  assert.equal(pool.take(100).length, 100);
});
