// Known-answer tests for the ledger's formats, from public reference vectors:
// - RFC 6962 tree heads and proofs (the reference vectors of certificate-transparency-go and
//   transparency-dev/merkle, leaves "", 00, 10, 2021, 3031, 40414243, 5051525354555657, 606162...6f);
// - golang.org/x/mod/sumdb/note (the PeterNeumann key and note);
// - c2sp.org/tlog-tiles path example (1234067 -> x001/x234/067, size 70,000 tile layout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMPTY_ROOT,
  consistencyProof,
  hashLeaf,
  inclusionProof,
  memorySubtree,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/merkle.ts';
import {
  TreeBuilder,
  bundlePath,
  decodeBundle,
  encodeBundle,
  encodeTileIndex,
  parseTilePath,
  subtreeFromTiles,
  tilePath,
  tilesAtLevel,
  type Tile,
} from '../../src/ledger/tiles.ts';
import {
  cosignatureSigner,
  ed25519Signer,
  formatSkey,
  openNote,
  parseSkey,
  parseVkey,
  signNote,
} from '../../src/ledger/note.ts';
import { formatCheckpoint, parseCheckpoint } from '../../src/ledger/checkpoint.ts';
import { canonicalJson, serializeEntry } from '../../src/ledger/entries.ts';
import canonicalize from 'canonicalize';
import fc from 'fast-check';

const h = (s: string): Buffer => Buffer.from(s, 'hex');

