// The word lexicon: special-category phrases, negatives, titles, name cues, given names, birth and
// passport cues and street types share one trie over folded ASCII (normalize.ts folds accents, so
// "Krankenhaus", "médicament" and "diabète" are matched as written in their lexicons). Phrases in
// other scripts (Arabic, Chinese) go to the script matcher (wide.ts).

import { ch, isUpper, isWord, wordEnd } from './chars.ts';
import { address, dateOfBirth, passport } from './context-types.ts';
import { K_PERSON_CUE, K_PERSON_NAME, kindOf } from './kinds.ts';
import {
  DOB_CUES,
  NAME_CUES_COLON,
  NAME_CUES_NEXT,
  NAME_CUES_SIGNOFF,
  PASSPORT_CUES,
  SPECIAL_LEXICONS,
  STREETS_AFTER,
  STREETS_BEFORE,
  TITLES,
  type SpecialCategory,
} from './lexicon.ts';
import { AMBIGUOUS_FIRST_NAMES, FIRST_NAMES } from './names.ts';
import { nameRun } from './person.ts';
import type { Scan } from './scan.ts';
import { SYMBOLS, compileTrie, symbolOf, type CompiledTrie } from './trie.ts';

export const E_SPECIAL = 0;
export const E_NEGATIVE = 1;
export const E_TITLE = 2;
export const E_CUE_NEXT = 3;
export const E_CUE_COLON = 4;
export const E_CUE_SIGNOFF = 5;
export const E_NAME = 6;
export const E_NAME_AMBIGUOUS = 7;
export const E_DOB = 8;
export const E_PASSPORT = 9;
export const E_STREET_AFTER = 10;
export const E_STREET_BEFORE = 11;

/** Whether a phrase is written in the trie's alphabet (folded Latin); others go to wide.ts. */
export function isTriePhrase(p: string): boolean {
  return /^[a-z0-9 '-]+\*?$/.test(p);
}

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
    if (!isTriePhrase(key)) return;
    const prev = seen.get(key);
    if (prev === owner) return; // the same word in two languages of one category
    if (prev !== undefined) throw new Error(`classify: "${key}" is listed in both ${prev} and ${owner}`);
    seen.set(key, owner);
    phrases.push(key);
    kinds.push(kind);
    args.push(arg);
  };
  const cats = Object.keys(SPECIAL_LEXICONS) as SpecialCategory[];
  cats.forEach((cat) => {
    const kind = kindOf(cat);
    for (const p of SPECIAL_LEXICONS[cat]) add(p, p.startsWith('!') ? E_NEGATIVE : E_SPECIAL, kind, cat);
  });
  for (const p of TITLES) add(p, E_TITLE, 0, 'TITLES');
  for (const p of NAME_CUES_NEXT) add(p, E_CUE_NEXT, 0, 'NAME_CUES_NEXT');
  for (const p of NAME_CUES_COLON) add(p, E_CUE_COLON, 0, 'NAME_CUES_COLON');
  for (const p of NAME_CUES_SIGNOFF) add(p, E_CUE_SIGNOFF, 0, 'NAME_CUES_SIGNOFF');
  for (const p of FIRST_NAMES) add(p, E_NAME, 0, 'FIRST_NAMES');
  for (const p of AMBIGUOUS_FIRST_NAMES) add(p, E_NAME_AMBIGUOUS, 0, 'AMBIGUOUS_FIRST_NAMES');
  for (const p of DOB_CUES) add(p, E_DOB, 0, 'DOB_CUES');
  for (const p of PASSPORT_CUES) add(p, E_PASSPORT, 0, 'PASSPORT_CUES');
  for (const p of STREETS_AFTER) add(p, E_STREET_AFTER, 0, 'STREETS_AFTER');
  for (const p of STREETS_BEFORE) add(p, E_STREET_BEFORE, 0, 'STREETS_BEFORE');
  return { trie: compileTrie(phrases), entryKind: Int8Array.from(kinds), entryArg: Int8Array.from(args) };
}

const WORDS: WordTable = buildWordTable();
// Module-local constants: the JIT folds these into the code, while an imported binding is loaded
// (and type-checked) on every use.
export const NSYM = 39;
if (NSYM !== SYMBOLS) throw new Error('classify: trie alphabet changed; update NSYM');
export const T_NEXT: Int32Array = WORDS.trie.next;
export const T_EXACT: Int32Array = WORDS.trie.exact;
export const T_PREFIX: Int32Array = WORDS.trie.prefix;
const entryKind = WORDS.entryKind;
const entryArg = WORDS.entryArg;

export function words(sc: Scan, s: number, j: number, node: number, best: number, bestExact: boolean): number {
  const text = sc.text;
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
      const we = p < j ? j : wordEnd(text, p);
      if (we > bestEnd) {
        best = px;
        bestEnd = we;
        bestExact = false;
      }
    }
  }
  if (best < 0) return j;
  const kind = entryKind[best] ?? -1;
  switch (kind) {
    case E_SPECIAL:
      sc.emit(entryArg[best] ?? 0, s, bestEnd);
      return bestEnd;
    case E_NEGATIVE:
      return bestEnd;
    case E_TITLE: {
      if (!isUpper(ch(text, s))) return j;
      let q = bestEnd;
      if (ch(text, q) === 46) q++;
      if (ch(text, q) !== 32) return j;
      const e = nameRun(sc, q + 1, false);
      if (e < 0) return j;
      sc.emit(K_PERSON_CUE, q + 1, e);
      return e;
    }
    case E_CUE_NEXT: {
      if (ch(text, bestEnd) !== 32) return j;
      const e = nameRun(sc, bestEnd + 1, true);
      if (e < 0) return bestEnd;
      sc.emit(K_PERSON_CUE, bestEnd + 1, e);
      return e;
    }
    case E_CUE_COLON: {
      let q = bestEnd;
      if (ch(text, q) === 32) q++;
      if (ch(text, q) !== 58) return bestEnd;
      q++;
      while (ch(text, q) === 32 && q - bestEnd < 4) q++;
      const e = nameRun(sc, q, true);
      if (e < 0) return bestEnd;
      sc.emit(K_PERSON_CUE, q, e);
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
      const e = nameRun(sc, q, false);
      if (e < 0) return bestEnd;
      sc.emit(K_PERSON_CUE, q, e);
      return e;
    }
    case E_NAME:
    case E_NAME_AMBIGUOUS: {
      // Capitalised ("Sarah"), not shouting ("SARAH") and not inside a phrase ("sarah" is no cue).
      if (bestEnd !== j || !isUpper(ch(text, s)) || isUpper(ch(text, s + 1))) return j;
      let e = j;
      if (ch(text, j) === 32) {
        const r = nameRun(sc, j + 1, false, true);
        if (r > 0) e = r;
      }
      if (e === j && kind === E_NAME_AMBIGUOUS) return j;
      sc.emit(K_PERSON_NAME, s, e);
      return e;
    }
    case E_DOB: {
      const e = dateOfBirth(sc, bestEnd);
      return e > 0 ? e : bestEnd;
    }
    case E_PASSPORT: {
      const e = passport(sc, bestEnd);
      return e > 0 ? e : bestEnd;
    }
    case E_STREET_AFTER:
    case E_STREET_BEFORE: {
      const e = address(sc, s, bestEnd, kind === E_STREET_BEFORE);
      return e > 0 ? e : j;
    }
    default:
      return j;
  }
}
