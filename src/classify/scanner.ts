// The built-in detector: one left-to-right pass over the text with hand-written scanners. Every
// scanner is started only at a token boundary and reads a bounded number of characters (or, for
// words, characters the main loop then skips), so the cost is linear in the input and no input can
// make it backtrack. Numbers with check digits are validated here; invalid ones are not reported.

import { Buffer } from 'node:buffer';
import { IBAN_LENGTHS, ibanValid, luhnValid, nhsValid, sgNricValid } from './checksums.ts';
import {
  NAME_CUES_COLON,
  NAME_CUES_NEXT,
  NAME_CUES_SIGNOFF,
  SPECIAL_LEXICONS,
  TITLES,
  type SpecialCategory,
} from './lexicon.ts';
import { AMBIGUOUS_FIRST_NAMES, FIRST_NAMES, NOT_SURNAMES } from './names.ts';
import { SYM as TRIE_SYM, SYMBOLS, compileTrie, symbolOf, type CompiledTrie } from './trie.ts';
import type { DetectionType } from './types.ts';

/** Internal detection kinds; several may map to one public type (PERSON found by a cue or by a name list). */
export const KIND_TYPES = [
  'IBAN', 'CREDIT_CARD', 'AE_EMIRATES_ID', 'UK_NHS', 'SG_NRIC_FIN', 'UK_NINO', 'US_SSN', 'EMAIL',
  'IP_ADDRESS', 'PHONE', 'PERSON', 'PERSON',
  'HEALTH', 'RELIGION', 'ETHNICITY', 'POLITICAL', 'SEXUAL_ORIENTATION', 'TRADE_UNION', 'BIOMETRIC', 'GENETIC',
] as const satisfies readonly DetectionType[];

const K_IBAN = 0;
const K_CC = 1;
const K_AE = 2;
const K_NHS = 3;
const K_SG = 4;
const K_NINO = 5;
const K_SSN = 6;
const K_EMAIL = 7;
const K_IP = 8;
const K_PHONE = 9;
const K_PERSON_CUE = 10;
const K_PERSON_NAME = 11;
const K_SPECIAL0 = 12;

/** Overlap priority: on overlapping spans the higher wins. Special categories are never dropped. */
const PRIORITY: readonly number[] = [100, 95, 94, 90, 89, 88, 87, 85, 80, 70, 60, 40];

/** Raw detections, in emission order: kind, start and end of detection i at index i. */
export interface RawDetections {
  readonly kinds: Int32Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly count: number;
}

export function kindType(kind: number): DetectionType {
  return KIND_TYPES[kind] ?? 'PERSON';
}

export function isSpecialKind(kind: number): boolean {
  return kind >= K_SPECIAL0;
}

// ---------------------------------------------------------------------------------------------
// Character classes (ASCII table; non-ASCII decided by range).

const DIGIT = 1;
const UPPER = 2;
const LOWER = 4;
const WORD = 8; // letters, digits, underscore
const HEX = 16;
const LOCAL = 32; // e-mail local part: alnum . _ % + -
const DOMAIN = 64; // alnum -

const CLS: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 48; c <= 57; c++) t[c] = DIGIT | WORD | HEX | LOCAL | DOMAIN;
  for (let c = 65; c <= 90; c++) t[c] = UPPER | WORD | LOCAL | DOMAIN | (c <= 70 ? HEX : 0);
  for (let c = 97; c <= 122; c++) t[c] = LOWER | WORD | LOCAL | DOMAIN | (c <= 102 ? HEX : 0);
  t[95] = WORD | LOCAL; // _
  for (const c of [46, 37, 43, 45]) t[c] = (t[c] ?? 0) | LOCAL; // . % + -
  t[45] = (t[45] ?? 0) | DOMAIN;
  return t;
})();

function nonAsciiWord(c: number): boolean {
  if (!(c >= 0xc0)) return c === 0xaa || c === 0xb5 || c === 0xba; // also false for NaN (past the end)
  if (c === 0xd7 || c === 0xf7) return false;
  if (c >= 0x2000 && c <= 0x2bff) return false; // general punctuation, symbols, arrows, shapes
  if (c >= 0x3000 && c <= 0x303f) return false; // CJK punctuation
  if (c >= 0xd800 && c <= 0xdfff) return false; // astral planes (mostly emoji)
  if (c >= 0xfe30 && c <= 0xfe4f) return false;
  if (c >= 0xff00 && c <= 0xff20) return false; // full-width punctuation
  return c !== 0xfeff;
}

function isWord(c: number): boolean {
  return c < 128 ? ((CLS[c] ?? 0) & WORD) !== 0 : nonAsciiWord(c);
}

