// classify: payload → data class (public < internal < personal < special) plus the personal-data
// types found, with offsets and counts but never the values. Everything that can be compiled
// (lexicon trie, operator patterns) is compiled in createClassifier; classification normalises the
// text (normalize.ts) and makes one linear pass over it (scanner.ts).

import { RE2JS } from 're2js';
import { CUSTOM_TYPE_NAME } from '../common/index.ts';
import { assertionContext } from './assertion.ts';
import { extractSegments } from './extract.ts';
import { K_UNINSPECTABLE, isSpecialKind, kindType } from './kinds.ts';
import { needsNormalizing, normalize, originSpan, type Normalized } from './normalize.ts';
import { resolveOverlaps, type RawDetections } from './overlaps.ts';
import { DEFAULT_PHONE_REGIONS } from './phone.ts';
import { Scanner } from './scanner.ts';
import { uninspectable } from './uninspectable.ts';
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
export { DEFAULT_PHONE_REGIONS } from './phone.ts';
export { evaluateLabelled, formatEvaluation, parseLabelledJsonl, type Evaluation, type LabelledExample } from './evaluate.ts';

/** An operator-defined detector. `pattern` uses RE2 syntax and runs on a linear-time engine. */
export interface CustomPattern {
  type: string;
  pattern: string;
  class: 'personal' | 'special';
}

/** What content that cannot be inspected (an image or audio data URL, a file) makes a request. */
export type UninspectableClass = 'public' | 'personal' | 'special';

export interface UninspectableRule {
  /** Class for every tenant without its own entry; default `personal`. */
  default?: UninspectableClass;
  /** Per-tenant class, by tenant name. */
  tenants?: Record<string, UninspectableClass>;
}

export interface ClassifierOptions {
  customPatterns?: CustomPattern[];
  /**
   * Regions (ISO 3166-1 alpha-2) whose numbering plans validate phone numbers written without a
   * country code; default DEFAULT_PHONE_REGIONS.
   */
  phoneRegions?: readonly string[];
  uninspectable?: UninspectableRule;
}

