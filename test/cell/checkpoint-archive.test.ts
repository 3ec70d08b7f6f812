// The checkpoint archive a compliance report starts from: thinning keeps everything recent, the
// last checkpoint of every older hour and the newest; a lookup never answers a checkpoint larger
// than asked (a report's start must be a prefix of its period).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'node:test';
import fc from 'fast-check';
import { CheckpointArchive } from '../../src/cell/checkpoint-archive.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('thinning keeps the last of each old hour, every recent one and the newest; lookups stay at or below the size asked', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 5_000, max: 3 * HOUR }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 3 * DAY }), async (gaps, later) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'cp-archive-'));
      try {
        const a = new CheckpointArchive(dir, { intervalMs: 5000, keepAllMs: DAY });
        const written: { size: number; at: number }[] = [];
        let at = 1_700_000_000_000;
        let size = 0;
        for (const g of gaps) {
          at += g;
          size += 1 + (g % 7);
          assert.equal(await a.add(size, `cp ${size}\n`, at), true);
          written.push({ size, at });
        }
        const now = at + later;
        await a.thin(now);
        const kept = new Set(a.sizes());
        assert.deepEqual(new Set(readdirSync(dir).map(Number)), kept, 'the files are what the archive lists');
        const newest = written[written.length - 1] as { size: number };
        assert.ok(kept.has(newest.size), 'the newest is kept');
        for (let i = 0; i < written.length; i++) {
          const w = written[i] as { size: number; at: number };
          const next = written[i + 1];
          const lastOfHour = next === undefined || Math.floor(next.at / HOUR) !== Math.floor(w.at / HOUR);
          if (w.at >= now - DAY || lastOfHour) assert.ok(kept.has(w.size), `checkpoint ${w.size} must be kept`);
        }
        // Any lookup: the largest kept size at or below it.
        for (const q of [0, ...written.map((w) => w.size), size + 5]) {
          const got = await a.atMost(q);
          const expect = [...kept].filter((s) => s <= q).sort((x, y) => x - y).pop();
          assert.equal(got, expect === undefined ? null : `cp ${expect}\n`);
        }
        // A restart reads the same archive back.
        assert.deepEqual(new CheckpointArchive(dir, { intervalMs: 5000, keepAllMs: DAY }).sizes(), a.sizes());
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 60 },
  );
});

test('at most one checkpoint per interval, and never a smaller or equal size than the last', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cp-archive-'));
  try {
    const a = new CheckpointArchive(dir, { intervalMs: 5000, keepAllMs: DAY });
    assert.equal(await a.add(10, 'a', 1_000_000), true);
    assert.equal(await a.add(20, 'b', 1_003_000), false, 'within the interval');
    assert.equal(await a.add(10, 'c', 1_010_000), false, 'not larger');
    assert.equal(await a.add(30, 'd', 1_010_000), true);
    assert.deepEqual(a.sizes(), [10, 30]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
