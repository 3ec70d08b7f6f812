// Property-based tests (fast-check) for the invariants the gateway relies on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DATA_CLASSES, createClassifier, type DataClass } from '../../src/classify/index.ts';

const classifier = createClassifier({ customPatterns: [{ type: 'TICKET', pattern: 'TKT-[0-9]{4}', class: 'personal' }] });
const rank = (c: DataClass): number => DATA_CLASSES.indexOf(c);

// Text that hits the detectors often: fragments of PII mixed with noise.
const fragment = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'jane@example.com', '4111 1111 1111 1111', 'GB82 WEST 1234 5698 7654 32', '123-45-6780', 'AB123456D',
    '943 476 5919', 'S1234567D', '784-1980-1234567-8', '192.168.0.1', 'fe80::1', '+44 20 7946 0958',
    'Dr. Jane Smith', 'my name is Dan', 'diabetes', 'Muslim', 'trade union', 'genetic', 'biometric', 'gay',
    'Hispanic', 'socialist', ' ', '\n', '.', '-', '@', '(', '+', ':', 'TKT-1234',
  ),
);
const text = fc.array(fragment, { maxLength: 12 }).map((parts) => parts.join(''));
const dataClass = fc.constantFrom(...DATA_CLASSES);

test('classifyText never throws and returns well-formed results', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), text), (t) => {
      const r = classifier.classifyText(t);
      assert.ok(DATA_CLASSES.includes(r.class));
      let total = 0;
      for (const d of r.detections) {
        assert.ok(Number.isInteger(d.start) && Number.isInteger(d.end));
        assert.ok(d.start >= 0 && d.start < d.end && d.end <= t.length, `${d.start}..${d.end} outside ${t.length}`);
        const keys = Object.keys(d).sort();
        assert.ok(keys.join() === 'end,start,type' || keys.join() === 'context,end,start,type', keys.join());
      }
      for (const n of Object.values(r.counts)) total += n;
      assert.equal(total, r.detections.length);
    }),
    { numRuns: 2000 },
  );
});

test('detections never include values', () => {
  fc.assert(
    fc.property(text, (t) => {
      const r = classifier.classifyText(t);
      const json = JSON.stringify(r);
      for (const d of r.detections) {
        const value = t.slice(d.start, d.end);
        if (value.length >= 4 && !/^[A-Z_]+$/.test(value)) assert.ok(!json.includes(JSON.stringify(value).slice(1, -1)), value);
      }
    }),
    { numRuns: 1000 },
  );
});

test('class is monotone: adding text (a new segment or message) never lowers it', () => {
  fc.assert(
    fc.property(text, text, (a, b) => {
      const ca = classifier.classifyText(a).class;
      const cb = classifier.classifyText(b).class;
      const both = classifier.classifyText(`${a}\n${b}`).class;
      assert.ok(rank(both) >= rank(ca) && rank(both) >= rank(cb), `${ca}+${cb} -> ${both}`);
      const req = classifier.classifyRequest({ messages: [{ role: 'user', content: a }, { role: 'user', content: b }] }).class;
      const reqA = classifier.classifyRequest({ messages: [{ role: 'user', content: a }] }).class;
      assert.ok(rank(req) >= rank(reqA));
    }),
    { numRuns: 1500 },
  );
});

test('declared class is a floor', () => {
  fc.assert(
    fc.property(text, dataClass, (t, declared) => {
      const detected = classifier.classifyRequest({ prompt: t }).class;
      const withFloor = classifier.classifyRequest({ prompt: t }, declared).class;
      assert.equal(rank(withFloor), Math.max(rank(detected), rank(declared)));
    }),
    { numRuns: 1000 },
  );
});

test('classifyRequest never throws on arbitrary JSON', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (body) => {
      const r = classifier.classifyRequest(body);
      assert.ok(DATA_CLASSES.includes(r.class));
    }),
    { numRuns: 1000 },
  );
});

// Normalisation: writing the same text differently never lowers its class.
const ZERO_WIDTH = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad'];
const plain = fc.array(fragment.filter((f) => /^[\x20-\x7e\n]*$/.test(f)), { maxLength: 10 }).map((parts) => parts.join(''));