const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(h);
const LEAVES = LEAF_INPUTS.map(hashLeaf);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// [leaf index (0-based), tree size, proof]
const INCLUSION: [number, number, string[]][] = [
  [0, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [5, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [1, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];

test('RFC 6962 tree heads for sizes 0..8', () => {
  assert.equal(EMPTY_ROOT.toString('hex'), ROOTS[0]);
  for (let n = 0; n <= 8; n++) assert.equal(rootFromLeafHashes(LEAVES.slice(0, n)).toString('hex'), ROOTS[n], `size ${n}`);
  const b = new TreeBuilder();
  assert.equal(b.root().toString('hex'), ROOTS[0]);
  for (let n = 1; n <= 8; n++) {
    b.pushEntry(LEAF_INPUTS[n - 1] as Buffer);
    assert.equal(b.root().toString('hex'), ROOTS[n], `builder size ${n}`);
  }
});

test('RFC 6962 inclusion proofs: generate and verify', () => {
  const sub = memorySubtree(LEAVES);
  for (const [i, n, want] of INCLUSION) {
    const got = inclusionProof(sub, i, n).map((b) => b.toString('hex'));
    assert.deepEqual(got, want, `inclusion ${i} in ${n}`);
    assert.ok(verifyInclusion(LEAVES[i] as Buffer, i, n, want.map(h), h(ROOTS[n] as string)));
    assert.ok(!verifyInclusion(LEAVES[i] as Buffer, i, n, want.map(h), h(ROOTS[n - 1] as string)));
    assert.ok(!verifyInclusion(LEAVES[i] as Buffer, i + 1, n, want.map(h), h(ROOTS[n] as string)));
  }
});

test('RFC 6962 consistency proofs: generate and verify', () => {
  const sub = memorySubtree(LEAVES);
  for (const [m, n, want] of CONSISTENCY) {
    const got = consistencyProof(sub, m, n).map((b) => b.toString('hex'));
    assert.deepEqual(got, want, `consistency ${m} -> ${n}`);
    assert.ok(verifyConsistency(m, n, want.map(h), h(ROOTS[m] as string), h(ROOTS[n] as string)), `verify ${m} -> ${n}`);
  }
  assert.ok(!verifyConsistency(6, 8, CONSISTENCY[2]![2].map(h), h(ROOTS[5] as string), h(ROOTS[8] as string)));
  assert.ok(!verifyConsistency(2, 5, [], h(ROOTS[2] as string), h(ROOTS[5] as string)));
});

test('tlog-tiles path encoding', () => {
  assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
  assert.equal(encodeTileIndex(0), '000');
  assert.equal(encodeTileIndex(1000), 'x001/000');
  assert.equal(tilePath(0, 1234067), 'tile/0/x001/x234/067');
  assert.equal(tilePath(2, 5, 17), 'tile/2/005.p/17');
  assert.equal(bundlePath(7, 1), 'tile/entries/007.p/1');
  assert.deepEqual(parseTilePath('tile/1/x001/x234/067.p/255'), { kind: 'tile', level: 1, n: 1234067, width: 255 });
  assert.deepEqual(parseTilePath('tile/entries/012'), { kind: 'entries', n: 12, width: 256 });
  for (const bad of ['tile/0/x000/001', 'tile/0/1', 'tile/00/001', 'tile/0/001.p/256', 'tile/0/001.p/0', 'tile/64/001', 'tile/0/../001']) {
    assert.equal(parseTilePath(bad), null, bad);
  }
});

test('tlog-tiles partial tile layout of the spec example (size 70,000)', () => {
  // "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile,
  //  one partial level 1 tile of width 17, and one partial level 2 tile of width 1."
  assert.deepEqual(tilesAtLevel(70000, 0), { fullCount: 273, partialWidth: 112 });
  assert.deepEqual(tilesAtLevel(70000, 1), { fullCount: 1, partialWidth: 17 });
  assert.deepEqual(tilesAtLevel(70000, 2), { fullCount: 0, partialWidth: 1 });
  // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1."
  assert.deepEqual(tilesAtLevel(256, 0), { fullCount: 1, partialWidth: 0 });
  assert.deepEqual(tilesAtLevel(256, 1), { fullCount: 0, partialWidth: 1 });
});

test('tile builder agrees with the plain RFC 6962 tree, incl. proofs from tiles', () => {
  const full = new Map<string, Buffer>();
  const b = new TreeBuilder((t: Tile) => full.set(`${t.level}/${t.n}`, Buffer.from(t.buf)));
  const leaves: Buffer[] = [];
  for (let i = 0; i < 70000; i++) {
    const e = Buffer.from(`entry ${i}`);
    leaves.push(hashLeaf(e));
    b.pushEntry(e);
  }
  assert.equal(full.size, 273 + 1);
  const sub = subtreeFromTiles((L, n) => b.edgeTile(L, n)?.buf ?? (full.get(`${L}/${n}`) as Buffer));
  const plain = memorySubtree(leaves);
  const root = b.root();
  assert.deepEqual(root, rootFromLeafHashes(leaves));
  for (const i of [0, 1, 255, 256, 65535, 65536, 69999]) {
    const p = inclusionProof(sub, i, 70000);
    assert.deepEqual(p, inclusionProof(plain, i, 70000));
    assert.ok(verifyInclusion(leaves[i] as Buffer, i, 70000, p, root));
  }
  const p = consistencyProof(sub, 65537, 70000);
  assert.ok(verifyConsistency(65537, 70000, p, rootFromLeafHashes(leaves.slice(0, 65537)), root));
});

test('entry bundles are uint16 length-prefixed', () => {
  const entries = [Buffer.from(''), Buffer.from('a'), Buffer.alloc(300, 7)];
  const enc = encodeBundle(entries);
  assert.equal(enc.subarray(0, 5).toString('hex'), '0000000161');
  assert.equal(enc.readUInt16BE(5), 300);
  assert.deepEqual(decodeBundle(enc), entries);
  assert.throws(() => decodeBundle(enc.subarray(0, enc.length - 1)));
  assert.throws(() => encodeBundle([Buffer.alloc(65536)]));
});

// golang.org/x/mod/sumdb/note, note_test.go.
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';

test('signed-note: Go sumdb/note PeterNeumann vector', () => {
  const { name, seed } = parseSkey(PETER_SKEY);
  assert.equal(name, 'PeterNeumann');
  assert.equal(formatSkey(name, seed), PETER_SKEY);
  const signer = ed25519Signer(name, seed);
  assert.equal(signer.vkey, PETER_VKEY);
  const note = signNote(PETER_TEXT, [signer]);
  assert.equal(note, `${PETER_TEXT}\n${PETER_SIG}`);
  const v = parseVkey(PETER_VKEY);
  assert.equal(openNote(note, [v]).text, PETER_TEXT);
  // Tampered text fails; unknown signers are ignored but at least one must verify.
  assert.throws(() => openNote(note.replace('cryptography', 'cryptographY'), [v]), /does not verify/);
  const other = ed25519Signer('EnochRoot', Buffer.alloc(32, 1));
  assert.throws(() => openNote(note, [parseVkey(other.vkey)]), /no signature from a known key/);
  const both = signNote(PETER_TEXT, [other, signer]);
  assert.equal(openNote(both, [v]).verified.length, 1);
});

test('tlog-cosignature/v1 signs "cosignature/v1\\ntime T\\n" + body with key type 0x04', () => {
  const w = cosignatureSigner('witness.example/w1', Buffer.alloc(32, 9), () => 1679315147);
  const body = formatCheckpoint({ origin: 'example.com/behind-the-sofa', size: 20852163, root: Buffer.alloc(32, 1) });
  const note = signNote(body, [w]);
  const raw = Buffer.from(note.trim().split(' ').pop() as string, 'base64');
  assert.equal(raw.length, 4 + 8 + 64);
  assert.equal(raw.readBigUInt64BE(4), 1679315147n);
  assert.match(w.vkey, /^witness\.example\/w1\+[0-9a-f]{8}\+B/); // base64 of 0x04 || key starts with "B"
  assert.equal(openNote(note, [parseVkey(w.vkey)]).text, body);
  // A plain Ed25519 verifier for the same key has a different key ID, so it ignores the line.
  const plain = ed25519Signer('witness.example/w1', Buffer.alloc(32, 9));
  assert.throws(() => openNote(note, [parseVkey(plain.vkey)]), /no signature from a known key/);
});

test('tlog-checkpoint body format is strict', () => {
  const root = Buffer.from(ROOTS[8] as string, 'hex');
  const text = formatCheckpoint({ origin: 'example.com/log', size: 8, root });
  assert.equal(text, `example.com/log\n8\n${root.toString('base64')}\n`);
  assert.deepEqual(parseCheckpoint(text), { origin: 'example.com/log', size: 8, root, extensions: [] });
  assert.throws(() => parseCheckpoint(text.replace('\n8\n', '\n08\n')));
  assert.throws(() => parseCheckpoint('example.com/log\n8\nAAAA\n'));
});

test('canonicalJson matches the canonicalize package (RFC 8785) and rejects what JCS forbids', () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.string({ unit: 'binary' }), tie('arr'), tie('obj')),
    arr: fc.array(tie('value'), { maxLength: 5 }),
    obj: fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 5 }),
  })).value;
  fc.assert(
    fc.property(json, (v) => {
      let want: string | undefined;
      try {
        want = canonicalize(v);
      } catch {
        want = undefined;
      }
      let got: string | undefined;
      try {
        got = canonicalJson(v);
      } catch {
        got = undefined;
      }
      assert.equal(got, want);
    }),
    { numRuns: 2000 },
  );
  assert.equal(canonicalJson({ b: [1, 'x', null, true], a: { d: 1e21, c: -0 } }), '{"a":{"c":0,"d":1e+21},"b":[1,"x",null,true]}');
  assert.throws(() => canonicalJson('\ud800'));
  assert.throws(() => canonicalJson(Infinity));
});

