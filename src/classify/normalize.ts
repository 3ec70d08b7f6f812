// Normalisation before scanning, so that a value written the way people (and evaders) write it is
// scanned in the form the detectors know. One left-to-right pass; every step reads a bounded
// number of characters ahead, so the cost stays linear in the input.
//
//  - Unicode compatibility decomposition (NFKD) per code point, then nonspacing marks removed:
//    full-width letters and digits, ligatures and presentation forms become their plain letters,
//    and accents are folded ("Müller" is scanned as "Muller", Arabic vowel marks disappear).
//    Hangul syllables are kept whole.
//  - Format and zero-width characters (Unicode Cf: ZWSP, ZWJ, soft hyphen, bidi controls, BOM),
//    variation selectors and the Arabic tatweel are removed.
//  - Decimal digits of every script (Unicode Nd: Arabic-Indic, Devanagari, full-width…) become
//    ASCII digits; every space separator becomes " " and every dash "-".
//  - Cyrillic and Greek letters that look like Latin ones (homoglyphs) become the Latin letter
//    when they touch an ASCII letter or digit, i.e. inside an identifier ("DE89 37О4…").
//  - ß, æ, œ, ø, ł, đ, þ are spelled out (ss, ae, oe, o, l, d, th).
//  - Percent-encoding (%40, %E2%80%8B…) is decoded; "[at]", "(at)", "{at}" and "[dot]", "(dot)"
//    between e-mail characters become "@" and ".".
//  - A run of 16 or more base64 characters that decodes to UTF-8 text has its decoded text
//    appended (after a line break) and scanned too; what is found there is reported on the run.
//
// Offsets: the scanner reads the normalised text; `originSpan` maps its spans back, so every
// reported offset refers to the text the caller passed in (UTF-16 code units).

import { Buffer } from 'node:buffer';
import { work } from './chars.ts';

export interface Normalized {
  /** The text the scanner reads. */
  readonly text: string;
  /** Maps a span of `text` to a span of the original; undefined when text is the original. */
  readonly startOf?: Int32Array;
  readonly endOf?: Int32Array;
}

const MIN_BASE64 = 16;
const MAX_BASE64 = 1 << 20;

const B64 = (() => {
  const t = new Uint8Array(128);
  for (let c = 65; c <= 90; c++) t[c] = 1;
  for (let c = 97; c <= 122; c++) t[c] = 1;
  for (let c = 48; c <= 57; c++) t[c] = 1;
  t[43] = 1; // +
  t[47] = 1; // /
  t[45] = 1; // - (URL-safe)
  t[95] = 1; // _ (URL-safe)
  t[61] = 2; // = padding, only at the end
  return t;
})();

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/**
 * Whether the text needs the slow path for anything but base64: a non-ASCII character, %XX or an
 * [at]-style token. One regular expression (irregexp compiles it to native code; each
 * alternative reads at most a few characters per position). Base64 runs are noticed by the
 * scanner instead (a long word mixing cases or digits), which costs nothing on prose.
 */
