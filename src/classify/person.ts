// PERSON: personal names in running text and forms. Evidence, strongest first:
//  - a cue before the name: a title ("Dr", "Frau", "Mme", "Sheikh"), "my name is", "Name:",
//    "Dear", a letter's sign-off on the line before, "patient";
//  - a run of capitalised words whose first is a given name, or whose last is a surname after a
//    given name or an initial, from the given-name and surname lists of @faker-js/faker's 60+
//    locales (MIT licence; see README "Classification"), folded like the scanned text;
//  - a single listed given name when a verb of people follows ("Sigrid said") or a preposition of
//    people precedes it ("with Sigrid"), or it is in the short list of unambiguous names (names.ts).
// Places and organisations must not become PERSON: a run containing a country, state or city
// name of the same lists, or an organisation word ("GmbH", "Bank", "University"), is not a name
// unless the cue says so. Arabic names (no capitals) need a listed given name followed by a name
// word or "bin"/"bint", or a cue ("اسمي", "السيد"); Chinese names a listed surname in a cue.

import { allLocales } from '@faker-js/faker';
import { ch, isLetter, isNameUpper, isUpper, isWord, wordEnd } from './chars.ts';
import { K_PERSON_CUE, K_PERSON_NAME } from './kinds.ts';
import { foldCodePoint } from './normalize.ts';
import { AMBIGUOUS_FIRST_NAMES, FIRST_NAMES, NOT_SURNAMES } from './names.ts';
import type { Scan } from './scan.ts';

const ASCII = /^[\x00-\x7f]*$/;

function fold(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase(); // most listed names: no per-character folding needed
  let out = '';
  for (const part of s) {
    const cp = part.codePointAt(0) ?? 0;
    out += cp < 128 ? part : foldCodePoint(cp);
  }
  return out.toLowerCase();
}

interface NameLists {
  given: Set<string>;
  surname: Set<string>;
  place: Set<string>;
  arabicGiven: Set<string>;
  hanSurname: Set<string>;
}

function collect(v: unknown, into: (s: string) => void): void {
  if (typeof v === 'string') into(v);
  else if (Array.isArray(v)) for (const x of v as unknown[]) collect(x, into);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) collect(x, into);
}