test('a decision entry is stored as exactly what canonicalize (RFC 8785) makes of it, whatever its member order', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,24}$/);
  const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
  // Members in a random order, so the stored order can only come from the serializer.
  const shuffled = <T extends Record<string, unknown>>(arb: fc.Arbitrary<T>) =>
    arb.chain((o) => fc.shuffledSubarray(Object.keys(o), { minLength: Object.keys(o).length }).map((keys) => Object.fromEntries(keys.map((k) => [k, o[k]])) as T));
  const decision = shuffled(
    fc.record({
      v: fc.constant(1),
      kind: fc.constant('decision'),
      time: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
      decision_id: id,
      request_hash: hex,
      tenant: id,
      jurisdictions: fc.array(
        shuffled(
          fc.record(
            { jurisdiction: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,8}$/), source: fc.constantFrom('declared', 'geoip', 'tenant'), mechanism: fc.constantFrom('adequacy', 'scc', 'contract', 'none') },
            { requiredKeys: ['jurisdiction', 'source'] },
          ),
        ),
        { maxLength: 4 },
      ),
      data_class: fc.constantFrom('public', 'internal', 'personal', 'special'),
      detected_types: fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,12}$/), { maxLength: 4 }),
      region: fc.option(id, { nil: null }),
      mode: fc.constantFrom('legal-first', 'performance-first', 'hybrid'),
      outcome: fc.constantFrom('routed', 'denied', 'failed_over', 'unavailable', 'transfer'),
      attempts: fc.array(shuffled(fc.record({ region: id, outcome: fc.constantFrom('ok', 'timeout', 'reset') })), { maxLength: 4 }),
      policy_ids: fc.array(id, { maxLength: 4 }),
      model: id,
      model_digest: fc.option(hex.map((h) => `sha256:${h}`), { nil: null }),
      // Optional: entries from before regions kept a store have none.
      retention_days: fc.integer({ min: 0, max: 36_500 }),
    }, { requiredKeys: ['v', 'kind', 'time', 'decision_id', 'request_hash', 'tenant', 'jurisdictions', 'data_class', 'detected_types', 'region', 'mode', 'outcome', 'attempts', 'policy_ids', 'model', 'model_digest'] }),
  );
  fc.assert(
    fc.property(decision, (e) => {
      assert.equal(serializeEntry(e).toString('utf8'), canonicalize(e));
    }),
    { numRuns: 1000 },
  );
});

