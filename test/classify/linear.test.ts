// Cost must be linear in payload size: adversarial inputs at 1 MiB must take about 16x the time
// of the same pattern at 64 KiB (we allow 100x for noise on shared machines, best of five runs; quadratic cost would show ~256x), and finish within a generous bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClassifier } from '../../src/classify/index.ts';

const classifier = createClassifier({ customPatterns: [{ type: 'OP', pattern: '(a+)+b', class: 'personal' }] });

const ADVERSARIAL: Record<string, string> = {
  digitsSpaced: '1 ',
  digitsDashed: '1-',
  longDigits: '4',
  dotted: '1.',
  atSigns: 'a@',
  localParts: 'a.',
  domains: 'x@a.',
  hexColons: 'a:',
  doubleColons: '::1',
  plusDigits: '+1 ',
  parens: '(1',
  capitalised: 'Dr Aa ',
  names: 'John ',
  lexiconPrefix: 'diabe ',
  phrasePrefix: 'trade ',
  letters: 'a',
  upperDigits: 'GB82 ',
  ninoish: 'AB 12 ',
  reDoS: 'a',
  mixed: 'Mr. x@y.z 4111-1111 ',
};

function time(text: string): number {
  const runs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    classifier.classifyText(text);
    runs.push(performance.now() - t0);
  }
  return Math.min(...runs);
}

for (const [name, unit] of Object.entries(ADVERSARIAL)) {
  test(`linear time on adversarial input: ${name}`, () => {
    const small = unit.repeat(Math.ceil(65536 / unit.length)).slice(0, 65536);
    const big = unit.repeat(Math.ceil(1048576 / unit.length)).slice(0, 1048576);
    time(small); // warm up
    const ts = Math.max(time(small), 0.05);
    const tb = time(big);
    assert.ok(tb < 5000, `${name}: 1 MiB took ${tb.toFixed(1)} ms`);
    assert.ok(tb / ts < 100, `${name}: 16x input took ${(tb / ts).toFixed(1)}x time (${ts.toFixed(2)} ms → ${tb.toFixed(2)} ms)`);
  });
}