const LATIN = /^[a-z][a-z' -]*$/;
const ARABIC = /^[\u0620-\u064a\u066e-\u06d3 ]+$/;
const HAN = /^[\u4e00-\u9fff]{1,2}$/;

function buildLists(): NameLists {
  const lists: NameLists = { given: new Set(), surname: new Set(), place: new Set(), arabicGiven: new Set(), hanSurname: new Set() };
  for (const def of Object.values(allLocales)) {
    const person = (def as { person?: { first_name?: unknown; last_name?: unknown } }).person;
    const location = (def as { location?: Record<string, unknown> }).location;
    collect(person?.first_name, (n) => {
      const f = fold(n);
      if (LATIN.test(f)) lists.given.add(f);
      else if (ARABIC.test(n)) lists.arabicGiven.add(fold(n));
    });
    collect(person?.last_name, (n) => {
      const f = fold(n);
      if (LATIN.test(f)) lists.surname.add(f);
      else if (HAN.test(n)) lists.hanSurname.add(n);
    });
    for (const key of ['country', 'state', 'city_name', 'county', 'continent']) {
      collect(location?.[key], (n) => {
        const f = fold(n);
        if (LATIN.test(f)) for (const w of f.split(' ')) if (w.length > 2) lists.place.add(w);
      });
    }
  }
  for (const n of FIRST_NAMES) lists.given.add(n);
  for (const w of AMBIGUOUS_WORDS) lists.given.delete(w);
  return lists;
}

/** Given names that are everyday words; they count only before a listed surname ("Will Turner"). */
const AMBIGUOUS_WORDS: readonly string[] = [
  ...AMBIGUOUS_FIRST_NAMES, 'major', 'king', 'prince', 'royal', 'name', 'son', 'christian', 'page', 'sunny',
  'case', 'story', 'love', 'gay', 'ai', 'an', 'in', 'is', 'it', 'so', 'no', 'do', 'go', 'to', 'be', 'by', 'my',
];

const NAMES: NameLists = buildLists();
const AMBIGUOUS = new Set(AMBIGUOUS_WORDS);
const STOP = new Set(NOT_SURNAMES);

/** Words that make a capitalised run an organisation, a place or a thing, not a person. */
const NOT_PERSON_WORDS = new Set(
  `inc ltd llc plc gmbh ag sa sarl sas bv nv spa srl kg co corp corporation company group bank university
  universitat universite college school hospital klinik clinic institute foundation ministry department
  agency council committee association club party union church mosque temple airport station street
  road avenue strasse platz city county state republic kingdom united north south east west new saint st
  san santa lake river mount mountain island islands park centre center hotel restaurant cafe museum
  gallery times news post journal press team fc labs systems solutions services technologies software
  airlines airways motors foods pharma health care insurance capital partners holdings ventures studio
  studios records media network networks cloud data api server model version release project mr mrs ms
  dr prof`.split(/\s+/),
);

/** Verbs and phrases after a name that say it is a person. */
const PEOPLE_AFTER = new Set(
  `said says told asked wrote writes called calls replied mentioned explained emailed phoned visited
  met lives lived works worked thinks thought wants wanted needs needed feels felt agreed suggested
  confirmed reported complained sent signed joined left arrived died was is has had will would can
  could should and`.split(/\s+/),
);

/** Words before a name that say it is a person. */
const PEOPLE_BEFORE = new Set(`with to from by cc hi hello hey thanks dear and met ask tell call email meet visit`.split(/\s+/));

function lowerWord(text: string, from: number, to: number): string {
  return text.slice(from, to).toLowerCase();
}

/** The capitalised name word at q: its end, or -1. Accepts "O'Brien", "Jean-Luc", "McDonald". */
function nameWordEnd(text: string, q: number): number {
  if (!isNameUpper(ch(text, q))) return -1;
  let e = q + 1;
  for (;;) {
    const d = ch(text, e);
    if (isLetter(d)) e++;
    else if ((d === 39 || d === 45 || d === 0x2019) && isNameUpper(ch(text, e + 1))) e++;
    else break;
  }
  if (isWord(ch(text, e)) || e - q < 2) return -1;
  // all-caps words are acronyms ("NASA"), not names
  if (isUpper(ch(text, q + 1)) && isUpper(ch(text, e - 1))) return -1;
  return e;
}

/**
 * Up to four capitalised name words (or initials such as "M.") separated by single spaces,
 * starting at p. With `allowKnownLower`, a lower-case listed given name also counts ("my name is
 * dan"). Returns the end of the run, or -1 when p does not start a name.
 */
export function nameRun(sc: Scan, p: number, allowKnownLower: boolean, afterName = false): number {
  const text = sc.text;
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
      const e = nameWordEnd(text, q);
      if (e < 0) break;
      const lw = lowerWord(text, q, e);
      if (STOP.has(lw) || NOT_PERSON_WORDS.has(lw)) break;
      end = e;
    } else if (c >= 97 && c <= 122 && PARTICLES.has(lowerWord(text, q, wordEnd(text, q))) && isNameUpperAfterParticles(text, q)) {
      // "van der Berg", "de la Cruz", "bin Ahmad": particles belong to the name that follows
      q = wordEnd(text, q) + 1;
      continue;
    } else if (allowKnownLower && w === 0 && c >= 97 && c <= 122) {
      const e = wordEnd(text, q);
      if (!NAMES.given.has(text.slice(q, e))) break;
      end = e;
    } else {
      break;
    }
    if (ch(text, end) !== 32) break;
    q = end + 1;
  }
  return end;
}

/** Lower-case name particles (Dutch, German, French, Spanish, Italian, Portuguese, Arabic, Malay). */
const PARTICLES = new Set(['van', 'der', 'den', 'de', 'von', 'zu', 'da', 'di', 'du', 'la', 'le', 'del', 'della', 'dos', 'das', 'do', 'al', 'el', 'bin', 'binti', 'bte', 'ibn', 'ter', 'ten', 'y']);

