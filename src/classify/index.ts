// classify: payload → data class (public < internal < personal < special) plus the personal-data
// types found, with offsets and counts but never the values. Everything that can be compiled
// (lexicon trie, operator patterns) is compiled in createClassifier; classification is one linear
// pass over the text.

import { RE2JS } from 're2js';
import { extractSegments } from './extract.ts';
import { Scanner, isSpecialKind, kindType, resolveOverlaps } from './scanner.ts';
import {
  DATA_CLASSES,
  DETECTION_TYPES,
  SPECIAL_CATEGORIES,
  maxClass,
  parseDataClass,
  type Classification,
  type DataClass,
  type Detection,
  type DetectionType,
} from './types.ts';

export { DATA_CLASSES, DETECTION_TYPES, SPECIAL_CATEGORIES, maxClass, parseDataClass };
export type { Classification, DataClass, Detection, DetectionType };
export type { PersonalType, SpecialType } from './types.ts';
export { extractSegments, extractText } from './extract.ts';

/** An operator-defined detector. `pattern` uses RE2 syntax and runs on a linear-time engine. */
export interface CustomPattern {
  type: string;
  pattern: string;
  class: 'personal' | 'special';
}

export interface ClassifierOptions {
  customPatterns?: CustomPattern[];
}

export interface Classifier {
  classifyText(text: string): Classification;
  /**
   * Classifies the segments of an inference request (the strings its model reads, as
   * `requestSegments` of src/common yields them), or a request body whose segments are
   * extracted first. Offsets in detections refer to the segments joined by "\n".
   */
  classifyRequest(segmentsOrBody: unknown, declared?: DataClass): Classification;
}

export class ClassifyConfigError extends Error {
  readonly code = 'CLASSIFY_BAD_PATTERN';
  constructor(message: string) {
    super(message);
    this.name = 'ClassifyConfigError';
  }
}

interface CompiledPattern {
  type: string;
  special: boolean;
  re: RE2JS;
}

const TYPE_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

function compilePatterns(patterns: readonly CustomPattern[] | undefined): CompiledPattern[] {
  if (patterns === undefined) return [];
  if (!Array.isArray(patterns)) throw new ClassifyConfigError('classify: customPatterns must be an array');
  const builtIn = new Set<string>(DETECTION_TYPES);
  return patterns.map((p, i) => {
    const where = `custom pattern #${i}${isRecord(p) && typeof p.type === 'string' ? ` (type "${p.type}")` : ''}`;
    if (!isRecord(p)) throw new ClassifyConfigError(`classify: ${where} must be an object {type, pattern, class}`);
    if (typeof p.type !== 'string' || !TYPE_NAME.test(p.type)) {
      throw new ClassifyConfigError(`classify: ${where}: type must match ${TYPE_NAME.source} (e.g. "EMPLOYEE_ID")`);
    }
    if (builtIn.has(p.type)) {
      throw new ClassifyConfigError(`classify: ${where}: type collides with the built-in detector ${p.type}; pick another name`);
    }
    if (p.class !== 'personal' && p.class !== 'special') {
      throw new ClassifyConfigError(`classify: ${where}: class must be "personal" or "special", got ${JSON.stringify(p.class)}`);
    }
    if (typeof p.pattern !== 'string' || p.pattern.length === 0) {
      throw new ClassifyConfigError(`classify: ${where}: pattern must be a non-empty RE2 regular expression`);
    }
    let re: RE2JS;
    try {
      re = RE2JS.compile(p.pattern);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new ClassifyConfigError(
        `classify: ${where}: pattern ${JSON.stringify(p.pattern)} is not valid RE2 syntax (${msg}). ` +
          'RE2 has no backreferences or lookaround; see https://github.com/google/re2/wiki/Syntax',
      );
    }
    if (re.matches('')) {
      throw new ClassifyConfigError(`classify: ${where}: pattern ${JSON.stringify(p.pattern)} matches the empty string`);
    }
    return { type: p.type, special: p.class === 'special', re };
  });
}

function isSegments(v: unknown): v is readonly string[] {
  return Array.isArray(v) && (v as unknown[]).every((s) => typeof s === 'string');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

class DefaultClassifier implements Classifier {
  private readonly scanner = new Scanner();
  private readonly patterns: CompiledPattern[];

  constructor(opts: ClassifierOptions | undefined) {
    this.patterns = compilePatterns(opts?.customPatterns);
  }

  classifyText(text: string): Classification {
    if (typeof text !== 'string') text = '';
    const raw = this.scanner.scan(text);
    const resolved = resolveOverlaps(raw);
    let cls: DataClass = 'public';
    // push, not new Array(length): a preallocated array past ~100k elements is a slow dictionary
    const detections: Detection[] = [];
    const counts: Record<string, number> = {};
    for (let k = 0; k < resolved.length; k++) {
      const d = resolved[k] ?? 0;
      const kind = raw.kinds[d] ?? 0;
      const type = kindType(kind);
      detections.push({ type, start: raw.starts[d] ?? 0, end: raw.ends[d] ?? 0 });
      counts[type] = (counts[type] ?? 0) + 1;
      if (isSpecialKind(kind)) cls = 'special';
      else if (cls !== 'special') cls = 'personal';
    }
    if (this.patterns.length > 0 && text.length > 0) {
      let added = false;
      for (const p of this.patterns) {
        const m = p.re.matcher(text);
        while (m.find()) {
          const start = m.start();
          const end = m.end();
          if (end <= start) continue;
          detections.push({ type: p.type, start, end });
          counts[p.type] = (counts[p.type] ?? 0) + 1;
          cls = maxClass(cls, p.special ? 'special' : 'personal');
          added = true;
        }
      }
      if (added) detections.sort((a, b) => a.start - b.start || a.end - b.end);
    }
    return { class: cls, detections, counts };
  }

  classifyRequest(segmentsOrBody: unknown, declared?: DataClass): Classification {
    const segments = isSegments(segmentsOrBody) ? segmentsOrBody : extractSegments(segmentsOrBody);
    const result = this.classifyText(segments.length === 1 ? (segments[0] ?? '') : segments.join('\n'));
    const floor = typeof declared === 'string' ? parseDataClass(declared) : undefined;
    if (floor !== undefined) result.class = maxClass(result.class, floor);
    return result;
  }
}

/** Builds a classifier; throws ClassifyConfigError naming the first invalid custom pattern. */
export function createClassifier(opts?: ClassifierOptions): Classifier {
  return new DefaultClassifier(opts);
}
