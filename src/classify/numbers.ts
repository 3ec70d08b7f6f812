// Numbers that start with a digit: IPv4, Emirates ID, French NIR, Spanish DNI, German tax ID,
// payment cards, US SSN, NHS number; what is left may be a phone number (phone.ts). Digits are
// split once into groups joined by one separator each (' ', '-', '.'), in module scratch space
// (the scanner is synchronous and non-reentrant).

import { deTaxIdValid, dniLetterValid, frNirValid, luhnValid, nhsValid, sgUenBusinessValid } from './checksums.ts';
import { ch, decimal, isDigit, isUpper, isWord } from './chars.ts';
import { K_AE, K_CC, K_DE_TAX, K_ES_DNI, K_FR_NIR, K_IP, K_NHS, K_SG_UEN, K_SSN } from './kinds.ts';
import { contextBefore } from './context.ts';
import { phone } from './phone.ts';
import type { Scan } from './scan.ts';

const MAX_GROUPS = 12;
const gStart = new Int32Array(MAX_GROUPS);
const gEnd = new Int32Array(MAX_GROUPS);
const gSep = new Int32Array(MAX_GROUPS); // separator char code after group k (0 for the last)

const SSN_SAMPLES: ReadonlySet<string> = new Set(['078051120', '219099999', '123456789', '111111111']);

function ssnPlausible(d: string): boolean {
  if (d.length !== 9) return false;
  const area = d.slice(0, 3);
  if (area === '000' || area === '666' || d.charCodeAt(0) === 57) return false; // 9xx: ITINs
  if (d.slice(3, 5) === '00' || d.slice(5) === '0000') return false;
  if (SSN_SAMPLES.has(d)) return false;
  for (let k = 1; k < 9; k++) if (d[k] !== d[0]) return true;
  return false;
}