/** Whether, after the particles starting at q ("van der "), a capitalised word follows. */
function isNameUpperAfterParticles(text: string, q: number): boolean {
  let p = q;
  for (let k = 0; k < 3; k++) {
    const e = wordEnd(text, p);
    if (e === p || ch(text, e) !== 32) return false;
    p = e + 1;
    if (isNameUpper(ch(text, p))) return true;
    if (!PARTICLES.has(lowerWord(text, p, wordEnd(text, p)))) return false;
  }
  return false;
}

function prevWord(text: string, s: number): string {
  let e = s - 1;
  while (ch(text, e) === 32 && s - e < 3) e--;
  let a = e;
  while (a >= 0 && s - a < 16 && isLetter(ch(text, a))) a--;
  return a < e ? text.slice(a + 1, e + 1).toLowerCase() : '';
}

function nextWord(text: string, e: number): string {
  if (ch(text, e) === 39 && ch(text, e + 1) === 115) return 'and'; // possessive "Sigrid's": a person
  if (ch(text, e) !== 32) return '';
  const a = e + 1;
  let b = a;
  while (b - a < 16 && isLetter(ch(text, b))) b++;
  return text.slice(a, b).toLowerCase();
}

/**
 * A capitalised word [s, j) that no lexicon claimed: is it the start of a person's name? Emits
 * PERSON and returns the end of the name, or -1.
 */
export function capitalisedName(sc: Scan, s: number, j: number): number {
  const text = sc.text;
  if (isUpper(ch(text, s + 1))) return -1;
  // "Jean-Pierre": the first part is looked up, the name runs to the whole word's end; "O'Brien"
  // (a one-letter first part) is looked up whole
  const whole = nameWordEnd(text, s);
  const w1 = lowerWord(text, s, whole > j && j - s < 2 ? whole : j);
  if (whole > j) j = whole;
  const given = NAMES.given.has(w1);
  const ambiguous = AMBIGUOUS.has(w1);
  const surname1 = NAMES.surname.has(w1);
  if (!given && !ambiguous && !surname1) return -1;
  if (STOP.has(w1) || NOT_PERSON_WORDS.has(w1)) return -1;
  // the run of name words after it
  let end = j;
  let last = w1;
  let words = 1;
  let initials = 0;
  let q = j;
  let place = NAMES.place.has(w1);
  while (words + initials < 5 && ch(text, q) === 32) {
    const a = q + 1;
    if (isNameUpper(ch(text, a)) && ch(text, a + 1) === 46 && ch(text, a + 2) === 32) {
      initials++;
      q = a + 2;
      continue;
    }
    const e = nameWordEnd(text, a);
    if (e < 0) break;
    const lw = lowerWord(text, a, e);
    if (STOP.has(lw)) break;
    if (NOT_PERSON_WORDS.has(lw)) return -1; // "Sarah Lawrence College", "Jordan River"
    if (NAMES.place.has(lw) && !NAMES.surname.has(lw)) place = true;
    end = e;
    last = lw;
    words++;
    q = e;
  }
  if (ch(text, end) === 46 && isNameUpper(ch(text, end - 1)) && end - s === 1) return -1;
  const lastSurname = words > 1 && NAMES.surname.has(last);
  let person = false;
  if (words > 1) {
    if (given && !place) person = true;
    else if (lastSurname && (given || ambiguous || surname1 || initials > 0)) person = true;
  } else if (given && !place) {
    // one word: a short list of unambiguous names, or a verb or preposition of people around it
    person = FIRST_NAMES_SET.has(w1) || PEOPLE_AFTER.has(nextWord(text, j)) || PEOPLE_BEFORE.has(prevWord(text, s));
  }
  if (!person) return -1;
  sc.emit(K_PERSON_NAME, s, end);
  return end;
}

const FIRST_NAMES_SET = new Set(FIRST_NAMES);

// ---------------------------------------------------------------------------------------------
// Arabic and Chinese names.

