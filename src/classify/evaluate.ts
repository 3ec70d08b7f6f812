// Evaluation as a product feature: scores the classifier on an operator's labelled file (JSON
// Lines: {"text", "entities": [{"type","start","end"}], "lang"?}) and reports precision and
// recall per type, overall and per language.
//
// Matching is overlap-based: a predicted span is a true positive when it has the same type as
// a labelled span it overlaps (by at least one UTF-16 code unit) that no earlier prediction
// matched; otherwise it is a false positive. Labelled spans left unmatched are false negatives.
// Only types that occur among the file's labels are scored: a file that labels no PHONE says
// nothing about phone numbers, so predicted phone numbers are not counted against it.

import { z } from 'zod';
import type { Classifier } from './index.ts';

const EntitySchema = z.strictObject({
  type: z.string().min(1),
  start: z.number().int().nonnegative(),
  end: z.number().int().positive(),
});

const ExampleSchema = z.object({
  text: z.string(),
  entities: z.array(EntitySchema).default([]),
  lang: z.string().min(1).optional(),
});

export type LabelledExample = z.infer<typeof ExampleSchema>;

export interface TypeCounts {
  tp: number;
  fp: number;
  fn: number;
}

export interface Evaluation {
  examples: number;
  byType: Map<string, TypeCounts>;
  /** Per language (the `lang` field), per type; empty when no example has a language. */
  byLang: Map<string, Map<string, TypeCounts>>;
}

/** Parses JSON Lines; throws an error naming the line and the field when a line is not a labelled example. */
export function parseLabelledJsonl(source: string, name = 'input'): LabelledExample[] {
  const out: LabelledExample[] = [];
  const lines = source.split('\n');
  lines.forEach((line, k) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new Error(`${name}:${k + 1}: not JSON (${err instanceof Error ? err.message : String(err)}); expected one {"text", "entities": [{"type","start","end"}]} per line`);
    }
    const r = ExampleSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new Error(`${name}:${k + 1}: ${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}; expected {"text", "entities": [{"type","start","end"}], "lang"?}`);
    }
    for (const e of r.data.entities) {
      if (e.end <= e.start || e.end > r.data.text.length) {
        throw new Error(`${name}:${k + 1}: entity ${e.type} [${e.start}, ${e.end}) is outside the text (length ${r.data.text.length})`);
      }
    }
    out.push(r.data);
  });
  return out;
}

function counts(m: Map<string, TypeCounts>, type: string): TypeCounts {
  let c = m.get(type);
  if (c === undefined) {
    c = { tp: 0, fp: 0, fn: 0 };
    m.set(type, c);
  }
  return c;
}

/** Scores `classifier` on the examples (see the matching rule at the top of this file). */
export function evaluateLabelled(classifier: Classifier, examples: readonly LabelledExample[]): Evaluation {
  const scored = new Set<string>();
  for (const ex of examples) for (const e of ex.entities) scored.add(e.type);
  const byType = new Map<string, TypeCounts>();
  const byLang = new Map<string, Map<string, TypeCounts>>();
  for (const ex of examples) {
    let langMap: Map<string, TypeCounts> | undefined;
    if (ex.lang !== undefined) {
      langMap = byLang.get(ex.lang);
      if (langMap === undefined) {
        langMap = new Map();
        byLang.set(ex.lang, langMap);
      }
    }
    const bump = (type: string, field: keyof TypeCounts): void => {
      counts(byType, type)[field]++;
      if (langMap !== undefined) counts(langMap, type)[field]++;
    };
    const predicted = classifier.classifyText(ex.text).detections.filter((d) => scored.has(d.type));
    const used = new Set<number>();
    for (const p of predicted) {
      const k = ex.entities.findIndex((e, i) => !used.has(i) && e.type === p.type && p.start < e.end && e.start < p.end);
      if (k >= 0) {
        used.add(k);
        bump(p.type, 'tp');
      } else {
        bump(p.type, 'fp');
      }
    }
    ex.entities.forEach((e, i) => {
      if (!used.has(i)) bump(e.type, 'fn');
    });
  }
  return { examples: examples.length, byType, byLang };
}

export function precision(c: TypeCounts): number {
  return c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp);
}

export function recall(c: TypeCounts): number {
  return c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn);
}

function rows(m: Map<string, TypeCounts>, indent: string): string[] {
  return [...m.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, c]) => `${indent}${t.padEnd(20)} P=${precision(c).toFixed(3)} R=${recall(c).toFixed(3)}  tp=${c.tp} fp=${c.fp} fn=${c.fn}`);
}

/** A table: per type, then per language; or JSON with the same figures. */
export function formatEvaluation(ev: Evaluation, json: boolean): string {
  if (json) {
    const obj = (m: Map<string, TypeCounts>): Record<string, TypeCounts & { precision: number; recall: number }> =>
      Object.fromEntries([...m.entries()].map(([t, c]) => [t, { ...c, precision: precision(c), recall: recall(c) }]));
    return JSON.stringify({ examples: ev.examples, byType: obj(ev.byType), byLang: Object.fromEntries([...ev.byLang.entries()].map(([l, m]) => [l, obj(m)])) });
  }
  const lines = [`${ev.examples} examples; overlap matching, only labelled types scored`, 'per type:', ...rows(ev.byType, '  ')];
  for (const [lang, m] of [...ev.byLang.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`language ${lang}:`, ...rows(m, '  '));
  }
  return lines.join('\n');
}
