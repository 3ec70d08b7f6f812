// The head of a cell's answer as the forwarder reads it: only the headers it names are decoded,
// each exactly as undici's parseHeaders gives it (case folded, repeats as an array, bytes as latin1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { util } from 'undici';
import { pickHeaders } from '../../src/gateway/exchange.ts';

const NAMES = ['content-type', 'Content-Length', 'SERVER-TIMING', 'x-sovereign-receipt', 'x-sovereign-record-refused', 'date', 'connection', 'keep-alive', 'x-other', 'X-Sovereign-Cell-Busy'];

test('pickHeaders gives the wanted headers exactly as parseHeaders does, and no other', () => {
  const header = fc.tuple(fc.constantFrom(...NAMES), fc.string({ maxLength: 40 }).map((v) => Buffer.from(v, 'latin1')));
  fc.assert(
    fc.property(fc.array(header, { maxLength: 14 }), fc.subarray(NAMES.map((n) => n.toLowerCase())), (headers, wanted) => {
      const raw = headers.flatMap(([n, v]) => [Buffer.from(n, 'latin1'), v]);
      const all = util.parseHeaders(raw);
      const picked = pickHeaders(raw, new Set(wanted));
      const expected = Object.fromEntries(Object.entries(all).filter(([k]) => wanted.includes(k)));
      assert.deepEqual(picked, expected);
    }),
  );
});

test('a header sent twice is kept as both values, in order', () => {
  const raw = ['Server-Timing', 'record;dur=1', 'content-type', 'application/json', 'server-timing', 'region;dur=2'].map((s) => Buffer.from(s));
  assert.deepEqual(pickHeaders(raw, new Set(['server-timing'])), { 'server-timing': ['record;dur=1', 'region;dur=2'] });
});
