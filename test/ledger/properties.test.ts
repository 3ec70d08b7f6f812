// Property tests: RFC 9162 proofs over random tree sizes, generated from tiles, verify; and
// perturbed proofs don't.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { consistencyProof, hashLeaf, inclusionProof, memorySubtree, rootFromLeafHashes, verifyConsistency, verifyInclusion } from '../../src/ledger/merkle.ts';
import { TreeBuilder, subtreeFromTiles, type Tile } from '../../src/ledger/tiles.ts';

const MAX = 2000;
const leaves = Array.from({ length: MAX }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
const roots: Buffer[] = [];
const full = new Map<string, Buffer>();
const builder = new TreeBuilder((t: Tile) => full.set(`${t.level}/${t.n}`, Buffer.from(t.buf)));
roots.push(builder.root());
for (const l of leaves) {
  builder.pushLeafHash(l);
  roots.push(builder.root());
}
const tiles = subtreeFromTiles((L, n) => builder.edgeTile(L, n)?.buf ?? (full.get(`${L}/${n}`) as Buffer));

test('roots from tiles equal MTH for every size', () => {
  for (const n of [0, 1, 2, 3, 255, 256, 257, 511, 512, 513, 1000, MAX]) assert.deepEqual(roots[n], rootFromLeafHashes(leaves.slice(0, n)));
});

test('inclusion proofs verify for random (index, size)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }))), ([size, index]) => {
      const p = inclusionProof(tiles, index, size);
      assert.ok(verifyInclusion(leaves[index] as Buffer, index, size, p, roots[size] as Buffer));
      assert.deepEqual(p, inclusionProof(memorySubtree(leaves), index, size));
      if (p.length > 0) {
        const bad = p.map((h) => Buffer.from(h));
        (bad[0] as Buffer)[0] = ((bad[0] as Buffer)[0] as number) ^ 1;
        assert.ok(!verifyInclusion(leaves[index] as Buffer, index, size, bad, roots[size] as Buffer));
      }
      if (size > 1) assert.ok(!verifyInclusion(leaves[index] as Buffer, (index + 1) % size, size, p, roots[size] as Buffer));
    }),
    { numRuns: 300 },
  );
});

test('consistency proofs verify for random (m, n), and fail against a wrong old root', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n))), ([m, n]) => {
      const p = consistencyProof(tiles, m, n);
      assert.ok(verifyConsistency(m, n, p, roots[m] as Buffer, roots[n] as Buffer), `${m} -> ${n}`);
      if (m > 0 && m < n) {
        assert.ok(!verifyConsistency(m, n, p, roots[m - 1] as Buffer, roots[n] as Buffer));
        assert.ok(!verifyConsistency(m, n, p.slice(1), roots[m] as Buffer, roots[n] as Buffer));
      }
    }),
    { numRuns: 300 },
  );
});
