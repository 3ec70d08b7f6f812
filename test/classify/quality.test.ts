// Per-type precision and recall on labelled cases written by others (Presidio's recognizer tests)
// and on Sovereign's own cases. Target: >= 0.95 for every type.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync, readdirSync } from 'node:fs';
import { DETECTION_TYPES, createClassifier, evaluateLabelled, formatEvaluation, parseLabelledJsonl } from '../../src/classify/index.ts';
import { evaluate, table } from './evaluate.ts';
import { PRESIDIO_CASES } from './fixtures/presidio.ts';
import { SOVEREIGN_CASES } from './fixtures/sovereign.ts';

const TARGET = 0.95;
const classifier = createClassifier();

function assertTarget(name: string, cases: Parameters<typeof evaluate>[1]): Map<string, { precision: number; recall: number }> {
  const { scores, failures } = evaluate(classifier, cases);
  const report = `${name}\n${table(scores)}\n${failures.map((f) => `${f.kind} ${f.type} ${JSON.stringify(f.span)} in ${JSON.stringify(f.text)}`).join('\n')}`;
  for (const [type, s] of scores) {
    assert.ok(s.precision >= TARGET, `${type} precision ${s.precision.toFixed(3)} < ${TARGET}\n${report}`);
    assert.ok(s.recall >= TARGET, `${type} recall ${s.recall.toFixed(3)} < ${TARGET}\n${report}`);
  }
  return scores;
}

test('Presidio recognizer cases: per-type precision and recall >= 0.95', (t) => {
  const scores = assertTarget('presidio', PRESIDIO_CASES.filter((c) => c.weak !== true));
  t.diagnostic(table(evaluate(classifier, PRESIDIO_CASES.filter((c) => c.weak !== true)).scores));
  for (const type of ['EMAIL', 'PHONE', 'CREDIT_CARD', 'IBAN', 'US_SSN', 'UK_NINO', 'UK_NHS', 'SG_NRIC_FIN', 'IP_ADDRESS', 'PERSON']) {
    assert.ok(scores.has(type), `no Presidio support for ${type}`);
  }
});

test('Sovereign cases: per-type precision and recall >= 0.95, every type has support', (t) => {
  const scores = assertTarget('sovereign', SOVEREIGN_CASES);
  t.diagnostic(table(scores as never));
  for (const type of DETECTION_TYPES) assert.ok(scores.has(type), `no labelled positives for ${type}`);
});

// The evaluation set (test/classify/eval/: Recognizers-Text phone specs and cases written after
// the detectors were frozen) is never tuned on. It is scored through the code path of
// `sovereign classify --eval`, and held only to a regression floor well below today's figures:
// the figures themselves are reported (README), not asserted.
const EVAL_FLOOR = 0.75;

test('evaluation set (not tuned on): per-type and per-language scores stay above the regression floor', (t) => {
  const dir = new URL('./eval/', import.meta.url);
  const examples = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).flatMap((f) => parseLabelledJsonl(readFileSync(new URL(f, dir), 'utf8'), f));
  assert.ok(examples.length >= 100, `only ${examples.length} examples`);
  const ev = evaluateLabelled(classifier, examples);
  t.diagnostic(formatEvaluation(ev, false));
  assert.ok(ev.byLang.size >= 7, `languages: ${[...ev.byLang.keys()].join(', ')}`);
  for (const [type, c] of ev.byType) {
    const p = c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp);
    const r = c.tp / Math.max(1, c.tp + c.fn);
    if (c.tp + c.fn >= 4) assert.ok(r >= EVAL_FLOOR, `${type} recall ${r.toFixed(3)} fell below ${EVAL_FLOOR}`);
    if (c.tp + c.fp >= 4) assert.ok(p >= EVAL_FLOOR, `${type} precision ${p.toFixed(3)} fell below ${EVAL_FLOOR}`);
  }
});

test('Presidio weak matches are reported separately, not hidden', (t) => {
  const weak = PRESIDIO_CASES.filter((c) => c.weak === true);
  assert.ok(weak.length > 0);
  const { failures } = evaluate(classifier, weak);
  t.diagnostic(`weak cases: ${weak.length}, missed spans: ${failures.filter((f) => f.kind === 'FN').length}`);
  // context keywords turn a bare nine-digit number into an SSN
  const r = classifier.classifyText('SSN 078051121');
  assert.deepEqual(r.detections.map((d) => d.type), ['US_SSN']);
});

test('Presidio offsets are reproduced exactly for the structured types', () => {
  const exact = evaluate(classifier, PRESIDIO_CASES.filter((c) => c.weak !== true)).scores;
  for (const [type, s] of exact) assert.equal(s.exact, s.tp, `${type}: ${s.tp - s.exact} spans overlap but differ`);
});