export interface Classifier {
  classifyText(text: string): Classification;
  /**
   * Classifies the segments of an inference request (the strings its model reads, as
   * `requestSegments` of src/common yields them), or a request body whose segments are
   * extracted first. Offsets in detections refer to the segments joined by "\n". A value split
   * across two segments (messages, parts) is found too. `tenant` selects the tenant's
   * uninspectable rule.
   */
  classifyRequest(segmentsOrBody: unknown, declared?: DataClass, tenant?: string): Classification;
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

function compilePatterns(patterns: readonly CustomPattern[] | undefined): CompiledPattern[] {
  if (patterns === undefined) return [];
  if (!Array.isArray(patterns)) throw new ClassifyConfigError('classify: customPatterns must be an array');
  const builtIn = new Set<string>(DETECTION_TYPES);
  return patterns.map((p, i) => {
    const where = `custom pattern #${i}${isRecord(p) && typeof p.type === 'string' ? ` (type "${p.type}")` : ''}`;
    if (!isRecord(p)) throw new ClassifyConfigError(`classify: ${where} must be an object {type, pattern, class}`);
    if (typeof p.type !== 'string' || !CUSTOM_TYPE_NAME.test(p.type)) {
      throw new ClassifyConfigError(`classify: ${where}: type must match ${CUSTOM_TYPE_NAME.source} (e.g. "EMPLOYEE_ID")`);
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

const ALNUM = /[\p{L}\p{N}]/u;

function isAlnumAt(s: string, i: number): boolean {
  return ALNUM.test(s[i] ?? '');
}

/** Characters of each side of a junction between two segments scanned together. */
const JUNCTION = 48;

class DefaultClassifier implements Classifier {
  private readonly scanner: Scanner;
  private readonly patterns: CompiledPattern[];
  private readonly uninspectable: Required<UninspectableRule>;

  constructor(opts: ClassifierOptions | undefined) {
    this.patterns = compilePatterns(opts?.customPatterns);
    const regions = opts?.phoneRegions ?? DEFAULT_PHONE_REGIONS;
    for (const r of regions) {
      if (typeof r !== 'string' || !/^[A-Z]{2}$/.test(r)) throw new ClassifyConfigError(`classify: phone region ${JSON.stringify(r)} is not an ISO 3166-1 alpha-2 code such as "DE"`);
    }
    this.scanner = new Scanner(regions);
    this.uninspectable = { default: opts?.uninspectable?.default ?? 'personal', tenants: opts?.uninspectable?.tenants ?? {} };
  }

  classifyText(text: string): Classification {
    return this.classify(typeof text === 'string' ? text : '', this.uninspectable.default);
  }

  private classify(text: string, uninspectableClass: UninspectableClass): Classification {
    // Most text is plain ASCII: scan it as it is, and normalise only when it has something to
    // normalise (non-ASCII, %XX, [at]) or the scan saw a word that may be base64.
    let nz: Normalized = { text };
    let raw: RawDetections;
    if (needsNormalizing(text)) {
      nz = normalize(text);
      raw = this.scanner.scan(nz.text);
    } else {
      raw = this.scanner.scan(text);
      if (this.scanner.sawEncoded) {
        nz = normalize(text);
        if (nz.startOf !== undefined && nz.text.length !== text.length) raw = this.scanner.scan(nz.text);
        else nz = { text };
      }
    }
    uninspectable(text, raw as Scanner);
    const resolved = resolveOverlaps(raw);
    let cls: DataClass = 'public';
    // push, not new Array(length): a preallocated array past ~100k elements is a slow dictionary
    const detections: Detection[] = [];
    const counts: Record<string, number> = {};
    for (let k = 0; k < resolved.length; k++) {
      const d = resolved[k] ?? 0;
      const kind = raw.kinds[d] ?? 0;
      const type = kindType(kind);
      let start = raw.starts[d] ?? 0;
      let end = raw.ends[d] ?? 0;
      if (kind === K_UNINSPECTABLE) {
        // found on the original text (a data URL is never normalised); its class is the rule's
        if (uninspectableClass === 'public') continue;
        cls = maxClass(cls, uninspectableClass);
      } else {
        [start, end] = originSpan(nz, start, end);
        if (isSpecialKind(kind)) cls = 'special';
        else if (cls !== 'special') cls = 'personal';
      }
      const context = isSpecialKind(kind) ? assertionContext(text, start) : undefined;
      detections.push(context === undefined ? { type, start, end } : { type, start, end, context });
      counts[type] = (counts[type] ?? 0) + 1;
    }
    if (this.patterns.length > 0 && text.length > 0) {
      const added = this.customPatterns(nz, detections, counts);
      if (added !== undefined) cls = maxClass(cls, added);
    }
    if (nz.startOf !== undefined) detections.sort((a, b) => a.start - b.start || a.end - b.end);
    return { class: cls, detections, counts };
  }

  /** Runs the operator's patterns on the normalised text; returns the class they imply, if any matched. */
  private customPatterns(nz: Normalized, detections: Detection[], counts: Record<string, number>): DataClass | undefined {
    let cls: DataClass | undefined;
    for (const p of this.patterns) {
      const m = p.re.matcher(nz.text);
      while (m.find()) {
        const s = m.start();
        const e = m.end();
        if (e <= s) continue;
        const [start, end] = originSpan(nz, s, e);
        detections.push({ type: p.type, start, end });
        counts[p.type] = (counts[p.type] ?? 0) + 1;
        cls = maxClass(cls ?? 'personal', p.special ? 'special' : 'personal');
      }
    }
    if (cls !== undefined) detections.sort((a, b) => a.start - b.start || a.end - b.end);
    return cls;
  }

  classifyRequest(segmentsOrBody: unknown, declared?: DataClass, tenant?: string): Classification {
    const rule = (typeof tenant === 'string' && Object.hasOwn(this.uninspectable.tenants, tenant) ? this.uninspectable.tenants[tenant] : undefined) ?? this.uninspectable.default;
    const segments = isSegments(segmentsOrBody) ? segmentsOrBody : extractSegments(segmentsOrBody);
    const text = segments.length === 1 ? (segments[0] ?? '') : segments.join('\n');
    const result = this.classify(text, rule);
    if (segments.length > 1) this.junctions(segments, result, rule);
    const floor = typeof declared === 'string' ? parseDataClass(declared) : undefined;
    if (floor !== undefined) result.class = maxClass(result.class, floor);
    return result;
  }

  /**
   * PII split across segments ("my card is 4111 1111" / "1111 1111"): the end of each segment and
   * the start of the next are scanned together, joined by a space, and what crosses the junction
   * is added. Each window is bounded, so this stays linear in the request.
   */
  private junctions(segments: readonly string[], result: Classification, rule: UninspectableClass): void {
    let offset = 0;
    for (let k = 0; k + 1 < segments.length; k++) {
      const a = segments[k] ?? '';
      const b = segments[k + 1] ?? '';
      const junction = offset + a.length; // index of the "\n" between a and b
      offset = junction + 1;
      if (a.length === 0 || b.length === 0) continue;
      // whole words only: a window cut inside a value would see a shorter, different value
      let from = Math.max(0, a.length - JUNCTION);
      while (from > 0 && from < a.length && isAlnumAt(a, from - 1) && isAlnumAt(a, from)) from++;
      let to = Math.min(b.length, JUNCTION);
      while (to > 0 && to < b.length && isAlnumAt(b, to - 1) && isAlnumAt(b, to)) to--;
      if (to === 0) to = Math.min(b.length, JUNCTION);
      const left = a.slice(from);
      const right = b.slice(0, to);
      if (left.length === 0 || right.length === 0) continue;
      // joined by a space (digit groups: "4111 1111" / "1111 1111") and directly ("jane.doe" / "@example.com");
      // what the window finds inside one part alone is found by the main scan already
      for (const gap of [1, 0]) {
        const r = this.classify(gap === 1 ? `${left} ${right}` : left + right, rule);
        this.addCrossing(r, left.length, gap, junction, result);
      }
    }
    result.detections.sort((x, y) => x.start - y.start || x.end - y.end);
  }

  /**
   * Adds the detections of a junction window not found already: values that cross the junction,
   * and values whose context is on the other side ("my name" / "is Dan").
   */
  private addCrossing(r: Classification, leftLength: number, gap: number, junction: number, result: Classification): void {
    // in the joined text the right part starts after the "\n" (one code unit), as with a gap of 1
    const at = (p: number): number => junction - leftLength + p + (p >= leftLength + gap ? 1 - gap : 0);
    for (const d of r.detections) {
      const start = at(d.start);
      const end = d.end > leftLength ? at(d.end - 1) + 1 : at(d.end);
      if (result.detections.some((x) => x.type === d.type && x.start < end && start < x.end)) continue;
      result.detections.push({ type: d.type, start, end });
      result.counts[d.type] = (result.counts[d.type] ?? 0) + 1;
      const special = SPECIAL_CATEGORIES.has(d.type as DetectionType) || this.patterns.some((p) => p.type === d.type && p.special);
      result.class = maxClass(result.class, special ? 'special' : d.type === 'UNINSPECTABLE' ? r.class : 'personal');
    }
  }
}

/** Builds a classifier; throws ClassifyConfigError naming the first invalid custom pattern. */
export function createClassifier(opts?: ClassifierOptions): Classifier {
  return new DefaultClassifier(opts);
}