test('inserting zero-width and format characters never lowers the class', () => {
  fc.assert(
    fc.property(plain, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...ZERO_WIDTH)), { maxLength: 8 }), (t, inserts) => {
      let s = t;
      for (const [at, z] of inserts) {
        const k = s.length === 0 ? 0 : at % (s.length + 1);
        s = s.slice(0, k) + z + s.slice(k);
      }
      const before = classifier.classifyText(t).class;
      const after = classifier.classifyText(s).class;
      assert.ok(rank(after) >= rank(before), `${JSON.stringify(t)} ${before} → ${JSON.stringify(s)} ${after}`);
    }),
    { numRuns: 1500 },
  );
});

test('decimal digits of other scripts and full-width forms classify like ASCII', () => {
  const ZEROS = [0x0660, 0x06f0, 0x0966, 0xff10]; // Arabic-Indic, extended Arabic-Indic, Devanagari, full-width
  fc.assert(
    // (percent-encoding is written with ASCII hex digits only, so "%" is left out)
    fc.property(plain.map((x) => x.replace(/%/g, ' ')), fc.constantFrom(...ZEROS), fc.boolean(), (t, zero, fullWidthLetters) => {
      let s = t.replace(/[0-9]/g, (d) => String.fromCharCode(zero + d.charCodeAt(0) - 48));
      if (fullWidthLetters) s = s.replace(/[A-Za-z@.]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0x20 + 0xff00));
      const before = classifier.classifyText(t).class;
      const after = classifier.classifyText(s).class;
      assert.ok(rank(after) >= rank(before), `${JSON.stringify(t)} ${before} → ${JSON.stringify(s)} ${after}`);
    }),
    { numRuns: 1500 },
  );
});

test('offsets always refer to the text as sent, also after normalisation', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fragment, fc.constantFrom('\u200b', '٤', '＠', '%40', ' [at] ', 'é', 'ß', 'am9obkBleGFtcGxlLmNvbQ==')), { maxLength: 12 }).map((p) => p.join('')), (t) => {
      for (const d of classifier.classifyText(t).detections) {
        assert.ok(d.start >= 0 && d.start < d.end && d.end <= t.length, `${d.type} ${d.start}..${d.end} outside ${t.length}`);
      }
    }),
    { numRuns: 1500 },
  );
});

test('a request split into more messages is never classified lower than one message of the same text', () => {
  fc.assert(
    fc.property(plain, fc.nat(), (t, at) => {
      const k = t.length === 0 ? 0 : at % (t.length + 1);
      const one = classifier.classifyRequest({ messages: [{ role: 'user', content: t }] }).class;
      const two = classifier.classifyRequest({ messages: [{ role: 'user', content: t.slice(0, k) }, { role: 'user', content: t.slice(k) }] }).class;
      assert.ok(rank(two) >= rank(one) || k === 0 || k === t.length, `${JSON.stringify(t)} split at ${k}: ${one} → ${two}`);
    }),
    { numRuns: 1500 },
  );
});

// Overlap resolution reuses its index lists from call to call (src/classify/overlaps.ts): what a
// call finds must not depend on what the call before it found, including one with many more
// detections (the lists grow) or with special categories (the merge list).
test('a classification does not depend on the one before it', () => {
  const many = Array.from({ length: 200 }, (_, i) => `jane${i}@example.com diabetes 4111 1111 1111 1111`).join(' ');
  fc.assert(
    fc.property(text, fc.oneof(text, fc.constant(many)), (t, before) => {
      const alone = classifier.classifyText(t);
      classifier.classifyText(before);
      assert.deepEqual(classifier.classifyText(t), alone);
      const req = { messages: [{ role: 'system', content: before.slice(0, 300) }, { role: 'user', content: t }] };
      const first = classifier.classifyRequest(req);
      classifier.classifyText(many);
      assert.deepEqual(classifier.classifyRequest(req), first);
    }),
    { numRuns: 1000 },
  );
});
