// Lexicon matching for scripts outside the word trie: Arabic (words separated by spaces, with
// attached clitics: و ف ب ل ك and the article ال, and pronoun or plural endings) and Chinese
// (no spaces: a phrase may start at any character). Phrases are grouped by their first three code
// units (shorter phrases by all of theirs); at each start only the phrases beginning with those
// characters are tried, so the cost per character is bounded by the lexicon, not the text.

import { ch, isArabic, isHan, nonAsciiWord } from './chars.ts';
import { dateOfBirth, passport } from './context-types.ts';
import { kindOf } from './kinds.ts';
import { DOB_CUES, HAN_TITLES_AFTER, PASSPORT_CUES, SPECIAL_LEXICONS, WIDE_NAME_CUES, type SpecialCategory } from './lexicon.ts';
import { foldCodePoint } from './normalize.ts';
import { arabicName, arabicNameAfterCue, hanNameAfterCue, hanNameBeforeTitle } from './person.ts';
import type { Scan } from './scan.ts';
import { isTriePhrase } from './words.ts';

const W_SPECIAL = 0;
const W_NEGATIVE = 1;
const W_DOB = 2;
const W_PASSPORT = 3;
const W_NAME_CUE = 4;
const W_TITLE_AFTER = 5;

interface WidePhrase {
  text: string;
  prefix: boolean;
  kind: number;
  arg: number;
}

function fold(s: string): string {
  let out = '';
  for (const part of s) out += foldCodePoint(part.codePointAt(0) ?? 0);
  return out;
}

function build(): Map<number, WidePhrase[]> {
  const byFirst = new Map<number, WidePhrase[]>();
  const add = (raw: string, kind: number, arg: number): void => {
    if (isTriePhrase(raw.replace(/^!/, ''))) return;
    let p = raw;
    let k = kind;
    if (p.startsWith('!')) {
      p = p.slice(1);
      k = W_NEGATIVE;
    }
    const prefix = p.endsWith('*');
    const text = fold(prefix ? p.slice(0, -1) : p);
    if (text.length === 0) return;
    const first = text.length === 1 ? text.charCodeAt(0) : text.length === 2 ? key2(text.charCodeAt(0), text.charCodeAt(1)) : key3(text.charCodeAt(0), text.charCodeAt(1), text.charCodeAt(2));
    let list = byFirst.get(first);
    if (list === undefined) {
      list = [];
      byFirst.set(first, list);
    }
    if (list.some((x) => x.text === text)) return;
    list.push({ text, prefix, kind: k, arg });
  };
  for (const cat of Object.keys(SPECIAL_LEXICONS) as SpecialCategory[]) {
    for (const p of SPECIAL_LEXICONS[cat]) add(p, W_SPECIAL, kindOf(cat));
  }
  for (const p of DOB_CUES) add(p, W_DOB, 0);
  for (const p of PASSPORT_CUES) add(p, W_PASSPORT, 0);
  for (const p of WIDE_NAME_CUES) add(p, W_NAME_CUE, 0);
  for (const p of HAN_TITLES_AFTER) add(p, W_TITLE_AFTER, 0);
  // longest first: the longest phrase at a position wins
  for (const list of byFirst.values()) list.sort((a, b) => b.text.length - a.text.length);
  return byFirst;
}

function key2(a: number, b: number): number {
  return 0x10000 + a * 0x10000 + b;
}

function key3(a: number, b: number, c: number): number {
  return 0x100000000 * (a + 0x10000) + b * 0x10000 + c;
}

const PHRASES: Map<number, WidePhrase[]> = build();

