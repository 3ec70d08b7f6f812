// The primary's book of which region state version each gateway worker has in force: a
// suspension is reported in force only when every live worker has applied it, whatever the
// interleaving of workers starting, dying and acknowledging (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AckBook } from '../../src/gateway/workers/index.ts';

type Op = { op: 'join'; w: number } | { op: 'leave'; w: number } | { op: 'ack'; w: number; v: number } | { op: 'wait'; v: number };

const op = fc.oneof(
  fc.record({ op: fc.constant('join' as const), w: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant('leave' as const), w: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant('ack' as const), w: fc.integer({ min: 1, max: 5 }), v: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ op: fc.constant('wait' as const), v: fc.integer({ min: 0, max: 6 }) }),
);

test('a wait resolves exactly when every live worker has acknowledged its version (any interleaving)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops: Op[]) => {
      const book = new AckBook();
      // The model: live workers and the highest version each acknowledged.
      const model = new Map<number, number>();
      const waits: { v: number; resolved: boolean; workers?: number }[] = [];
      const inForceEverywhere = (v: number): boolean => [...model.values()].every((x) => x >= v);
      for (const o of ops) {
        if (o.op === 'join') {
          if (model.has(o.w)) continue; // a worker id is used once (node:cluster ids only grow)
          book.join(o.w);
          model.set(o.w, -1);
        } else if (o.op === 'leave') {
          book.leave(o.w);
          model.delete(o.w);
        } else if (o.op === 'ack') {
          book.ack(o.w, o.v);
          const before = model.get(o.w);
          if (before !== undefined) model.set(o.w, Math.max(before, o.v));
        } else {
          const w: { v: number; resolved: boolean; workers?: number } = { v: o.v, resolved: false };
          waits.push(w);
          void book.wait(o.v, 60_000).then((n) => {
            // Never reported in force while some live worker is behind.
            assert.ok(inForceEverywhere(o.v), `version ${o.v} reported in force with a live worker behind`);
            assert.equal(n, model.size);
            w.resolved = true;
            w.workers = n;
          });
        }
        await Promise.resolve();
        await Promise.resolve();
        for (const w of waits) {
          if (w.resolved) continue;
          // Reported as soon as no live worker is behind.
          assert.equal(inForceEverywhere(w.v), false, `wait for ${w.v} still pending although every live worker has it`);
        }
      }
      // Settle: every worker acknowledges the newest version; every wait resolves.
      for (const w of model.keys()) {
        model.set(w, 6);
        book.ack(w, 6);
      }
      await Promise.resolve();
      await Promise.resolve();
      assert.ok(waits.every((w) => w.resolved));
    }),
    { numRuns: 300 },
  );
});

test('a wait resolved only after the last behind worker acknowledged or left', async () => {
  const book = new AckBook();
  book.join(1);
  book.join(2);
  book.ack(1, 3);
  let n: number | null = null;
  void book.wait(3, 60_000).then((x) => (n = x));
  await Promise.resolve();
  assert.equal(n, null, 'worker 2 has not applied version 3');
  book.ack(2, 2);
  await Promise.resolve();
  assert.equal(n, null);
  book.ack(2, 3);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(n, 2);
  // A worker that dies is not waited for; a timeout says how many are behind (the new worker 3).
  book.join(3);
  await assert.rejects(book.wait(3, 20), /1 of 3 gateway workers have not applied region state version 3/);
  book.ack(1, 4);
  book.leave(2);
  let m: number | null = null;
  void book.wait(4, 60_000).then((x) => (m = x));
  book.leave(3);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(m, 1);
});