function cls(c: number): number {
  return c < 128 ? (CLS[c] ?? 0) : 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

function isLetter(c: number): boolean {
  return c < 128 ? ((CLS[c] ?? 0) & (UPPER | LOWER)) !== 0 : nonAsciiWord(c);
}

/**
 * Code unit at i, or 0 (NUL: a non-word character no scanner accepts) outside the text. charCodeAt
 * past the end returns NaN, which deoptimizes the caller ("out of bounds" in --trace-deopt) and
 * turns integer comparisons into float ones; scanners read through this check instead.
 */
function ch(text: string, i: number): number {
  return i >= 0 && i < text.length ? text.charCodeAt(i) : 0;
}

// ---------------------------------------------------------------------------------------------
// Word lexicon: special categories, negatives, titles, cues and first names share one trie.

const E_SPECIAL = 0;
const E_NEGATIVE = 1;
const E_TITLE = 2;
const E_CUE_NEXT = 3;
const E_CUE_COLON = 4;
const E_CUE_SIGNOFF = 5;
const E_NAME = 6;
const E_NAME_AMBIGUOUS = 7;

interface WordTable {
  trie: CompiledTrie;
  entryKind: Int8Array;
  entryArg: Int8Array;
}

function buildWordTable(): WordTable {
  const phrases: string[] = [];
  const kinds: number[] = [];
  const args: number[] = [];
  const seen = new Map<string, string>();
  const add = (phrase: string, kind: number, arg: number, owner: string): void => {
    const key = phrase.replace(/^!/, '');
    const prev = seen.get(key);
    if (prev !== undefined) throw new Error(`classify: "${key}" is listed in both ${prev} and ${owner}`);
    seen.set(key, owner);
    phrases.push(key);
    kinds.push(kind);
    args.push(arg);
  };
  const cats = Object.keys(SPECIAL_LEXICONS) as SpecialCategory[];
  cats.forEach((cat) => {
    const kind = KIND_TYPES.indexOf(cat);
    for (const p of SPECIAL_LEXICONS[cat]) add(p, p.startsWith('!') ? E_NEGATIVE : E_SPECIAL, kind, cat);
  });
  for (const p of TITLES) add(p, E_TITLE, 0, 'TITLES');
  for (const p of NAME_CUES_NEXT) add(p, E_CUE_NEXT, 0, 'NAME_CUES_NEXT');
  for (const p of NAME_CUES_COLON) add(p, E_CUE_COLON, 0, 'NAME_CUES_COLON');
  for (const p of NAME_CUES_SIGNOFF) add(p, E_CUE_SIGNOFF, 0, 'NAME_CUES_SIGNOFF');
  for (const p of FIRST_NAMES) add(p, E_NAME, 0, 'FIRST_NAMES');
  for (const p of AMBIGUOUS_FIRST_NAMES) add(p, E_NAME_AMBIGUOUS, 0, 'AMBIGUOUS_FIRST_NAMES');
  return { trie: compileTrie(phrases), entryKind: Int8Array.from(kinds), entryArg: Int8Array.from(args) };
}

const WORDS: WordTable = buildWordTable();
// Module-local constants: the JIT folds these into the code, while an imported binding is loaded
// (and type-checked) on every use.
const SYM: Int8Array = TRIE_SYM;
const NSYM = 39;
if (NSYM !== SYMBOLS) throw new Error('classify: trie alphabet changed; update NSYM');
const T_NEXT: Int32Array = WORDS.trie.next;
const T_EXACT: Int32Array = WORDS.trie.exact;
const T_PREFIX: Int32Array = WORDS.trie.prefix;
const NOT_NAME: CompiledTrie = compileTrie([...new Set(NOT_SURNAMES)]);

/**
 * The entry of `trie` spelled by text[from..to) (ASCII letters, any case), or -1. A word with a
 * non-ASCII character is in no list (all entries are [a-z]), so nothing is sliced or lower-cased.
 */
function lookupWord(trie: CompiledTrie, text: string, from: number, to: number): number {
  let node = 0;
  for (let p = from; p < to; p++) {
    const c = ch(text, p);
    const sym = c < 128 ? (SYM[c] ?? -1) : -1;
    if (sym < 0 || sym >= 26) return -1;
    node = trie.next[node * NSYM + sym] ?? -1;
    if (node < 0) return -1;
  }
  return trie.exact[node] ?? -1;
}

/** Whether text[from..to) is, exactly as written (lower case), a listed first name. */
function isKnownFirstLower(text: string, from: number, to: number): boolean {
  for (let p = from; p < to; p++) {
    const c = ch(text, p);
    if (c < 97 || c > 122) return false;
  }
  const id = lookupWord(WORDS.trie, text, from, to);
  return id >= 0 && WORDS.entryKind[id] === E_NAME;
}

/** Value of the decimal digits text[from..to) (at most a few; callers bound the length). */
function decimal(text: string, from: number, to: number): number {
  let v = 0;
  for (let p = from; p < to; p++) v = v * 10 + (ch(text, p) - 48);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Scratch space for digit groups (module-level: the scanner is synchronous and non-reentrant).

const MAX_GROUPS = 12;
const gStart = new Int32Array(MAX_GROUPS);
const gEnd = new Int32Array(MAX_GROUPS);
const gSep = new Int32Array(MAX_GROUPS); // separator char code after group k (0 for the last)

// The text's UTF-16 code units, copied natively into a reused buffer: reading a typed array in the
// hot loops costs a bounds check, while charCodeAt re-dispatches on the string's representation
// (sequential, sliced, cons, external; one- or two-byte) for every character.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// Kept between calls up to 8 MiB (4 Mi code units): writing into freshly mapped memory costs a
// page fault per 4 KiB, several times the cost of the scan itself. Longer texts get their own.
const KEEP_UNITS = 1 << 22;
let unitBytes: Buffer = Buffer.allocUnsafeSlow(2 * 8192);
let units = new Uint16Array(unitBytes.buffer, unitBytes.byteOffset, 8192);

function codeUnits(text: string): Uint16Array {
  const n = text.length;
  let bytes = unitBytes;
  let u = units;
  if (n > u.length) {
    const size = n <= KEEP_UNITS ? Math.min(KEEP_UNITS, Math.max(n, 2 * u.length)) : n;
    bytes = Buffer.allocUnsafeSlow(2 * size);
    u = new Uint16Array(bytes.buffer, bytes.byteOffset, size);
    if (n <= KEEP_UNITS) {
      unitBytes = bytes;
      units = u;
    }
  }
  if (LITTLE_ENDIAN) bytes.write(text, 0, 2 * n, 'utf16le');
  else for (let k = 0; k < n; k++) u[k] = text.charCodeAt(k);
  return u;
}

const SSN_SAMPLES: ReadonlySet<string> = new Set(['078051120', '219099999', '123456789', '111111111']);

export class Scanner {
  private text = '';
  private n = 0;
  // Detections as parallel typed arrays (no object per detection until the public result).
  kinds: Int32Array = new Int32Array(64);
  starts: Int32Array = new Int32Array(64);
  ends: Int32Array = new Int32Array(64);
  count = 0;

  /** Scans text; the detections are then in kinds/starts/ends[0..count), see RawDetections. */
  scan(text: string): RawDetections {
    this.text = text;
    this.n = text.length;
    this.count = 0;
    const n = text.length;
    const u = codeUnits(text);
    let i = 0;
    try {
      while (i < n) {
        const c = u[i] ?? 0;
        if (c >= 128) {
          i = nonAsciiWord(c) ? this.wordEnd(i + 1) : i + 1;
          continue;
        }
        const k = CLS[c] ?? 0;
        if ((k & WORD) === 0) {
          if (c === 64) {
            // @
            const e = this.email(i);
            i = e > i ? e : i + 1;
          } else if ((c === 43 || c === 40) && isDigit(ch(text, i + 1)) && !isWord(ch(text, i - 1))) {
            // + or (
            const e = this.phonePunct(i);
            if (e > i) {
              this.emit(K_PHONE, i, e);
              i = e;
            } else {
              i++;
            }
          } else {
            i++;
          }
          continue;
        }

        // A token starts at s (an ASCII word character after a non-word character). One pass over
        // it finds its end and walks the lexicon trie (case folded by the SYM table) while some
        // entry still continues with its letters: nothing is read twice, sliced or lower-cased.
        const s = i;
        const sym0 = SYM[c] ?? -1;
        let node = sym0 >= 0 ? (T_NEXT[sym0] ?? -1) : -1;
        // The first prefix entry (`word*`) reached inside the word; it would end at the word's end.
        let px = node >= 0 && sym0 < 26 ? (T_PREFIX[node] ?? -1) : -1;
        let seen = 0; // character classes seen after the first character
        let j = s + 1;
        while (node >= 0 && j < n) {
          const d = u[j] ?? 0;
          if (d < 128) {
            const kd = CLS[d] ?? 0;
            if ((kd & WORD) === 0) break;
            seen |= kd;
            const sym = SYM[d] ?? -1;
            node = sym >= 0 ? (T_NEXT[node * NSYM + sym] ?? -1) : -1;
            if (px < 0 && node >= 0 && sym < 26) px = T_PREFIX[node] ?? -1;
          } else {
            if (!nonAsciiWord(d)) break;
            node = -1;
          }
          j++;
        }
        if (node < 0) {
          // The rest of the word only needs its end.
          while (j < n) {
            const d = u[j] ?? 0;
            if (d < 128) {
              const kd = CLS[d] ?? 0;
              if ((kd & WORD) === 0) break;
              seen |= kd;
            } else if (!nonAsciiWord(d)) {
              break;
            }
            j++;
          }
        }
        // Identifiers (numbers, IBAN, NINO, NRIC/FIN, IPv6) need a digit at the start, a digit
        // inside the word, a two-character word ("AB 12 34 56 C") or a short hex word before ':'.
        if ((k & DIGIT) !== 0 || (seen & DIGIT) !== 0 || j - s === 2 || ((k & HEX) !== 0 && j - s <= 4)) {
          i = this.token(s, j, c, node, px);
          continue;
        }
        const ex = node >= 0 ? (T_EXACT[node] ?? -1) : -1;
        const best = ex >= 0 ? ex : px;
        if (best < 0 && (node < 0 || symbolOf(ch(text, j)) < 0)) {
          i = j; // most words end here
          continue;
        }
        const e = this.words(s, j, node, best, ex >= 0);
        i = e > j ? e : j;
      }
    } finally {
      this.text = '';
    }
    return this;
  }

  private emit(kind: number, start: number, end: number): void {
    const k = this.count;
    if (k === this.kinds.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(2 * a.length);
        b.set(a);
        return b;
      };
      this.kinds = grow(this.kinds);
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.kinds[k] = kind;
    this.starts[k] = start;
    this.ends[k] = end;
    this.count = k + 1;
  }

  private wordEnd(p: number): number {
    const text = this.text;
    while (isWord(ch(text, p))) p++;
    return p;
  }

  /**
   * The token [s, j) starting with ASCII word character c0 may be an identifier: tries those
   * scanners, then the lexicon (`node` and `px` are the trie walk's state at j, see scan).
   */
  private token(s: number, j: number, c0: number, node: number, px: number): number {
    const text = this.text;
    if ((CLS[c0] ?? 0) & DIGIT) {
      const e = this.numeric(s);
      if (e > 0) return e;
    } else if (c0 !== 95) {
      // IBAN, NINO and NRIC/FIN all have a digit at s+1 or s+2 (NINO may be spaced: "AB 12…").
      const c2 = ch(text, s + 2);
      if (isDigit(ch(text, s + 1)) || isDigit(c2) || (c2 === 32 && isDigit(ch(text, s + 3)))) {
        const e = this.alnumId(s);
        if (e > 0) return e;
      }
    }
    if ((cls(c0) & HEX) !== 0 && j - s <= 4 && ch(text, j) === 58) {
      const e = this.ipv6(s);
      if (e > 0) return e;
    }
    // An exact entry ending with the word beats a prefix entry reached inside it.
    const ex = node >= 0 ? (T_EXACT[node] ?? -1) : -1;
    const best = ex >= 0 ? ex : px;
    if (best < 0 && (node < 0 || symbolOf(ch(text, j)) < 0)) return j; // most words end here
    const e = this.words(s, j, node, best, ex >= 0);
    return e > j ? e : j;
  }

  // -------------------------------------------------------------------------------------------
  // Numbers: IPv4, Emirates ID, card numbers, SSN, NHS number, phone numbers.

  /** Splits digits from s into groups joined by one of ' ', '-', '.'; returns the group count. */
  private groups(s: number): number {
    const text = this.text;
    let g = 0;
    let p = s;
    while (g < MAX_GROUPS) {
      const a = p;
      while (isDigit(ch(text, p)) && p - a <= 19) p++;
      if (p === a) break;
      gStart[g] = a;
      gEnd[g] = p;
      gSep[g] = 0;
      g++;
      const c = ch(text, p);
      if ((c === 32 || c === 45 || c === 46) && isDigit(ch(text, p + 1))) {
        gSep[g - 1] = c;
        p++;
      } else {
        break;
      }
    }
    return g;
  }

  private digitCount(from: number, toGroup: number): number {
    let d = 0;
    for (let k = from; k <= toGroup; k++) d += (gEnd[k] ?? 0) - (gStart[k] ?? 0);
    return d;
  }

  /** True when groups 0..last all use the same separator. */
  private sameSep(last: number): boolean {
    const s0 = gSep[0] ?? 0;
    for (let k = 1; k < last; k++) if (gSep[k] !== s0) return false;
    return true;
  }

  /** A match over groups 0..last may end here unless the next char continues the same number. */
  private endsClean(last: number, allowSameSepNext: boolean): boolean {
    const e = gEnd[last] ?? 0;
    const c = ch(this.text, e);
    if (isWord(c)) return false;
    const next = gSep[last] ?? 0;
    if (next === 0) return true;
    if (next === 45 || next === 46) return false; // "-5", ".5": part of a longer token
    // a space and more digits: another number in a list, unless it reuses the internal separator
    if (allowSameSepNext || last === 0) return true;
    return gSep[0] !== 32;
  }

  private groupLen(k: number): number {
    return (gEnd[k] ?? 0) - (gStart[k] ?? 0);
  }

  private digitsOf(last: number): string {
    let s = '';
    for (let k = 0; k <= last; k++) s += this.text.slice(gStart[k], gEnd[k]);
    return s;
  }

  private numeric(s: number): number {
    const text = this.text;
    // Inside a longer number such as "12.345-..." the previous separator follows a digit.
    const prev = ch(text, s - 1);
    if ((prev === 45 || prev === 46 || prev === 47 || prev === 44) && isDigit(ch(text, s - 2))) return -1;
    const G = this.groups(s);
    if (G === 0) return -1;

    // IPv4: four dot-separated octets.
    if (G >= 4 && gSep[0] === 46 && gSep[1] === 46 && gSep[2] === 46) {
      let ok = true;
      for (let k = 0; k < 4 && ok; k++) {
        const len = this.groupLen(k);
        if (len > 3) ok = false;
        else if (decimal(text, gStart[k] ?? 0, gEnd[k] ?? 0) > 255) ok = false;
      }
      if (ok && !isWord(ch(text, gEnd[3] ?? 0)) && gSep[3] !== 46) {
        this.emit(K_IP, s, gEnd[3] ?? 0);
        return gEnd[3] ?? 0;
      }
      return -1;
    }

    // Emirates ID: 784-YYYY-NNNNNNN-C, Luhn over the 15 digits.
    if (text.startsWith('784', s)) {
      let last = -1;
      if (this.groupLen(0) === 15) last = 0;
      else if (
        G >= 4 && this.groupLen(0) === 3 && this.groupLen(1) === 4 && this.groupLen(2) === 7 &&
        this.groupLen(3) === 1 && this.sameSep(3) && gSep[0] !== 46
      ) last = 3;
      if (last >= 0 && this.endsClean(last, false)) {
        const y = ch(text, last === 0 ? s + 3 : (gStart[1] ?? 0));
        const y2 = ch(text, (last === 0 ? s + 3 : (gStart[1] ?? 0)) + 1);
        const plausibleYear = (y === 49 && y2 === 57) || (y === 50 && y2 === 48); // 19xx or 20xx
        if (plausibleYear && luhnValid(text, s, gEnd[last] ?? 0)) {
          this.emit(K_AE, s, gEnd[last] ?? 0);
          return gEnd[last] ?? 0;
        }
      }
    }

    // Payment card: 13–19 digits, one run or groups of four (4-6-5 / 4-6-4 for Amex and Diners).
    {
      const len0 = this.groupLen(0);
      if (len0 >= 13 && len0 <= 19) {
        if (this.endsClean(0, true) && luhnValid(text, s, gEnd[0] ?? 0)) {
          this.emit(K_CC, s, gEnd[0] ?? 0);
          return gEnd[0] ?? 0;
        }
      } else if (len0 === 4 && G >= 3 && (gSep[0] === 32 || gSep[0] === 45)) {
        for (let last = Math.min(G - 1, 4); last >= 2; last--) {
          if (!this.sameSep(last)) continue;
          const d = this.digitCount(0, last);
          if (d < 13 || d > 19) continue;
          let shape = true;
          if (last === 2) {
            shape = this.groupLen(1) === 6 && (this.groupLen(2) === 5 || this.groupLen(2) === 4);
          } else {
            for (let k = 1; k < last; k++) if (this.groupLen(k) !== 4) shape = false;
            const tail = this.groupLen(last);
            if (tail < 1 || tail > 4) shape = false;
          }
          if (shape && this.endsClean(last, true) && luhnValid(text, s, gEnd[last] ?? 0)) {
            this.emit(K_CC, s, gEnd[last] ?? 0);
            return gEnd[last] ?? 0;
          }
        }
      }
    }

    // US SSN: AAA-GG-SSSS with one consistent separator; bare or mixed forms need context.
    {
      let last = -1;
      let needsContext = false;
      if (G >= 3 && this.groupLen(0) === 3 && this.groupLen(1) === 2 && this.groupLen(2) === 4) {
        last = 2;
        needsContext = gSep[0] !== gSep[1];
      } else if (this.groupLen(0) === 9) {
        last = 0;
        needsContext = true;
      } else if (G >= 2 && ((this.groupLen(0) === 3 && this.groupLen(1) === 6) || (this.groupLen(0) === 5 && this.groupLen(1) === 4)) && gSep[0] === 45) {
        last = 1;
        needsContext = true;
      }
      if (last >= 0 && this.endsClean(last, false)) {
        const d = this.digitsOf(last);
        if (ssnPlausible(d) && (!needsContext || this.ssnContext(s))) {
          this.emit(K_SSN, s, gEnd[last] ?? 0);
          return gEnd[last] ?? 0;
        }
      }
    }

    // NHS number: 3-3-4 (space or hyphen) or ten digits, modulus 11.
    {
      let last = -1;
      if (this.groupLen(0) === 10) last = 0;
      else if (G >= 3 && this.groupLen(0) === 3 && this.groupLen(1) === 3 && this.groupLen(2) === 4 && gSep[0] === gSep[1] && gSep[0] !== 46) last = 2;
      if (last >= 0 && this.endsClean(last, false) && nhsValid(this.digitsOf(last))) {
        this.emit(K_NHS, s, gEnd[last] ?? 0);
        return gEnd[last] ?? 0;
      }
    }

    // Phone numbers written without '+' or '(' (those start in phonePunct).
    const e = this.phoneDigits(s, G);
    if (e > 0) {
      this.emit(K_PHONE, s, e);
      return e;
    }
    return -1;
  }

  private ssnContext(s: number): boolean {
    const from = s > 48 ? s - 48 : 0;
    const w = this.text.slice(from, s).toLowerCase();
    return w.includes('ssn') || w.includes('social security') || w.includes('soc sec');
  }

  /** NANP (2XX-2XX-XXXX, optional leading 1), trunk-prefixed national (0…) and 00-international forms. */
  private phoneDigits(s: number, G: number): number {
    const text = this.text;
    if (G >= 3) {
      // NANP with optional country code 1
      const off = this.groupLen(0) === 1 && ch(text, s) === 49 && G >= 4 ? 1 : 0;
      const a = off;
      if (
        this.groupLen(a) === 3 && this.groupLen(a + 1) === 3 && this.groupLen(a + 2) === 4 &&
        gSep[a] === gSep[a + 1] && (off === 0 || gSep[0] === gSep[a]) &&
        ch(text, gStart[a] ?? 0) >= 50 && ch(text, gStart[a + 1] ?? 0) >= 50 &&
        this.endsClean(a + 2, false)
      ) return gEnd[a + 2] ?? 0;
    }
    if (G >= 2 && ch(text, s) === 48) {
      const intl = ch(text, s + 1) === 48;
      // after the trunk prefix (0) or international prefix (00) comes a non-zero digit
      const lead = intl ? ch(text, s + 2) : ch(text, s + 1);
      if (!(lead >= 49 && lead <= 57) && !(lead === 32 || lead === 45 || lead === 46)) return -1;
      const len0 = this.groupLen(0);
      if (len0 < 2 || len0 > 5) return -1;
      for (let last = G - 1; last >= 1; last--) {
        if (!this.sameSep(last)) continue;
        const d = this.digitCount(0, last);
        const ok = intl ? d >= 10 && d <= 15 : d >= 9 && d <= 11;
        if (!ok) continue;
        let shape = true;
        for (let k = 1; k <= last; k++) {
          const l = this.groupLen(k);
          if (l < 2 || l > 8) shape = false;
        }
        if (shape && this.endsClean(last, false)) return gEnd[last] ?? 0;
      }
    }
    return -1;
  }

  /** Phone numbers starting with '+' (E.164-style) or '(' (area code in brackets). */
  private phonePunct(s: number): number {
    const text = this.text;
    const plus = ch(text, s) === 43;
    let p = s + (plus ? 1 : 0);
    let digits = 0;
    let groups = 0;
    let firstLen = -1;
    let lastGroupEnd = -1;
    while (groups < 10) {
      let paren = false;
      if (ch(text, p) === 40) {
        paren = true;
        p++;
      }
      const a = p;
      while (isDigit(ch(text, p)) && p - a < 15) p++;
      if (p === a) return -1;
      const len = p - a;
      if (paren) {
        if (ch(text, p) !== 41) return -1;
        p++;
      }
      digits += len;
      groups++;
      if (firstLen < 0) firstLen = len;
      lastGroupEnd = p;
      const c = ch(text, p);
      const c1 = ch(text, p + 1);
      if ((c === 32 || c === 45 || c === 46) && (isDigit(c1) || c1 === 40)) {
        p++;
        continue;
      }
      if (paren && (isDigit(c) || c === 40)) continue; // "(415)555-0132"
      break;
    }
    if (isWord(ch(text, lastGroupEnd))) return -1;
    if (plus) {
      if (ch(text, s + 1) === 48) return -1;
      return digits >= 8 && digits <= 15 ? lastGroupEnd : -1;
    }
    // "(415) 555-0132" or "(020) 7946 0958"
    if (firstLen === 3 && digits === 10 && groups >= 2 && ch(text, s + 1) >= 50) return lastGroupEnd;
    if (ch(text, s + 1) === 48 && digits >= 9 && digits <= 11 && groups >= 2) return lastGroupEnd;
    return -1;
  }

  // -------------------------------------------------------------------------------------------
  // Alphanumeric identifiers starting with a letter: IBAN, UK NINO, SG NRIC/FIN.

  private alnumId(s: number): number {
    const text = this.text;
    const c0 = ch(text, s);
    const c1 = ch(text, s + 1);
    if (isUpper(c0) && isUpper(c1) && isDigit(ch(text, s + 2)) && isDigit(ch(text, s + 3))) {
      const e = this.iban(s);
      if (e > 0) return e;
    }
    const c2 = ch(text, s + 2);
    if (c0 < 128 && c1 < 128 && isLetter(c0) && isLetter(c1) && (isDigit(c2) || (c2 === 32 && isDigit(ch(text, s + 3))))) {
      const e = this.nino(s);
      if (e > 0) return e;
    }
    const u0 = c0 & ~0x20;
    if ((u0 === 83 || u0 === 84 || u0 === 70 || u0 === 71 || u0 === 77) && c0 < 128 && isDigit(c1)) {
      let p = s + 1;
      while (p < s + 8 && isDigit(ch(text, p))) p++;
      const cl = ch(text, p);
      if (p === s + 8 && cl < 128 && (cls(cl) & (UPPER | LOWER)) && !isWord(ch(text, p + 1))) {
        if (sgNricValid(text.slice(s, s + 9))) {
          this.emit(K_SG, s, s + 9);
          return s + 9;
        }
      }
    }
    return -1;
  }

  private iban(s: number): number {
    const text = this.text;
    const len = IBAN_LENGTHS.get(text.slice(s, s + 2));
    if (len === undefined) return -1;
    let p = s;
    let count = 0;
    let spaced = false;
    let chars = '';
    while (count < len) {
      const c = ch(text, p);
      if (isDigit(c) || isUpper(c)) {
        chars += text[p];
        count++;
        p++;
        continue;
      }
      if (c === 32 && count % 4 === 0 && (count === 4 || spaced)) {
        if (count === 4) spaced = true;
        p++;
        continue;
      }
      return -1;
    }
    // In spaced form every full group of four must be followed by a space.
    if (spaced) {
      let k = 0;
      for (let q = s; q < p; q++) {
        const c = ch(text, q);
        if (c === 32) {
          if (k % 4 !== 0) return -1;
        } else {
          k++;
          if (k % 4 === 0 && k < len && ch(text, q + 1) !== 32) return -1;
        }
      }
    }
    if (isWord(ch(text, p))) return -1;
    if (!ibanValid(chars)) return -1;
    this.emit(K_IBAN, s, p);
    return p;
  }

  /** UK National Insurance number (HMRC NIM39110): prefix rules, six digits, suffix A–D. */
  private nino(s: number): number {
    const text = this.text;
    const a = ch(text, s) & ~0x20;
    const b = ch(text, s + 1) & ~0x20;
    // First letter not D F I Q U V; second not D F I O Q U V; some pairs never issued.
    if ('DFIQUV'.includes(String.fromCharCode(a)) || 'DFIOQUV'.includes(String.fromCharCode(b))) return -1;
    const pair = String.fromCharCode(a, b);
    if (pair === 'BG' || pair === 'GB' || pair === 'NK' || pair === 'KN' || pair === 'TN' || pair === 'NT' || pair === 'ZZ') return -1;
    let p = s + 2;
    for (let k = 0; k < 3; k++) {
      if (ch(text, p) === 32) p++;
      if (!isDigit(ch(text, p)) || !isDigit(ch(text, p + 1))) return -1;
      p += 2;
    }
    if (ch(text, p) === 32) p++;
    const suffix = ch(text, p) & ~0x20;
    if (suffix < 65 || suffix > 68) return -1;
    p++;
    if (isWord(ch(text, p))) return -1;
    this.emit(K_NINO, s, p);
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // IP addresses (IPv6 here; IPv4 in numeric) and e-mail addresses.

  /** RFC 4291 §2.2 text forms: eight hextets, or fewer with one "::"; optional dotted IPv4 tail. */
  private ipv6(s: number): number {
    const text = this.text;
    let p = s;
    let hextets = 0;
    let compressed = false;
    let end = -1;
    for (let guard = 0; guard < 10; guard++) {
      const a = p;
      while (p - a < 4 && (cls(ch(text, p)) & HEX) !== 0) p++;
      const len = p - a;
      if (len === 0) {
        if (!(compressed && ch(text, p - 1) === 58 && ch(text, p - 2) === 58)) return -1;
        end = p;
        break;
      }
      const c = ch(text, p);
      if (c === 46 && hextets <= 6 && len <= 3) {
        // embedded IPv4 tail
        const e = this.ipv4Tail(a);
        if (e < 0) return -1;
        hextets += 2;
        end = e;
        break;
      }
      hextets++;
      if (c === 58) {
        if (ch(text, p + 1) === 58) {
          if (compressed) return -1;
          compressed = true;
          p += 2;
          if ((cls(ch(text, p)) & HEX) === 0) {
            end = p;
            break;
          }
          continue;
        }
        if ((cls(ch(text, p + 1)) & HEX) === 0) {
          end = p;
          break;
        }
        p++;
        continue;
      }
      end = p;
      break;
    }
    if (end < 0) return -1;
    if (isWord(ch(text, end)) || ch(text, end) === 58) return -1;
    if (compressed ? hextets > 7 || hextets < 2 : hextets !== 8) return -1;
    this.emit(K_IP, s, end);
    return end;
  }

  private ipv4Tail(s: number): number {
    const text = this.text;
    let p = s;
    for (let k = 0; k < 4; k++) {
      const a = p;
      while (p - a < 3 && isDigit(ch(text, p))) p++;
      if (p === a || decimal(text, a, p) > 255) return -1;
      if (k < 3) {
        if (ch(text, p) !== 46) return -1;
        p++;
      }
    }
    return isDigit(ch(text, p)) ? -1 : p;
  }

  /** local@domain.tld with a 64-char local part and dot-separated labels (RFC 5321 §4.5.3.1). */
  private email(atPos: number): number {
    const text = this.text;
    let a = atPos;
    while (a > 0 && (cls(ch(text, a - 1)) & LOCAL) !== 0 && atPos - a <= 64) a--;
    if (atPos - a > 64 || a === atPos) return -1;
    while (a < atPos && ch(text, a) === 46) a++;
    if (a === atPos || ch(text, atPos - 1) === 46) return -1;
    let p = atPos + 1;
    let labels = 0;
    let lastLabelStart = p;
    let lastLabelLetters = true;
    for (;;) {
      const l = p;
      let letters = true;
      while ((cls(ch(text, p)) & DOMAIN) !== 0 && p - l < 64) {
        if (!((cls(ch(text, p)) & (UPPER | LOWER)) !== 0)) letters = false;
        p++;
      }
      if (p === l || p - l >= 64 || ch(text, l) === 45 || ch(text, p - 1) === 45) {
        if (p === l && labels >= 2) {
          p = l - 1; // trailing dot belongs to the sentence
          break;
        }
        return -1;
      }
      labels++;
      lastLabelStart = l;
      lastLabelLetters = letters;
      if (ch(text, p) === 46 && (cls(ch(text, p + 1)) & DOMAIN) !== 0 && p - atPos < 253) {
        p++;
        continue;
      }
      break;
    }
    if (labels < 2 || !lastLabelLetters || p - lastLabelStart < 2) return -1;
    if (isWord(ch(text, p)) || ch(text, p) === 64) return -1;
    this.emit(K_EMAIL, a, p);
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // Words: special-category lexicons, titles, name cues and first names.

  /**
   * Continues the trie walk of the word [s, j) past its end (phrases: spaces, hyphens,
   * apostrophes) from `node`, the trie node the word reached (-1 when none), with `best` the entry
   * the word itself matched (ending at j). Emits what it finds and returns the index to resume at.
   */
  private words(s: number, j: number, node: number, best: number, bestExact: boolean): number {
    const text = this.text;
    let p = j;
    let bestEnd = best >= 0 ? j : -1;
    while (node >= 0) {
      const sym = symbolOf(ch(text, p));
      if (sym < 0) break;
      const child = T_NEXT[node * NSYM + sym] ?? -1;
      if (child < 0) break;
      node = child;
      p++;
      const ex = T_EXACT[node] ?? -1;
      if (ex >= 0 && !isWord(ch(text, p)) && (p > bestEnd || (p === bestEnd && !bestExact))) {
        best = ex;
        bestEnd = p;
        bestExact = true;
      }
      const px = T_PREFIX[node] ?? -1;
      if (px >= 0 && sym < 26) {
        const we = p < j ? j : this.wordEnd(p);
        if (we > bestEnd) {
          best = px;
          bestEnd = we;
          bestExact = false;
        }
      }
    }
    if (best < 0) return j;
    const kind = WORDS.entryKind[best] ?? -1;
    switch (kind) {
      case E_SPECIAL:
        this.emit(WORDS.entryArg[best] ?? 0, s, bestEnd);
        return bestEnd;
      case E_NEGATIVE:
        return bestEnd;
      case E_TITLE: {
        if (!isUpper(ch(text, s))) return j;
        let q = bestEnd;
        if (ch(text, q) === 46) q++;
        if (ch(text, q) !== 32) return j;
        const e = this.nameRun(q + 1, false);
        if (e < 0) return j;
        this.emit(K_PERSON_CUE, q + 1, e);
        return e;
      }
      case E_CUE_NEXT: {
        if (ch(text, bestEnd) !== 32) return j;
        const e = this.nameRun(bestEnd + 1, true);
        if (e < 0) return bestEnd;
        this.emit(K_PERSON_CUE, bestEnd + 1, e);
        return e;
      }
      case E_CUE_COLON: {
        let q = bestEnd;
        if (ch(text, q) === 32) q++;
        if (ch(text, q) !== 58) return bestEnd;
        q++;
        while (ch(text, q) === 32 && q - bestEnd < 4) q++;
        const e = this.nameRun(q, true);
        if (e < 0) return bestEnd;
        this.emit(K_PERSON_CUE, q, e);
        return e;
      }
      case E_CUE_SIGNOFF: {
        let q = bestEnd;
        if (ch(text, q) === 44 || ch(text, q) === 33) q++;
        let newline = false;
        while (q - bestEnd < 6) {
          const c = ch(text, q);
          if (c === 10 || c === 13) newline = true;
          else if (c !== 32 && c !== 9) break;
          q++;
        }
        if (!newline) return bestEnd;
        const e = this.nameRun(q, false);
        if (e < 0) return bestEnd;
        this.emit(K_PERSON_CUE, q, e);
        return e;
      }
      case E_NAME:
      case E_NAME_AMBIGUOUS: {
        // Capitalised ("Sarah"), not shouting ("SARAH") and not inside a phrase ("sarah" is no cue).
        if (bestEnd !== j || !isUpper(ch(text, s)) || isUpper(ch(text, s + 1))) return j;
        let e = j;
        if (ch(text, j) === 32) {
          const r = this.nameRun(j + 1, false, true);
          if (r > 0) e = r;
        }
        if (e === j && kind === E_NAME_AMBIGUOUS) return j;
        this.emit(K_PERSON_NAME, s, e);
        return e;
      }
      default:
        return j;
    }
  }

  /**
   * Up to four capitalised name words (or initials such as "M.") separated by single spaces,
   * starting at p. With `allowKnownLower`, a lower-case word from the first-name list also counts
   * ("my name is dan"). Returns the end of the run, or -1 when p does not start a name.
   */
  private nameRun(p: number, allowKnownLower: boolean, afterName = false): number {
    const text = this.text;
    let end = -1;
    let q = p;
    for (let w = 0; w < 5; w++) {
      const c = ch(text, q);
      if (isNameUpper(c)) {
        if (ch(text, q + 1) === 46) {
          // an initial such as "M." only counts between name words
          if (ch(text, q + 2) !== 32 || (end < 0 && !afterName)) break;
          q += 3;
          continue;
        }
        let e = q + 1;
        for (;;) {
          const d = ch(text, e);
          if (isLetter(d)) e++;
          else if ((d === 39 || d === 45 || d === 0x2019) && isNameUpper(ch(text, e + 1))) e++;
          else break;
        }
        if (isWord(ch(text, e)) || e - q < 2) break;
        if (lookupWord(NOT_NAME, text, q, e) >= 0) break;
        // all-caps words are acronyms ("NASA"), not names
        if (isUpper(ch(text, q + 1)) && isUpper(ch(text, e - 1))) break;
        end = e;
      } else if (allowKnownLower && w === 0 && c >= 97 && c <= 122) {
        const e = this.wordEnd(q);
        if (!isKnownFirstLower(text, q, e)) break;
        end = e;
      } else {
        break;
      }
      if (ch(text, end) !== 32) break;
      q = end + 1;
    }
    return end;
  }
}

function isNameUpper(c: number): boolean {
  if (c < 128) return c >= 65 && c <= 90;
  if (!(c >= 0xc0) || c >= 0x2000 || !nonAsciiWord(c)) return false;
  const ch = String.fromCharCode(c);
  return ch.toLowerCase() !== ch;
}

function ssnPlausible(d: string): boolean {
  if (d.length !== 9) return false;
  const area = d.slice(0, 3);
  if (area === '000' || area === '666' || d.charCodeAt(0) === 57) return false; // 9xx: ITINs
  if (d.slice(3, 5) === '00' || d.slice(5) === '0000') return false;
  if (SSN_SAMPLES.has(d)) return false;
  for (let k = 1; k < 9; k++) if (d[k] !== d[0]) return true;
  return false;
}

/**
 * Resolves overlaps among the built-in detections: sorted by start, an overlapping pair keeps the
 * higher-priority (then longer) span. Special-category detections are always kept, so resolution
 * never lowers the class.
 */
export function resolveOverlaps(raw: RawDetections): Int32Array {
  const { kinds, starts, ends, count } = raw;
  // The scan emits in text order, so this is usually already sorted; check in one pass (a stable
  // sort of a sorted list is the identity) and sort only when it is not.
  let sorted = true;
  for (let k = 1; k < count && sorted; k++) {
    const x0 = starts[k - 1] ?? 0;
    const y0 = starts[k] ?? 0;
    if (x0 > y0 || (x0 === y0 && (ends[k - 1] ?? 0) < (ends[k] ?? 0))) sorted = false;
  }
  let order: Int32Array | undefined;
  if (!sorted) {
    const idx: number[] = [];
    for (let k = 0; k < count; k++) idx.push(k);
    idx.sort((x, y) => (starts[x] ?? 0) - (starts[y] ?? 0) || (ends[y] ?? 0) - (ends[x] ?? 0));
    order = Int32Array.from(idx);
  }
  // Index lists in typed arrays: no per-detection garbage on detection-heavy input.
  const kept = new Int32Array(count);
  let nk = 0;
  const special = new Int32Array(count);
  let ns = 0;
  let last = -1;
  for (let k = 0; k < count; k++) {
    const d = order === undefined ? k : (order[k] ?? 0);
    const kind = kinds[d] ?? 0;
    if (isSpecialKind(kind)) {
      special[ns++] = d;
      continue;
    }
    if (last >= 0 && (starts[d] ?? 0) < (ends[last] ?? 0)) {
      const pl = PRIORITY[kinds[last] ?? 0] ?? 0;
      const pd = PRIORITY[kind] ?? 0;
      if (pd > pl || (pd === pl && (ends[d] ?? 0) - (starts[d] ?? 0) > (ends[last] ?? 0) - (starts[last] ?? 0))) {
        kept[nk - 1] = d;
        last = d;
      }
      continue;
    }
    kept[nk++] = d;
    last = d;
  }
  if (ns === 0) return kept.subarray(0, nk);
  // merge the two sorted lists
  const out = new Int32Array(nk + ns);
  let a = 0;
  let b = 0;
  let o = 0;
  while (a < nk || b < ns) {
    const x = kept[a] ?? 0;
    const y = special[b] ?? 0;
    if (b >= ns || (a < nk && (starts[x] ?? 0) <= (starts[y] ?? 0))) {
      out[o++] = x;
      a++;
    } else {
      out[o++] = y;
      b++;
    }
  }
  return out;
}
