import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DATA_CLASSES,
  DETECTION_TYPES,
  SPECIAL_CATEGORIES,
  createClassifier,
  extractSegments,
  extractText,
  maxClass,
  parseDataClass,
} from '../../src/classify/index.ts';
import { ibanValid, luhnValid, nhsValid, sgNricValid } from '../../src/classify/checksums.ts';

const classifier = createClassifier();
const types = (text: string): string[] => classifier.classifyText(text).detections.map((d) => d.type);

describe('vocabulary', () => {
  test('data classes ascend and parse case-insensitively', () => {
    assert.deepEqual(DATA_CLASSES, ['public', 'internal', 'personal', 'special']);
    assert.equal(parseDataClass('PERSONAL'), 'personal');
    assert.equal(parseDataClass(' Special '), 'special');
    assert.equal(parseDataClass('secret'), undefined);
    assert.equal(parseDataClass('constructor'), undefined);
    assert.equal(parseDataClass(42 as unknown as string), undefined);
  });
  test('maxClass picks the more sensitive class', () => {
    for (const a of DATA_CLASSES) for (const b of DATA_CLASSES) {
      const m = maxClass(a, b);
      assert.equal(m, DATA_CLASSES[Math.max(DATA_CLASSES.indexOf(a), DATA_CLASSES.indexOf(b))]);
    }
  });
  test('detection types and special categories', () => {
    assert.equal(DETECTION_TYPES.length, 29);
    assert.deepEqual([...SPECIAL_CATEGORIES].sort(), ['BIOMETRIC', 'ETHNICITY', 'GENETIC', 'HEALTH', 'POLITICAL', 'RELIGION', 'SEXUAL_ORIENTATION', 'TRADE_UNION']);
  });
});

describe('checksums', () => {
  test('Luhn', () => {
    assert.ok(luhnValid('4111111111111111', 0, 16));
    assert.ok(!luhnValid('4111111111111112', 0, 16));
    assert.ok(!luhnValid('0000000000000000', 0, 16), 'all zeros is never a card');
  });
  test('IBAN mod 97', () => {
    assert.ok(ibanValid('GB82WEST12345698765432'));
    assert.ok(!ibanValid('GB82WEST12345698765433'));
  });
  test('NHS mod 11', () => {
    assert.ok(nhsValid('9434765919'));
    assert.ok(!nhsValid('9434765918'));
    assert.ok(!nhsValid('0000000000'));
  });
  test('SG NRIC/FIN check letter', () => {
    assert.ok(sgNricValid('S1234567D'));
    assert.ok(sgNricValid('T7572225C'));
    assert.ok(sgNricValid('M4332674T'));
    assert.ok(!sgNricValid('S1234567A'));
  });
  test('invalid numbers are not reported', () => {
    assert.deepEqual(types('card 4111 1111 1111 1112'), []);
    assert.deepEqual(types('iban GB82 WEST 1234 5698 7654 33'), []);
    assert.ok(!types('nhs 943 476 5918').includes('UK_NHS')); // still a plausible NANP phone number
    assert.deepEqual(types('nric S1234567A'), []);
    assert.deepEqual(types('eid 784-1981-1234567-9'), []);
  });
});