const NEEDS_WORK = /[^\x00-\x7f]|%[0-9A-Fa-f]{2}|[[({] ?(?:[Aa][Tt]|[Dd][Oo][Tt])/;

/** Whether normalize(text) would differ from text, base64 aside. */
export function needsNormalizing(text: string): boolean {
  return NEEDS_WORK.test(text);
}

// ---------------------------------------------------------------------------------------------
// Per-code-point folding, computed once per code point and cached.

const ND = /^\p{Nd}$/u;
const ZS = /^\p{Zs}$/u;
const PD = /^\p{Pd}$/u;
const DROP = /^[\p{Cf}\p{Mn}\p{Me}\u0640\u034f\ufe00-\ufe0f\u180b-\u180f]$/u;
const SPELLED: Readonly<Record<string, string>> = {
  ß: 'ss', ẞ: 'SS', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', ł: 'l', Ł: 'L', đ: 'd', Đ: 'D',
  þ: 'th', Þ: 'Th', ı: 'i', '\u2212': '-', '\u00a0': ' ', '\u066b': '.', '\u066c': ',',
};

/** Latin homoglyphs of Cyrillic and Greek letters. */
const HOMOGLYPHS: ReadonlyMap<number, number> = new Map(
  [
    ['А', 'A'], ['В', 'B'], ['Е', 'E'], ['К', 'K'], ['М', 'M'], ['Н', 'H'], ['О', 'O'], ['Р', 'P'], ['С', 'C'],
    ['Т', 'T'], ['Х', 'X'], ['У', 'Y'], ['І', 'I'], ['Ј', 'J'], ['Ѕ', 'S'], ['а', 'a'], ['е', 'e'], ['о', 'o'],
    ['р', 'p'], ['с', 'c'], ['х', 'x'], ['у', 'y'], ['і', 'i'], ['ј', 'j'], ['ѕ', 's'], ['Α', 'A'], ['Β', 'B'],
    ['Ε', 'E'], ['Ζ', 'Z'], ['Η', 'H'], ['Ι', 'I'], ['Κ', 'K'], ['Μ', 'M'], ['Ν', 'N'], ['Ο', 'O'], ['Ρ', 'P'],
    ['Τ', 'T'], ['Υ', 'Y'], ['Χ', 'X'], ['ο', 'o'], ['ν', 'v'],
  ].map(([a, b]) => [(a ?? '').charCodeAt(0), (b ?? '').charCodeAt(0)]),
);

const foldCache = new Map<number, string>();
/** BMP code point → its folding when that is one code unit (≥ 0), nothing (-2), or not yet known / longer (-1). */
const FOLD1 = new Int32Array(65536).fill(-1);

function foldChar(ch: string): string {
  const sp = SPELLED[ch];
  if (sp !== undefined) return sp;
  if (DROP.test(ch)) return '';
  if (ND.test(ch)) return String.fromCharCode(48 + digitValue(ch.codePointAt(0) ?? 0));
  if (ZS.test(ch)) return ' ';
  if (PD.test(ch)) return '-';
  return ch;
}

/** Nd code points come in contiguous runs of ten from a zero (UAX #44, Numeric_Type=Decimal). */
function digitValue(cp: number): number {
  let z = cp;
  while (z > 0 && ND.test(String.fromCodePoint(z - 1)) && cp - z < 60) z--;
  return (cp - z) % 10;
}

export function foldCodePoint(cp: number): string {
  const hit = foldCache.get(cp);
  if (hit !== undefined) return hit;
  let out: string;
  if (cp >= 0xac00 && cp <= 0xd7a3) out = String.fromCodePoint(cp); // Hangul syllables stay whole
  else {
    const base = String.fromCodePoint(cp);
    const spelled = SPELLED[base];
    if (spelled !== undefined) out = spelled;
    else if (DROP.test(base)) out = '';
    else {
      out = '';
      for (const part of base.normalize('NFKD')) out += foldChar(part);
    }
  }
  if (foldCache.size < 65536) foldCache.set(cp, out);
  if (cp < 65536) FOLD1[cp] = out.length === 1 ? out.charCodeAt(0) : out.length === 0 ? -2 : -1;
  return out;
}

// ---------------------------------------------------------------------------------------------

/** At i an "[at]" / "(at)" / "{at}" (→ 64) or "[dot]"-style token (→ 46), else 0. */
function atToken(text: string, i: number): number {
  const open = text.charCodeAt(i);
  const close = open === 91 ? 93 : open === 40 ? 41 : 125;
  let p = i + 1;
  while (text.charCodeAt(p) === 32 && p - i < 3) p++;
  const a = text.charCodeAt(p) | 0x20;
  let out = 0;
  if (a === 97 && (text.charCodeAt(p + 1) | 0x20) === 116) {
    out = 64;
    p += 2;
  } else if (a === 100 && (text.charCodeAt(p + 1) | 0x20) === 111 && (text.charCodeAt(p + 2) | 0x20) === 116) {
    out = 46;
    p += 3;
  } else return 0;
  while (text.charCodeAt(p) === 32 && p - i < 8) p++;
  return text.charCodeAt(p) === close ? out : 0;
}

function atTokenEnd(text: string, i: number): number {
  const open = text.charCodeAt(i);
  const close = open === 91 ? 93 : open === 40 ? 41 : 125;
  return text.indexOf(String.fromCharCode(close), i) + 1;
}

function isLocalChar(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c === 46 || c === 95 || c === 45 || c === 43;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 text a base64 run encodes, when it is printable text; else undefined. */
function decodeBase64Text(run: string): string | undefined {
  if (run.length > MAX_BASE64) return undefined;
  const body = run.replace(/=+$/, '');
  if (body.includes('=')) return undefined;
  if (body.length % 4 === 1) return undefined;
  // a plausible encoding mixes cases or digits; a long plain word does not
  let lower = false;
  let upper = false;
  let digit = false;
  for (let k = 0; k < body.length; k++) {
    const c = body.charCodeAt(k);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 48 && c <= 57) digit = true;
  }
  if (!(lower && (upper || digit))) return undefined;
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  } catch {
    return undefined;
  }
  if (decoded.length < 4) return undefined;
  let letters = 0;
  for (let k = 0; k < decoded.length; k++) {
    const c = decoded.charCodeAt(k);
    if (c < 32 && c !== 9 && c !== 10 && c !== 13) return undefined;
    if (c === 0xfffd) return undefined;
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 0xc0) letters++;
  }
  return letters * 3 >= decoded.length ? decoded : undefined;
}

class Builder {
  out: Uint16Array;
  starts: Int32Array;
  ends: Int32Array;
  n = 0;
  constructor(cap: number) {
    this.out = new Uint16Array(cap);
    this.starts = new Int32Array(cap);
    this.ends = new Int32Array(cap);
  }
  push(c: number, from: number, to: number): void {
    if (this.n === this.out.length) {
      const cap = 2 * this.out.length + 16;
      const o = new Uint16Array(cap);
      o.set(this.out);
      const s = new Int32Array(cap);
      s.set(this.starts);
      const e = new Int32Array(cap);
      e.set(this.ends);
      this.out = o;
      this.starts = s;
      this.ends = e;
    }
    this.out[this.n] = c;
    this.starts[this.n] = from;
    this.ends[this.n] = to;
    this.n++;
  }
  last(): number {
    return this.n > 0 ? (this.out[this.n - 1] ?? 0) : 0;
  }
}

/**
 * Normalises `text` into `b`. Characters are attributed to [from, to) of the original: their own
 * position, or `span` (a base64 run) for decoded text.
 */
function normalizeInto(text: string, b: Builder, span: [number, number] | undefined): void {
  const n = text.length;
  // characters of decoded text are all attributed to the run they came from
  const fixedFrom = span === undefined ? -1 : span[0];
  const fixedTo = span === undefined ? -1 : span[1];
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      if (c === 37 && hexVal(text.charCodeAt(i + 1)) >= 0 && hexVal(text.charCodeAt(i + 2)) >= 0) {
        // a run of %XX triplets: decode as UTF-8 bytes (invalid sequences are kept as written)
        const bytes: number[] = [];
        let p = i;
        while (text.charCodeAt(p) === 37 && hexVal(text.charCodeAt(p + 1)) >= 0 && hexVal(text.charCodeAt(p + 2)) >= 0 && bytes.length < 64) {
          bytes.push(hexVal(text.charCodeAt(p + 1)) * 16 + hexVal(text.charCodeAt(p + 2)));
          p += 3;
        }
        let s: string | undefined;
        try {
          s = utf8.decode(Uint8Array.from(bytes));
        } catch {
          s = undefined;
        }
        if (s !== undefined) {
          const f = fixedFrom < 0 ? i : fixedFrom;
          const t = fixedFrom < 0 ? p : fixedTo;
          for (const part of s) {
            const cp = part.codePointAt(0) ?? 0;
            const folded = cp < 128 ? part : foldCodePoint(cp);
            for (let k = 0; k < folded.length; k++) b.push(folded.charCodeAt(k), f, t);
          }
          i = p;
          continue;
        }
      } else if ((c === 91 || c === 40 || c === 123) && isLocalChar(lastNonSpace(b))) {
        const tok = atToken(text, i);
        if (tok !== 0) {
          const e = atTokenEnd(text, i);
          let q = e;
          while (text.charCodeAt(q) === 32 && q - e < 2) q++;
          const next = text.charCodeAt(q);
          if ((next >= 48 && next <= 57) || ((next | 0x20) >= 97 && (next | 0x20) <= 122)) {
            while (b.n > 0 && b.last() === 32) b.n--; // "jane [at] example": the spaces go too
            const f = fixedFrom < 0 ? i : fixedFrom;
            const t = fixedFrom < 0 ? e : fixedTo;
            b.push(tok, f, t);
            i = q;
            continue;
          }
        }
      }
      const f = fixedFrom < 0 ? i : fixedFrom;
      const t = fixedFrom < 0 ? i + 1 : fixedTo;
      b.push(c, f, t);
      i++;
      continue;
    }
    let cp = c;
    let w = 1;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        w = 2;
      }
    }
    const f = fixedFrom < 0 ? i : fixedFrom;
    const t = fixedFrom < 0 ? i + w : fixedTo;
    const quick = w === 1 ? (FOLD1[cp] ?? -1) : -1;
    if (quick === -2) {
      i += w;
      continue;
    }
    const folded = quick >= 0 ? '' : foldCodePoint(cp);
    if (quick >= 0 || folded.length === 1) {
      let o = quick >= 0 ? quick : folded.charCodeAt(0);
      const h = o >= 0x370 && o < 0x500 ? HOMOGLYPHS.get(o) : undefined;
      if (h !== undefined && (isAsciiAlnum(b.last()) || isAsciiAlnum(text.charCodeAt(i + w)))) {
        // between digits a round letter is a zero ("37О4": Cyrillic O for 0)
        o = (h === 79 || h === 111) && isDigitCode(b.last()) && isDigitCode(text.charCodeAt(i + w)) ? 48 : h;
      }
      b.push(o, f, t);
    } else {
      for (let k = 0; k < folded.length; k++) b.push(folded.charCodeAt(k), f, t);
    }
    i += w;
  }
}

