// Scores a classifier against labelled cases: per-type precision and recall. A predicted span is
// a true positive when it has the expected type and overlaps an unmatched expected span.

import type { Classifier } from '../../src/classify/index.ts';
import type { LabelledCase } from './fixtures/labelled.ts';

export interface TypeScore {
  tp: number;
  fp: number;
  fn: number;
  exact: number;
  precision: number;
  recall: number;
}

export interface Failure {
  source: string;
  text: string;
  kind: 'FP' | 'FN';
  type: string;
  span: string;
}

export function locate(c: LabelledCase): { type: string; start: number; end: number }[] {
  const out: { type: string; start: number; end: number }[] = [];
  let from = 0;
  for (const [type, sub] of c.expect) {
    const start = c.text.indexOf(sub, from);
    if (start < 0) throw new Error(`fixture error: "${sub}" not found in "${c.text}" (${c.source})`);
    out.push({ type, start, end: start + sub.length });
    from = start + 1;
  }
  return out;
}

export function evaluate(classifier: Classifier, cases: readonly LabelledCase[]): { scores: Map<string, TypeScore>; failures: Failure[] } {
  const scores = new Map<string, TypeScore>();
  const failures: Failure[] = [];
  const score = (t: string): TypeScore => {
    let s = scores.get(t);
    if (s === undefined) {
      s = { tp: 0, fp: 0, fn: 0, exact: 0, precision: 1, recall: 1 };
      scores.set(t, s);
    }
    return s;
  };
  for (const c of cases) {
    const expected = locate(c);
    const scope = c.scope === undefined ? undefined : new Set(c.scope);
    const predicted = classifier.classifyText(c.text).detections.filter((d) => scope === undefined || scope.has(d.type));
    const used = new Set<number>();
    for (const p of predicted) {
      const k = expected.findIndex((e, i) => !used.has(i) && e.type === p.type && p.start < e.end && e.start < p.end);
      const s = score(p.type);
      if (k >= 0) {
        used.add(k);
        s.tp++;
        const e = expected[k];
        if (e !== undefined && e.start === p.start && e.end === p.end) s.exact++;
      } else {
        s.fp++;
        failures.push({ source: c.source, text: c.text, kind: 'FP', type: p.type, span: c.text.slice(p.start, p.end) });
      }
    }
    expected.forEach((e, i) => {
      if (used.has(i)) return;
      score(e.type).fn++;
      failures.push({ source: c.source, text: c.text, kind: 'FN', type: e.type, span: c.text.slice(e.start, e.end) });
    });
  }
  for (const s of scores.values()) {
    s.precision = s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp);
    s.recall = s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn);
  }
  return { scores, failures };
}

export function table(scores: Map<string, TypeScore>): string {
  const rows = [...scores.entries()].sort(([a], [b]) => a.localeCompare(b));
  return rows
    .map(([t, s]) => `${t.padEnd(20)} P=${s.precision.toFixed(3)} R=${s.recall.toFixed(3)} tp=${s.tp} fp=${s.fp} fn=${s.fn} exact=${s.exact}`)
    .join('\n');
}