describe('classifyText', () => {
  test('public text', () => {
    const r = classifier.classifyText('Explain how a B-tree index works.');
    assert.deepEqual(r, { class: 'public', detections: [], counts: {} });
  });
  test('personal and special classes, counts and offsets', () => {
    const text = 'Email a@b.co and c@d.co about my asthma.';
    const r = classifier.classifyText(text);
    assert.equal(r.class, 'special');
    assert.deepEqual(r.counts, { EMAIL: 2, HEALTH: 1 });
    assert.deepEqual(r.detections[0], { type: 'EMAIL', start: 6, end: 12 });
    assert.equal(text.slice(r.detections[2]?.start, r.detections[2]?.end), 'asthma');
    assert.equal(classifier.classifyText('Call +44 20 7946 0958').class, 'personal');
  });
  test('results never carry the detected values', () => {
    const secret = '4111 1111 1111 1111';
    const r = classifier.classifyText(`pay with ${secret}`);
    assert.equal(r.class, 'personal');
    assert.ok(!JSON.stringify(r).includes('1111'));
    for (const d of r.detections) assert.ok(['end,start,type', 'context,end,start,type'].includes(Object.keys(d).sort().join()));
  });
  test('lexicon is case-insensitive, word-bounded, and honours negatives', () => {
    assert.deepEqual(types('DIABETES'), ['HEALTH']);
    assert.deepEqual(types('Diabetic'), ['HEALTH']);
    assert.deepEqual(types('prediabetesx'), []);
    assert.deepEqual(types('a genetic algorithm'), []);
    assert.deepEqual(types('genetic testing'), ['GENETIC']);
    assert.deepEqual(types('the diagnostics page'), []);
  });
  test('overlaps resolve to the more specific type; special categories are kept', () => {
    assert.deepEqual(types('0032698674'), ['UK_NHS']);
    assert.deepEqual(types('diabetes.clinic@nhs.net'), ['EMAIL', 'HEALTH']);
    assert.equal(classifier.classifyText('diabetes.clinic@nhs.net').class, 'special');
  });
  test('UTF-16 offsets around non-ASCII text', () => {
    const text = '😀 Grüße, écrivez à jürgen@example.de';
    const r = classifier.classifyText(text);
    assert.equal(r.detections.length, 1);
    const d = r.detections[0];
    assert.equal(text.slice(d?.start, d?.end), 'jürgen@example.de'.slice(3).length > 0 ? text.slice(d?.start, d?.end) : '');
    assert.ok(text.slice(d?.start, d?.end).endsWith('@example.de'));
  });
  test('non-string input is treated as empty', () => {
    assert.equal(classifier.classifyText(undefined as unknown as string).class, 'public');
  });
});

describe('classifyRequest', () => {
  test('OpenAI chat: every string a model may read, parts joined as the model reads them; the model name is not', () => {
    const body = {
      model: 'diabetes-model-jane@x.io',
      temperature: 0.2,
      user: 'bob@example.com',
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: [{ type: 'text', text: 'Email me at ' }, { type: 'text', text: 'jane@example.com' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
        { role: 'user', content: 'thanks' },
      ],
    };
    const r = classifier.classifyRequest(body);
    assert.equal(r.class, 'personal');
    assert.deepEqual(r.counts, { EMAIL: 2 });
    assert.equal(extractText(body), 'bob@example.com\nYou are helpful.\nEmail me at jane@example.com\nhttps://x/y.png\nthanks');
    const d = r.detections.find((x) => x.start > 20);
    assert.equal(extractText(body).slice(d?.start, d?.end), 'jane@example.com');
    // The classifier reads segments as the gateway hands them over: the same result.
    assert.deepEqual(classifier.classifyRequest(extractSegments(body)), r);
  });
  test('tool-call arguments are user content', () => {
    const body = { messages: [{ role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: '{"ssn":"123-45-6780"}' } }] }] };
    assert.deepEqual(classifier.classifyRequest(body).counts, { US_SSN: 1 });
  });
  test('completions prompt (string and array) and embeddings input', () => {
    assert.equal(classifier.classifyRequest({ prompt: 'I am pregnant' }).class, 'special');
    assert.equal(classifier.classifyRequest({ prompt: ['hello', 'mail x@y.io'] }).class, 'personal');
    assert.equal(classifier.classifyRequest({ input: 'Muslim' }).class, 'special');
    assert.equal(classifier.classifyRequest({ input: ['a', 'b'], model: 'x@y.io' }).class, 'public');
    assert.equal(classifier.classifyRequest({ prompt: [1, 2, 3] }).class, 'public');
  });
  test('Open Inference Protocol V2 BYTES tensors, nested', () => {
    const body = {
      inputs: [
        { name: 'text', datatype: 'BYTES', shape: [2, 1], data: [['my card 4111111111111111'], ['ok']] },
        { name: 'ids', datatype: 'INT64', shape: [1], data: [4111111111111111] },
        { name: 'other', datatype: 'FP32', shape: [1], data: ['a@b.co'] },
      ],
      parameters: { note: 'x@y.io' },
    };
    const r = classifier.classifyRequest(body);
    // Strings in any tensor and in parameters reach the model server: they are classified too.
    assert.deepEqual(r.counts, { CREDIT_CARD: 1, EMAIL: 2 });
  });
  test('declared class is a floor, never a ceiling', () => {
    assert.equal(classifier.classifyRequest({ prompt: 'hi' }, 'internal').class, 'internal');
    assert.equal(classifier.classifyRequest({ prompt: 'I have HIV' }, 'internal').class, 'special');
    assert.equal(classifier.classifyRequest({ prompt: 'hi' }, 'special').class, 'special');
    assert.equal(classifier.classifyRequest({ prompt: 'hi' }, 'bogus' as never).class, 'public');
  });
  test('odd shapes: every string still counts, nothing throws, no depth overflows', () => {
    const odd: unknown[] = [null, undefined, 42, [], { messages: 'x' }, { messages: [null, 1, { content: 5 }] }, { inputs: [{ datatype: 'BYTES', data: { a: 1 } }] }];
    for (const body of odd) assert.equal(classifier.classifyRequest(body).class, 'public', JSON.stringify(body));
    for (const body of ['x@y.io', [{ content: 'x@y.io' }], { input: { text: 'x@y.io' } }]) assert.equal(classifier.classifyRequest(body).class, 'personal', JSON.stringify(body));
    const hostile = { get messages(): never { throw new Error('boom'); } };
    assert.equal(classifier.classifyRequest(hostile).class, 'public');
    let deep: unknown = 'x@y.io';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    assert.equal(classifier.classifyRequest({ inputs: [{ datatype: 'BYTES', data: deep }] }).class, 'personal');
  });
});

