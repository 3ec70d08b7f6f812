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
        assert.deepEqual(Object.keys(d).sort(), ['end', 'start', 'type']);
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
