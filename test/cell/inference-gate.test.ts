// The cell's inference gate: at most `concurrency` run, `queue` wait in order, one more is 429.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HttpError } from '../../src/common/index.ts';
import { InferenceGate } from '../../src/cell/inference-gate.ts';

test('never more than the bound run; the overflow is refused with 429 and Retry-After; slots pass in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), async (concurrency, queue, ops) => {
      const gate = new InferenceGate(concurrency, queue);
      const held: (() => void)[] = [];
      const order: number[] = [];
      let started = 0;
      let refused = 0;
      for (const arrive of ops) {
        if (arrive || held.length === 0) {
          const n = started++;
          const expectedToWait = gate.running >= concurrency;
          const full = expectedToWait && gate.waiting >= queue;
          // What the cell looks at before it records a request: the same answer acquire gives.
          assert.equal(gate.full, full);
          if (full) assert.throws(() => gate.refuseIfFull('r'), (e: unknown) => e instanceof HttpError && e.statusCode === 429);
          else gate.refuseIfFull('r');
          const p = gate.acquire('r').then((release) => {
            order.push(n);
            held.push(release);
          });
          if (full) {
            await assert.rejects(p, (e: unknown) => e instanceof HttpError && e.statusCode === 429 && e.headers['retry-after'] === '1');
            refused++;
          }
        } else {
          held.shift()?.();
        }
        await new Promise((r) => setImmediate(r));
        assert.ok(gate.running <= concurrency);
        assert.ok(gate.waiting <= queue);
        assert.equal(held.length, gate.running);
      }
      // Admitted in arrival order.
      assert.deepEqual(order, [...order].sort((a, b) => a - b));
      assert.equal(order.length + refused + gate.waiting, started);
    }),
    { numRuns: 300 },
  );
});