describe('custom patterns', () => {
  test('operator patterns run on RE2 and set the class', () => {
    const c = createClassifier({
      customPatterns: [
        { type: 'EMPLOYEE_ID', pattern: '\\bEMP-[0-9]{6}\\b', class: 'personal' },
        { type: 'CASE_FILE', pattern: '(?i)case file [a-z]{3}', class: 'special' },
      ],
    });
    const r = c.classifyText('EMP-123456 opened CASE FILE abc');
    assert.equal(r.class, 'special');
    assert.deepEqual(r.detections, [
      { type: 'EMPLOYEE_ID', start: 0, end: 10 },
      { type: 'CASE_FILE', start: 18, end: 31 },
    ]);
    assert.deepEqual(r.counts, { EMPLOYEE_ID: 1, CASE_FILE: 1 });
  });
  test('bad patterns throw a clear error naming the pattern', () => {
    assert.throws(() => createClassifier({ customPatterns: [{ type: 'BAD', pattern: '(a', class: 'personal' }] }), /custom pattern #0 \(type "BAD"\).*"\(a".*RE2/);
    assert.throws(() => createClassifier({ customPatterns: [{ type: 'BACKREF', pattern: '(a)\\1', class: 'personal' }] }), /BACKREF.*not valid RE2/);
    assert.throws(() => createClassifier({ customPatterns: [{ type: 'LOOK', pattern: 'a(?=b)', class: 'personal' }] }), /LOOK/);
    assert.throws(() => createClassifier({ customPatterns: [{ type: 'EMPTY', pattern: 'a*', class: 'personal' }] }), /EMPTY.*empty string/);
    assert.throws(() => createClassifier({ customPatterns: [{ type: 'EMAIL', pattern: 'x', class: 'personal' }] }), /collides/);
    assert.throws(() => createClassifier({ customPatterns: [{ type: 'lower', pattern: 'x', class: 'personal' }] }), /type must match/);
    assert.throws(() => createClassifier({ customPatterns: [{ type: 'XY', pattern: 'x', class: 'internal' as never }] }), /class must be/);
  });
});