function lastNonSpace(b: Builder): number {
  let k = b.n - 1;
  while (k >= 0 && b.out[k] === 32 && b.n - k < 3) k--;
  return k >= 0 ? (b.out[k] ?? 0) : 0;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAsciiAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 122);
}

/** Normalises text for scanning (see the top of this file); linear in its length. */
export function normalize(text: string): Normalized {
  work.reads += text.length;
  const b = new Builder(text.length + 16);
  normalizeInto(text, b, undefined);
  // base64 runs are looked for in the normalised text, so zero-width characters or full-width
  // letters inside a run do not hide it
  const decoded: [number, number, string][] = [];
  const n = b.n;
  let i = 0;
  while (i < n) {
    const c = b.out[i] ?? 0;
    if (c < 128 && (B64[c] ?? 0) === 1 && (i === 0 || (B64[b.out[i - 1] ?? 0] ?? 0) === 0)) {
      let p = i;
      while (p < n && (b.out[p] ?? 0) < 128 && (B64[b.out[p] ?? 0] ?? 0) === 1) p++;
      while (p < n && b.out[p] === 61 && p - i < MAX_BASE64) p++;
      if (p - i >= MIN_BASE64) {
        const run = Buffer.from(b.out.buffer, b.out.byteOffset + 2 * i, 2 * (p - i)).toString('utf16le');
        const s = decodeBase64Text(run);
        if (s !== undefined) decoded.push([b.starts[i] ?? 0, b.ends[p - 1] ?? 0, s]);
      }
      i = p;
      continue;
    }
    i++;
  }
  for (const [from, to, s] of decoded) {
    b.push(10, from, to);
    normalizeInto(s, b, [from, to]);
  }
  const out = Buffer.from(b.out.buffer, b.out.byteOffset, 2 * b.n).toString('utf16le');
  return { text: out, startOf: b.starts.subarray(0, b.n), endOf: b.ends.subarray(0, b.n) };
}

/** Maps a span of the normalised text back to the original. */
export function originSpan(nz: Normalized, start: number, end: number): [number, number] {
  if (nz.startOf === undefined || nz.endOf === undefined) return [start, end];
  let s = nz.startOf[start] ?? 0;
  let e = nz.endOf[end - 1] ?? s + 1;
  // a span that ends inside a decoded base64 run covers the whole run
  if (e < s) [s, e] = [e, s];
  return [s, Math.max(e, s + 1)];
}