/** Splits digits from s into groups joined by one of ' ', '-', '.'; returns the group count. */
export function groups(sc: Scan, s: number): number {
  const text = sc.text;
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

export function digitCount(sc: Scan, from: number, toGroup: number): number {
  let d = 0;
  for (let k = from; k <= toGroup; k++) d += (gEnd[k] ?? 0) - (gStart[k] ?? 0);
  return d;
}

/** True when groups 0..last all use the same separator. */
export function sameSep(sc: Scan, last: number): boolean {
  const s0 = gSep[0] ?? 0;
  for (let k = 1; k < last; k++) if (gSep[k] !== s0) return false;
  return true;
}

/** A match over groups 0..last may end here unless the next char continues the same number. */
export function endsClean(sc: Scan, last: number, allowSameSepNext: boolean): boolean {
  const e = gEnd[last] ?? 0;
  const c = ch(sc.text, e);
  if (isWord(c)) return false;
  const next = gSep[last] ?? 0;
  if (next === 0) return true;
  if (next === 45 || next === 46) return false; // "-5", ".5": part of a longer token
  // a space and more digits: another number in a list, unless it reuses the internal separator
  if (allowSameSepNext || last === 0) return true;
  return gSep[0] !== 32;
}

export function groupLen(sc: Scan, k: number): number {
  return (gEnd[k] ?? 0) - (gStart[k] ?? 0);
}

export function digitsOf(sc: Scan, last: number): string {
  let s = '';
  for (let k = 0; k <= last; k++) s += sc.text.slice(gStart[k], gEnd[k]);
  return s;
}

export function numeric(sc: Scan, s: number): number {
  const text = sc.text;
  // Inside a longer number such as "12.345-..." the previous separator follows a digit.
  const prev = ch(text, s - 1);
  if ((prev === 45 || prev === 46 || prev === 47 || prev === 44) && isDigit(ch(text, s - 2))) return -1;
  const G = groups(sc, s);
  if (G === 0) return -1;

  // IPv4: four dot-separated octets.
  if (G >= 4 && gSep[0] === 46 && gSep[1] === 46 && gSep[2] === 46) {
    let ok = true;
    for (let k = 0; k < 4 && ok; k++) {
      const len = groupLen(sc, k);
      if (len > 3) ok = false;
      else if (decimal(text, gStart[k] ?? 0, gEnd[k] ?? 0) > 255) ok = false;
    }
    if (ok && !isWord(ch(text, gEnd[3] ?? 0)) && gSep[3] !== 46) {
      sc.emit(K_IP, s, gEnd[3] ?? 0);
      return gEnd[3] ?? 0;
    }
  }

  // Emirates ID: 784-YYYY-NNNNNNN-C, Luhn over the 15 digits.
  if (text.startsWith('784', s)) {
    let last = -1;
    if (groupLen(sc, 0) === 15) last = 0;
    else if (
      G >= 4 && groupLen(sc, 0) === 3 && groupLen(sc, 1) === 4 && groupLen(sc, 2) === 7 &&
      groupLen(sc, 3) === 1 && sameSep(sc, 3) && gSep[0] !== 46
    ) last = 3;
    if (last >= 0 && endsClean(sc, last, false)) {
      const y = ch(text, last === 0 ? s + 3 : (gStart[1] ?? 0));
      const y2 = ch(text, (last === 0 ? s + 3 : (gStart[1] ?? 0)) + 1);
      const plausibleYear = (y === 49 && y2 === 57) || (y === 50 && y2 === 48); // 19xx or 20xx
      if (plausibleYear && luhnValid(text, s, gEnd[last] ?? 0)) {
        sc.emit(K_AE, s, gEnd[last] ?? 0);
        return gEnd[last] ?? 0;
      }
    }
  }

  {
    const e = nationalNumber(sc, s, G);
    if (e > 0) return e;
  }

  // Payment card: 13–19 digits, one run or groups of four (4-6-5 / 4-6-4 for Amex and Diners).
  {
    const len0 = groupLen(sc, 0);
    if (len0 >= 13 && len0 <= 19) {
      if (endsClean(sc, 0, true) && luhnValid(text, s, gEnd[0] ?? 0)) {
        sc.emit(K_CC, s, gEnd[0] ?? 0);
        return gEnd[0] ?? 0;
      }
    } else if (len0 === 4 && G >= 3 && (gSep[0] === 32 || gSep[0] === 45 || gSep[0] === 46)) {
      for (let last = Math.min(G - 1, 4); last >= 2; last--) {
        if (!sameSep(sc, last)) continue;
        const d = digitCount(sc, 0, last);
        if (d < 13 || d > 19) continue;
        let shape = true;
        if (last === 2) {
          shape = groupLen(sc, 1) === 6 && (groupLen(sc, 2) === 5 || groupLen(sc, 2) === 4);
        } else {
          for (let k = 1; k < last; k++) if (groupLen(sc, k) !== 4) shape = false;
          const tail = groupLen(sc, last);
          if (tail < 1 || tail > 4) shape = false;
        }
        if (shape && endsClean(sc, last, true) && luhnValid(text, s, gEnd[last] ?? 0)) {
          sc.emit(K_CC, s, gEnd[last] ?? 0);
          return gEnd[last] ?? 0;
        }
      }
    }
  }

  // US SSN: AAA-GG-SSSS with one consistent separator; bare or mixed forms need context.
  {
    let last = -1;
    let needsContext = false;
    if (G >= 3 && groupLen(sc, 0) === 3 && groupLen(sc, 1) === 2 && groupLen(sc, 2) === 4) {
      last = 2;
      needsContext = gSep[0] !== gSep[1];
    } else if (groupLen(sc, 0) === 9) {
      last = 0;
      needsContext = true;
    } else if (G >= 2 && ((groupLen(sc, 0) === 3 && groupLen(sc, 1) === 6) || (groupLen(sc, 0) === 5 && groupLen(sc, 1) === 4)) && gSep[0] === 45) {
      last = 1;
      needsContext = true;
    }
    if (last >= 0 && endsClean(sc, last, false)) {
      const d = digitsOf(sc, last);
      if (ssnPlausible(d) && (!needsContext || ssnContext(sc, s))) {
        sc.emit(K_SSN, s, gEnd[last] ?? 0);
        return gEnd[last] ?? 0;
      }
    }
  }

  // NHS number: 3-3-4 (space or hyphen) or ten digits, modulus 11.
  {
    let last = -1;
    if (groupLen(sc, 0) === 10) last = 0;
    else if (G >= 3 && groupLen(sc, 0) === 3 && groupLen(sc, 1) === 3 && groupLen(sc, 2) === 4 && gSep[0] === gSep[1] && gSep[0] !== 46) last = 2;
    if (last >= 0 && endsClean(sc, last, false) && nhsValid(digitsOf(sc, last))) {
      sc.emit(K_NHS, s, gEnd[last] ?? 0);
      return gEnd[last] ?? 0;
    }
  }

  // What is left may be a phone number written without '+' or '(' (those start in the main loop).
  return phone(sc, s);
}

export function ssnContext(sc: Scan, s: number): boolean {
  return contextBefore(sc.text, s, 48, ['ssn', 'social security', 'soc sec']);
}

const DE_TAX_CUES = ['steuer', 'idnr', 'identifikationsnummer', 'tax id', 'tin', 'steuer-id', 'tax identification'];

/**
 * National numbers with a check: French NIR (15 digits, key = 97 - n mod 97), Spanish DNI
 * (8 digits and a check letter), German Steuer-ID (11 digits, ISO 7064 MOD 11,10; bare only
 * with context). Returns the end, or -1.
 */
function nationalNumber(sc: Scan, s: number, G: number): number {
  const text = sc.text;
  const len0 = groupLen(sc, 0);
  // ES DNI: 12345678Z or 12345678-Z
  if (len0 === 8 && G === 1) {
    let p = gEnd[0] ?? 0;
    if (ch(text, p) === 45 || ch(text, p) === 32) p++;
    const l = ch(text, p) & ~0x20;
    if (isUpper(l) && !isWord(ch(text, p + 1))) {
      if (dniLetterValid(decimal(text, s, s + 8), l)) {
        sc.emit(K_ES_DNI, s, p + 1);
        return p + 1;
      }
      if (p === (gEnd[0] ?? 0) && sgUenBusinessValid(text.slice(s, s + 8) + String.fromCharCode(l))) {
        sc.emit(K_SG_UEN, s, p + 1);
        return p + 1;
      }
    }
  }
  // FR NIR: 1 85 05 78 006 084 36 or 185057800608436 (sex digit 1, 2, 7 or 8)
  const c0 = ch(text, s);
  if (c0 === 49 || c0 === 50 || c0 === 55 || c0 === 56) {
    let digits = 0;
    for (let last = 0; last < G; last++) {
      digits += groupLen(sc, last);
      if (digits > 15) break;
      if (digits === 15 && (last === 0 || sameSep(sc, last))) {
        if (endsClean(sc, last, false) && frNirValid(digitsOf(sc, last))) {
          sc.emit(K_FR_NIR, s, gEnd[last] ?? 0);
          return gEnd[last] ?? 0;
        }
        break;
      }
    }
  }
  // DE Steuer-ID: 11 digits (first not 0), bare or as 2-3-3-3
  if (c0 !== 48) {
    let last = -1;
    if (len0 === 11) last = 0;
    else if (G >= 4 && len0 === 2 && groupLen(sc, 1) === 3 && groupLen(sc, 2) === 3 && groupLen(sc, 3) === 3 && sameSep(sc, 3)) last = 3;
    if (last >= 0 && endsClean(sc, last, false) && deTaxIdValid(digitsOf(sc, last)) && (last === 3 || contextBefore(text, s, 40, DE_TAX_CUES))) {
      sc.emit(K_DE_TAX, s, gEnd[last] ?? 0);
      return gEnd[last] ?? 0;
    }
  }
  return -1;
}
