// Personal data found through a cue word: DATE_OF_BIRTH (a date after a birth cue), PASSPORT (a
// document number after a passport cue) and ADDRESS (a street with a house number, found from the
// street type). Each reads a bounded window around the cue, so the cost per cue is constant.

import { ch, isDigit, isWord, window } from './chars.ts';
import { K_ADDRESS, K_DOB, K_PASSPORT } from './kinds.ts';
import type { Scan } from './scan.ts';

const WINDOW = 48;

const MONTHS =
  'january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|' +
  'januar|februar|marz|mai|juni|juli|oktober|dezember|janvier|fevrier|mars|avril|juin|juillet|aout|septembre|octobre|novembre|decembre|' +
  'enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|januari|februari|mac|julai|ogos|disember';

const FILLER = /^(?:[\s:,=-]|is\b|was\b|on\b|am\b|le\b|el\b|pada\b|:)*/i;
const DATE = new RegExp(
  '^(?:' +
    '\\d{1,2}[./-]\\d{1,2}[./-](?:\\d{4}|\\d{2})' + // 14.03.1985, 03/14/85
    '|\\d{4}[./-]\\d{1,2}[./-]\\d{1,2}' + // 1985-03-14
    `|\\d{1,2}(?:st|nd|rd|th|er)?\\.?\\s+(?:of\\s+|de\\s+)?(?:${MONTHS})\\.?,?\\s+(?:de\\s+)?\\d{4}` + // 14 March 1985, 14. Marz 1985, 14 de marzo de 1985
    `|(?:${MONTHS})\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4}` + // March 14, 1985
    '|\\d{4}\\s*年\\s*\\d{1,2}\\s*月\\s*\\d{1,2}\\s*日?' + // 1985年3月14日
  ')',
  'i',
);

/** After a birth cue ending at p: a date within a few characters is a DATE_OF_BIRTH. */
export function dateOfBirth(sc: Scan, p: number): number {
  const text = sc.text;
  const w = window(text, p, p + WINDOW);
  const skip = FILLER.exec(w)?.[0].length ?? 0;
  const m = DATE.exec(w.slice(skip));
  if (m === null) return -1;
  const s = p + skip;
  const e = s + m[0].length;
  if (isWord(ch(text, e)) && isDigit(ch(text, e - 1))) return -1;
  sc.emit(K_DOB, s, e);
  return e;
}

