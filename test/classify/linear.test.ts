// Cost must be linear in payload size. Wall-clock ratios cannot prove that on a shared machine
// (and let n^1.6 pass), so the classifier's work is counted: main-loop steps, characters the
// detectors read and the characters of every bounded window handed to a regular expression or to
// libphonenumber-js (classify/chars.ts `work`). For each adversarial pattern, 16x the input must
// cost at most 16x the work (+5%), and no input may cost more than a fixed number of reads per
// character. A quadratic detector would show ~256x.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClassifier } from '../../src/classify/index.ts';
import { work } from '../../src/classify/chars.ts';

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
  parenGroups: '(12) ',
  capitalised: 'Dr Aa ',
  names: 'John ',
  fakerNames: 'Sigrid Nyström ',
  nameCue: 'Name: Aa ',
  lexiconPrefix: 'diabe ',
  phrasePrefix: 'trade ',
  letters: 'a',
  upperDigits: 'GB82 ',
  lowerIban: 'de89 ',
  ninoish: 'AB 12 ',
  reDoS: 'a',
  mixed: 'Mr. x@y.z 4111-1111 ',
  arabicDigits: '٤١ ',
  fullWidth: '４１１１ ',
  zeroWidth: '4\u200b',
  percent: '%41',
  percentAt: 'a%40',
  atToken: 'a [at] ',
  base64ish: 'QUJDREVGR0hJSktMTU5PUA',
  base64Runs: 'am9obkBleGFtcGxlLmNvbQ== ',
  dataUrl: 'data:image/png;base64,',
  dob: 'born ',
  dobDates: 'born 12.03.19',
  passport: 'passport ',
  street: '12 rue de ',
  streetAfter: 'Aa Street ',
  compoundStreet: 'Musterstrasse 1',
  arabic: 'مرض ',
  arabicNames: 'محمد ',
  han: '糖尿',
  hanCue: '我叫王',
  phoneCue: 'tel 030 1',
  extension: '030 1234567 ext ',
  ids: 'T22000129 ',
};

function cost(text: string): number {
  const before = work.reads;
  classifier.classifyText(text);
  return work.reads - before;
}

for (const [name, unit] of Object.entries(ADVERSARIAL)) {
  test(`linear work on adversarial input: ${name}`, () => {
    const small = unit.repeat(Math.ceil(65536 / unit.length)).slice(0, 65536);
    const big = unit.repeat(Math.ceil(1048576 / unit.length)).slice(0, 1048576);
    const ws = cost(small);
    const wb = cost(big);
    assert.ok(ws > 0, `${name}: no work counted`);
    assert.ok(wb <= 16 * 1.05 * ws, `${name}: 16x input cost ${(wb / ws).toFixed(2)}x the work (${ws} → ${wb})`);
    assert.ok(wb / big.length <= 200, `${name}: ${(wb / big.length).toFixed(1)} reads per character`);
  });
}

test('the work counter counts: a detector that reread the text would show', () => {
  const text = 'Call +44 20 7946 0958 or mail jane@example.com. '.repeat(100);
  const once = cost(text);
  const twice = cost(text + text);
  assert.ok(twice > 1.9 * once && twice < 2.1 * once, `${once} → ${twice}`);
  assert.ok(once >= text.length, 'every character is at least visited once');
});

test('a 1 MiB adversarial input with a custom RE2 pattern finishes', () => {
  const t0 = performance.now();
  classifier.classifyText('a'.repeat(1 << 20));
  assert.ok(performance.now() - t0 < 20_000);
});