test('model entries (arrival, transfer, deletion) are stored as exactly what canonicalize (RFC 8785) makes of them; a transfer without its destination is refused', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,24}$/);
  const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);
  const time = fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  const shuffled = <T extends Record<string, unknown>>(arb: fc.Arbitrary<T>) =>
    arb.chain((o) => fc.shuffledSubarray(Object.keys(o), { minLength: Object.keys(o).length }).map((keys) => Object.fromEntries(keys.map((k) => [k, o[k]])) as T));
  const base = { v: fc.constant(1), kind: fc.constant('model'), time, name: id, digest, region: id };
  const entry = fc.oneof(
    shuffled(fc.record({ ...base, event: fc.constant('arrival'), version: id, from: id }, { requiredKeys: ['v', 'kind', 'time', 'name', 'digest', 'region', 'event'] })),
    shuffled(fc.record({ ...base, event: fc.constant('transfer'), version: id, to: id, policy_ids: fc.array(id, { maxLength: 4 }) })),
    shuffled(fc.record({ ...base, event: fc.constant('deletion'), version: id, collected_bytes: fc.nat() })),
  );
  fc.assert(
    fc.property(entry, (e) => {
      assert.equal(serializeEntry(e).toString('utf8'), canonicalize(e));
    }),
    { numRuns: 500 },
  );
  const transfer = { v: 1, kind: 'model', time: '2026-01-01T00:00:00.000Z', event: 'transfer', name: 'm', version: '1', digest: `sha256:${'a'.repeat(64)}`, region: 'eu-frankfurt', policy_ids: [] };
  assert.throws(() => serializeEntry(transfer), /to:/);
  assert.throws(() => serializeEntry({ ...transfer, to: 'uae-dubai', note: 'x' }), /ledger entry rejected/);
});

test('an erasure entry is stored as exactly what canonicalize (RFC 8785) makes of it', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,24}$/);
  const time = fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  const erasure = fc.record({
    v: fc.constant(1),
    kind: fc.constant('erasure'),
    time,
    region: id,
    tenant: fc.option(id, { nil: null }),
    subject_hash: fc.stringMatching(/^[0-9a-f]{64}$/),
    keys: fc.nat(),
    records: fc.nat(),
    requested: time,
  });
  fc.assert(
    fc.property(erasure, (e) => {
      assert.equal(serializeEntry(e).toString('utf8'), canonicalize(e));
    }),
    { numRuns: 300 },
  );
});