/** Arabic clitics that may precede a word (longest first). */
const ARABIC_PREFIXES = ['وال', 'بال', 'فال', 'كال', 'لل', 'و', 'ف', 'ب', 'ل', 'ك'];
const PREFIX_FIRST: ReadonlySet<number> = new Set(ARABIC_PREFIXES.map((p) => p.charCodeAt(0)));
/** Arabic endings that may follow a listed word (pronouns, feminine, plural, nisba). */
const ARABIC_SUFFIXES = ['ها', 'هم', 'هن', 'كم', 'نا', 'ات', 'ين', 'ون', 'ان', 'ية', 'ي', 'ه', 'ك', 'ة'];

function arabicWordEnd(text: string, p: number): number {
  while (isArabic(ch(text, p))) p++;
  return p;
}

/** Whether [e, wordEnd) is empty or one allowed Arabic ending. */
function arabicTailOk(text: string, e: number, we: number): boolean {
  if (e === we) return true;
  const tail = text.slice(e, we);
  return ARABIC_SUFFIXES.includes(tail);
}

/** Tries the phrases starting at p; returns [phrase, end] of the longest that fits, or undefined. */
function matchAt(text: string, p: number, arabic: boolean): [WidePhrase, number] | undefined {
  const c = ch(text, p);
  const c1 = ch(text, p + 1);
  return (
    matchIn(PHRASES.get(key3(c, c1, ch(text, p + 2))), text, p, arabic) ??
    matchIn(PHRASES.get(key2(c, c1)), text, p, arabic) ??
    matchIn(PHRASES.get(c), text, p, arabic)
  );
}

function matchIn(list: WidePhrase[] | undefined, text: string, p: number, arabic: boolean): [WidePhrase, number] | undefined {
  if (list === undefined) return undefined;
  for (const ph of list) {
    if (!text.startsWith(ph.text, p)) continue;
    const e = p + ph.text.length;
    if (!arabic) return [ph, e];
    const we = arabicWordEnd(text, e);
    if (ph.prefix) return [ph, we];
    if (arabicTailOk(text, e, we)) return [ph, we];
  }
  return undefined;
}

function act(sc: Scan, ph: WidePhrase, s: number, e: number): number {
  switch (ph.kind) {
    case W_SPECIAL:
      sc.emit(ph.arg, s, e);
      return e;
    case W_DOB: {
      const r = dateOfBirth(sc, e);
      return r > 0 ? r : e;
    }
    case W_PASSPORT: {
      const r = passport(sc, e);
      return r > 0 ? r : e;
    }
    case W_NAME_CUE: {
      const r = isHan(ch(sc.text, s)) ? hanNameAfterCue(sc, e) : arabicNameAfterCue(sc, e);
      return r > 0 ? r : e;
    }
    case W_TITLE_AFTER:
      hanNameBeforeTitle(sc, s);
      return e;
    default:
      return e; // a negative: consumed, nothing reported
  }
}

/**
 * Scans the non-ASCII word starting at s (a word character ≥ 128 after a non-word one). Returns
 * where the main loop resumes.
 */
export function wideWord(sc: Scan, s: number): number {
  const text = sc.text;
  const c = ch(text, s);
  if (isArabic(c)) {
    const we = arabicWordEnd(text, s);
    let m = matchAt(text, s, true);
    let at = s;
    if (m === undefined && PREFIX_FIRST.has(c)) {
      for (const pre of ARABIC_PREFIXES) {
        if (we - s > pre.length + 1 && text.startsWith(pre, s)) {
          m = matchAt(text, s + pre.length, true);
          if (m !== undefined) {
            at = s + pre.length;
            break;
          }
        }
      }
    }
    if (m !== undefined) return act(sc, m[0], at, m[1]);
    const e = arabicName(sc, s, we);
    return e > 0 ? e : we;
  }
  if (isHan(c)) {
    let p = s;
    while (isHan(ch(text, p))) {
      const m = matchAt(text, p, false);
      if (m !== undefined) {
        p = act(sc, m[0], p, m[1]);
        continue;
      }
      p++;
    }
    return p;
  }
  let p = s + 1;
  while (nonAsciiWord(ch(text, p))) p++;
  return p;
}
