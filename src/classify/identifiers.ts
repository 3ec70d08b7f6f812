// Alphanumeric identifiers starting with a letter: IBAN, UK NINO, SG NRIC/FIN, Spanish NIE,
// German identity card, Italian codice fiscale. Each is checked by its check digit or letter.

import { IBAN_LENGTHS, deIdCardValid, dniLetterValid, ibanValid, itFiscalCodeValid, sgNricValid } from './checksums.ts';
import { LOWER, UPPER, ch, cls, isDigit, isLetter, isWord } from './chars.ts';
import { contextBefore } from './context.ts';
import { K_DE_ID, K_ES_DNI, K_IBAN, K_IT_CF, K_NINO, K_SG } from './kinds.ts';
import type { Scan } from './scan.ts';

function isAsciiLetter(c: number): boolean {
  return c < 128 && (cls(c) & (UPPER | LOWER)) !== 0;
}

const DE_ID_CUES = ['ausweis', 'personalausweis', 'id card', 'identity card', 'id-karte', 'dokumentennummer', 'id no', 'id number'];

/**
 * Identifiers that are one word of letters and digits, [s, j): Spanish NIE (X/Y/Z, 7 digits,
 * check letter), German identity card (9 characters and an ICAO check digit; 9 alone with
 * context), Italian codice fiscale (16 characters with a check letter).
 */
export function wordId(sc: Scan, s: number, j: number): number {
  const text = sc.text;
  const len = j - s;
  const c0 = ch(text, s) & ~0x20;
  if (len === 9 && (c0 === 88 || c0 === 89 || c0 === 90)) {
    const w = text.slice(s, j).toUpperCase();
    if (/^[XYZ][0-9]{7}[A-Z]$/.test(w) && dniLetterValid(Number(`${c0 - 88}${w.slice(1, 8)}`), w.charCodeAt(8))) {
      sc.emit(K_ES_DNI, s, j);
      return j;
    }
  }
  if (len === 10 || len === 9) {
    const w = text.slice(s, j);
    if (len === 10 ? deIdCardValid(w) : /^[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}$/.test(w) && /[0-9]/.test(w) && contextBefore(text, s, 40, DE_ID_CUES)) {
      sc.emit(K_DE_ID, s, j);
      return j;
    }
  }
  if (len === 16 && itFiscalCodeValid(text.slice(s, j))) {
    sc.emit(K_IT_CF, s, j);
    return j;
  }
  return -1;
}

export function alnumId(sc: Scan, s: number): number {
  const text = sc.text;
  const c0 = ch(text, s);
  const c1 = ch(text, s + 1);
  if (isAsciiLetter(c0) && isAsciiLetter(c1) && isDigit(ch(text, s + 2)) && isDigit(ch(text, s + 3))) {
    const e = iban(sc, s);
    if (e > 0) return e;
  }
  const c2 = ch(text, s + 2);
  if (c0 < 128 && c1 < 128 && isLetter(c0) && isLetter(c1) && (isDigit(c2) || (c2 === 32 && isDigit(ch(text, s + 3))))) {
    const e = nino(sc, s);
    if (e > 0) return e;
  }
  const u0 = c0 & ~0x20;
  if ((u0 === 83 || u0 === 84 || u0 === 70 || u0 === 71 || u0 === 77) && c0 < 128 && isDigit(c1)) {
    let p = s + 1;
    while (p < s + 8 && isDigit(ch(text, p))) p++;
    const cl = ch(text, p);
    if (p === s + 8 && cl < 128 && (cls(cl) & (UPPER | LOWER)) && !isWord(ch(text, p + 1))) {
      if (sgNricValid(text.slice(s, s + 9))) {
        sc.emit(K_SG, s, s + 9);
        return s + 9;
      }
    }
  }
  return -1;
}

/**
 * IBAN (ISO 13616-1): country code, check digits and BBAN, as one run or in groups of four joined
 * by spaces or dashes (one kind per IBAN), in either case; valid only with the registered length
 * and MOD 97-10.
 */
export function iban(sc: Scan, s: number): number {
  const text = sc.text;
  const cc = String.fromCharCode(ch(text, s) & ~0x20, ch(text, s + 1) & ~0x20);
  const len = IBAN_LENGTHS.get(cc);
  if (len === undefined) return -1;
  let p = s;
  let count = 0;
  let sep = 0;
  let chars = '';
  let cases = 0; // 1: upper-case letters seen, 2: lower-case letters seen
  while (count < len) {
    const c = ch(text, p);
    if (isDigit(c) || (c < 128 && (cls(c) & (UPPER | LOWER)) !== 0)) {
      if (c >= 97) cases |= 2;
      else if (c >= 65) cases |= 1;
      chars += String.fromCharCode(c >= 97 ? c - 32 : c);
      count++;
      p++;
      continue;
    }
    if ((c === 32 || c === 45) && count % 4 === 0 && (count === 4 ? sep === 0 : sep === c)) {
      sep = c;
      p++;
      continue;
    }
    return -1;
  }
  // In grouped form every full group of four must be followed by the separator.
  if (sep !== 0) {
    let k = 0;
    for (let q = s; q < p; q++) {
      const c = ch(text, q);
      if (c === sep) {
        if (k % 4 !== 0) return -1;
      } else {
        k++;
        if (k % 4 === 0 && k < len && ch(text, q + 1) !== sep) return -1;
      }
    }
  }
  if (isWord(ch(text, p))) return -1;
  // all upper or all lower case: "LV80 bANK…" is not how anyone writes an IBAN
  if (cases === 3 || !ibanValid(chars)) return -1;
  sc.emit(K_IBAN, s, p);
  return p;
}

/** UK National Insurance number (HMRC NIM39110): prefix rules, six digits, suffix A–D. */
export function nino(sc: Scan, s: number): number {
  const text = sc.text;
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
  sc.emit(K_NINO, s, p);
  return p;
}