const ARABIC_NAME_LINKS = new Set(['بن', 'بنت', 'ابن', 'ابو', 'أبو', 'ال', 'عبد']);

/** An Arabic word [s, j): a listed given name followed by a name word or "bin" starts a PERSON. */
export function arabicName(sc: Scan, s: number, j: number): number {
  const text = sc.text;
  if (!NAMES.arabicGiven.has(text.slice(s, j))) return -1;
  let end = j;
  let words = 1;
  let q = j;
  let afterLink = false;
  while (words < 4 && ch(text, q) === 32) {
    const a = q + 1;
    let e = a;
    while (e - a < 20 && isArabicLetter(ch(text, e))) e++;
    if (e === a) break;
    const x = text.slice(a, e);
    const link = ARABIC_NAME_LINKS.has(x);
    // after "bin", "abu", "abd" any word is part of the name (a family or father's name)
    if (!(NAMES.arabicGiven.has(x) || link || afterLink)) break;
    afterLink = link;
    end = e;
    words++;
    q = e;
  }
  if (words < 2) return -1;
  sc.emit(K_PERSON_NAME, s, end);
  return end;
}

function isArabicLetter(c: number): boolean {
  return (c >= 0x0620 && c <= 0x064a) || (c >= 0x066e && c <= 0x06d3);
}

/** After an Arabic cue (اسمي، السيد…): one to three Arabic words are a name. */
export function arabicNameAfterCue(sc: Scan, p: number): number {
  const text = sc.text;
  let q = p;
  while (ch(text, q) === 32 || ch(text, q) === 58) q++;
  let end = -1;
  for (let w = 0; w < 3; w++) {
    const a = q;
    let e = a;
    while (e - a < 20 && isArabicLetter(ch(text, e))) e++;
    if (e === a) break;
    end = e;
    if (ch(text, e) !== 32) break;
    q = e + 1;
    if (w >= 1 && !NAMES.arabicGiven.has(text.slice(a, e)) && !ARABIC_NAME_LINKS.has(text.slice(a, e))) break;
  }
  if (end < 0) return -1;
  sc.emit(K_PERSON_CUE, p, end);
  return end;
}

/** After a Chinese cue (我叫, 姓名): a listed surname and one or two more characters are a name. */
export function hanNameAfterCue(sc: Scan, p: number): number {
  const text = sc.text;
  let q = p;
  while (ch(text, q) === 32 || ch(text, q) === 58 || ch(text, q) === 0xff1a) q++;
  const a = q;
  let surname = 0;
  if (NAMES.hanSurname.has(text.slice(a, a + 2))) surname = 2;
  else if (NAMES.hanSurname.has(text.slice(a, a + 1))) surname = 1;
  if (surname === 0) return -1;
  let e = a + surname;
  while (e - a < surname + 2 && isHanChar(ch(text, e))) e++;
  if (e === a + surname) return -1;
  sc.emit(K_PERSON_CUE, a, e);
  return e;
}

/** A listed Chinese surname and one or two characters before a title (先生, 女士, 医生…). */
export function hanNameBeforeTitle(sc: Scan, titleAt: number): number {
  const text = sc.text;
  for (const len of [3, 2, 1]) {
    const a = titleAt - len;
    if (a < 0) continue;
    let ok = true;
    for (let k = a; k < titleAt; k++) if (!isHanChar(ch(text, k))) ok = false;
    if (!ok) continue;
    if (len === 1 ? NAMES.hanSurname.has(text.slice(a, titleAt)) : NAMES.hanSurname.has(text.slice(a, a + 1)) || NAMES.hanSurname.has(text.slice(a, a + 2))) {
      sc.emit(K_PERSON_CUE, a, titleAt);
      return titleAt;
    }
  }
  return -1;
}

function isHanChar(c: number): boolean {
  return c >= 0x4e00 && c <= 0x9fff;
}

export const NAME_LIST_SIZES = { given: NAMES.given.size, surname: NAMES.surname.size, place: NAMES.place.size, arabicGiven: NAMES.arabicGiven.size, hanSurname: NAMES.hanSurname.size };