const PASSPORT_FILLER = /^(?:[\s:#.,=-]|number\b|no\b|nr\b|num\b|numero\b|nombor\b|nummer\b|is\b|est\b|es\b|ialah\b|号码|号|رقم)*/i;
const PASSPORT_NUMBER = /^[A-Z0-9]{6,10}(?![A-Za-z0-9])/i;

/** After a passport cue ending at p: a 6–10 character document number with digits is a PASSPORT. */
export function passport(sc: Scan, p: number): number {
  const text = sc.text;
  const w = window(text, p, p + WINDOW);
  const skip = PASSPORT_FILLER.exec(w)?.[0].length ?? 0;
  const m = PASSPORT_NUMBER.exec(w.slice(skip));
  if (m === null) return -1;
  const id = m[0];
  let digits = 0;
  for (let k = 0; k < id.length; k++) if (isDigit(id.charCodeAt(k))) digits++;
  if (digits < 4) return -1;
  const s = p + skip;
  sc.emit(K_PASSPORT, s, s + id.length);
  return s + id.length;
}

const NAME_WORD = "(?:[A-Z][\\p{L}'’-]*\\.?|de|la|le|du|des|del|di|da|van|von|der|d'|l'|al|bin|the|of)";
const BEFORE_NUMBER_AFTER_TYPE = new RegExp(`(?:^|[^\\p{L}\\p{N}])((?:no\\.?\\s*)?\\d{1,5}[A-Za-z]?,?\\s+(?:${NAME_WORD}\\s+){0,4})$`, 'u');
const BEFORE_NUMBER_BEFORE_TYPE = /(?:^|[^\p{L}\p{N}])((?:no\.?\s*)?\d{1,5}[A-Za-z]?,?\s+)$/iu;
const NAME_WORDS_AFTER = new RegExp(`^(?:\\s+${NAME_WORD}){1,5}`, 'u');
const HOUSE_NUMBER_AFTER = /^,?\s+(?:no\.?\s*)?\d{1,4}(?:\s?[a-zA-Z])?(?![\p{L}\p{N}])/u;
const POSTCODE_TAIL = new RegExp(
  '^(?:,?\\s+(?:#\\d{1,3}-\\d{1,5}|(?:apt|apartment|suite|unit|flat)\\.?\\s+\\w{1,6}))?' +
    '(?:,?\\s+(?:' +
    "\\d{4,6}\\s+[A-Z][\\p{L}'-]+(?:\\s+[A-Z][\\p{L}'-]+)?" + // 10115 Berlin, 75002 Paris, 50450 Kuala Lumpur
    "|[A-Z][\\p{L}'-]+(?:\\s+[A-Z][\\p{L}'-]+)?,?\\s+(?:[A-Z]{2}\\s+)?\\d{4,6}(?:-\\d{4})?" + // Springfield, IL 62704; Singapore 079903
    '|[A-Z]{1,2}\\d[A-Z\\d]?\\s*\\d[A-Z]{2}' + // UK postcode
    "|[A-Z][\\p{L}'-]+(?:\\s+[A-Z][\\p{L}'-]+)?,?\\s+[A-Z]{1,2}\\d[A-Z\\d]?\\s*\\d[A-Z]{2}" + // London SW1A 2AA, Bristol BS8 1AB
    '))?',
  'u',
);

/**
 * A street type word [s, e): with a house number before or after it, the street (and a postcode
 * and town that follow) is an ADDRESS. `before` is true for types written before the name ("rue").
 */
export function address(sc: Scan, s: number, e: number, before: boolean): number {
  const text = sc.text;
  const back = window(text, s > WINDOW ? s - WINDOW : 0, s);
  let start = -1;
  let end = e;
  const bm = (before ? BEFORE_NUMBER_BEFORE_TYPE : BEFORE_NUMBER_AFTER_TYPE).exec(back);
  if (bm !== null && bm[1] !== undefined) start = s - bm[1].length;
  if (before) {
    const nm = NAME_WORDS_AFTER.exec(window(text, end, end + WINDOW));
    if (nm !== null) end += nm[0].length;
    else if (start < 0 && !isDigit(ch(text, e + 1))) return -1;
  }
  if (start < 0) {
    const hm = HOUSE_NUMBER_AFTER.exec(window(text, end, end + 16));
    if (hm !== null) {
      end += hm[0].length;
      start = before ? s : nameStartBefore(text, s);
      // "Ring 212", "the row 5": a street named after its type needs a capitalised name
      if (!before && (start === s || !(ch(text, s) >= 65 && ch(text, s) <= 90))) return -1;
    }
  }
  if (start < 0) return -1;
  const tail = POSTCODE_TAIL.exec(window(text, end, end + 2 * WINDOW));
  if (tail !== null) end += tail[0].length;
  sc.emit(K_ADDRESS, start, end);
  return end;
}

const SENTENCE_WORDS = new Set(['the', 'a', 'an', 'in', 'on', 'at', 'to', 'of', 'our', 'my', 'your', 'his', 'her', 'this', 'that']);

/** Start of up to three capitalised words ending right before s ("Baker " in "Baker Street 5"). */
function nameStartBefore(text: string, s: number): number {
  let start = s;
  for (let k = 0; k < 3; k++) {
    if (ch(text, start - 1) !== 32) break;
    let a = start - 1;
    while (a > 0 && isWord(ch(text, a - 1)) && start - a < 24) a--;
    const c = ch(text, a);
    if (!(c >= 65 && c <= 90) || a === start - 1) break;
    if (SENTENCE_WORDS.has(text.slice(a, start - 1).toLowerCase())) break;
    start = a;
  }
  return start;
}

const COMPOUND_STREET = /(?:strasse|str|weg|platz|allee|gasse|damm|ring|ufer|chaussee|steig|pfad)$/i;

/** A German compound street name [s, j) ("Musterstrasse", "Hauptstr.") followed by a house number. */
export function compoundStreet(sc: Scan, s: number, j: number): number {
  const text = sc.text;
  if (j - s < 5 || !COMPOUND_STREET.test(window(text, s, j))) return -1;
  let e = j;
  if (ch(text, e) === 46) e++;
  const hm = HOUSE_NUMBER_AFTER.exec(window(text, e, e + 16));
  if (hm === null) return -1;
  e += hm[0].length;
  const tail = POSTCODE_TAIL.exec(window(text, e, e + 2 * WINDOW));
  if (tail !== null) e += tail[0].length;
  sc.emit(K_ADDRESS, s, e);
  return e;
}
