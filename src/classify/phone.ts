// Phone numbers as people write them: international (+49 30 1234567, 0049…), national with a trunk
// prefix, spaces, dashes, dots, slashes, an area code in brackets, and an extension. A candidate is
// found by shape here and validated per country with libphonenumber-js (full metadata), so only
// numbers that exist in a numbering plan are reported: against the default regions (the countries
// Sovereign serves, or the operator's list) when written without a country code.

import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { ch, isDigit, isLetter, isWord, window } from './chars.ts';
import { contextBefore } from './context.ts';
import { K_PHONE } from './kinds.ts';
import type { Scan } from './scan.ts';

/** Regions tried for numbers without a country code when the operator names none. */
export const DEFAULT_PHONE_REGIONS: readonly string[] = [
  'DE', 'FR', 'GB', 'US', 'AE', 'SG', 'MY', 'ES', 'IT', 'NL', 'AT', 'BE', 'IE', 'CH', 'CN', 'SA', 'IN', 'AU', 'CA',
];

const PHONE_CUES = [
  'tel', 'phone', 'call', 'mobile', 'cell', 'fax', 'ring', 'whatsapp', 'sms', 'text me', 'contact', 'reach',
  'handy', 'telefon', 'rufnummer', 'anruf', 'téléphone', 'portable', 'appel', 'teléfono', 'móvil',
  'llamar', 'hubungi', 'هاتف', 'جوال', 'اتصل', '电话', '手机', '致电', 'phone number', 'mobile number',
];

const MAX_DIGITS = 15;
const MAX_CHARS = 28;

/** A date or a time written like a number ("2024-03-15", "15.03.2024", "10:30") is never a phone number. */
function looksLikeDate(digits: string, seps: string): boolean {
  if (digits.length !== 8 && digits.length !== 6) return false;
  return /^[-./]{2}$/.test(seps) && (seps[0] === seps[1]);
}

/** Four upper-case letters or digits with at least one letter, at a. */
function isIdGroup(text: string, a: number): boolean {
  let letters = 0;
  for (let k = a; k < a + 4; k++) {
    const c = ch(text, k);
    if (c >= 65 && c <= 90) letters++;
    else if (!isDigit(c)) return false;
  }
  return letters > 0;
}

function sameSeparators(seps: string): boolean {
  for (let k = 1; k < seps.length; k++) if (seps[k] !== seps[0]) return false;
  return true;
}

/**
 * Tries a phone number at s (a digit, '+' or '('). Emits PHONE and returns its end, or -1.
 */
export function phone(sc: Scan, s: number): number {
  const text = sc.text;
  const prev = ch(text, s - 1);
  if (isWord(prev) || prev === 43) return -1;
  // inside a longer run of digit groups ("1 85 05 78…", "12.345-…"): not the start of a number
  if ((prev === 32 || prev === 45 || prev === 46 || prev === 47 || prev === 44) && isDigit(ch(text, s - 2))) return -1;
  // after a group of an IBAN or other identifier ("GB82 WEST 1234…")
  if (prev === 32 && isIdGroup(text, s - 5) && !isWord(ch(text, s - 6))) return -1;
  let p = s;
  const plus = ch(text, p) === 43;
  if (plus) p++;
  let digits = '';
  let seps = '';
  let groups = 0;
  let paren = false;
  let open = false;
  let end = -1;
  while (p - s < MAX_CHARS && digits.length <= MAX_DIGITS) {
    const c = ch(text, p);
    if (isDigit(c)) {
      const a = p;
      while (isDigit(ch(text, p)) && digits.length + (p - a) <= MAX_DIGITS) p++;
      digits += text.slice(a, p);
      groups++;
      end = p;
      if (open && ch(text, p) === 41) {
        open = false;
        p++;
        end = p;
        if (ch(text, p) === 32 || ch(text, p) === 45) p++;
        if (isDigit(ch(text, p))) continue;
      }
      const d = ch(text, p);
      if ((d === 32 || d === 45 || d === 46 || d === 47) && (isDigit(ch(text, p + 1)) || ch(text, p + 1) === 40)) {
        seps += String.fromCharCode(d);
        p++;
        continue;
      }
      if (d === 40) continue;
      break;
    }
    if (c === 40 && !open && !paren) {
      paren = true;
      open = true;
      p++;
      continue;
    }
    break;
  }
  if (end < 0 || open || digits.length < 7 || digits.length > MAX_DIGITS) return -1;
  if (isLetter(ch(text, end)) || (isDigit(ch(text, end)))) return -1;
  // extension: " ext. 12", " x12", " #12", " Durchwahl 12", " poste 12"
  let extEnd = -1;
  {
    let q = end;
    if (ch(text, q) === 32 || ch(text, q) === 44) q++;
    const m = /^(?:ext\.?|extension|x|#|durchwahl|dw\.?|poste|p\.)\s?(\d{1,6})\b/i.exec(window(text, q, q + 20));
    if (m !== null) extEnd = q + m[0].length;
  }
  if (looksLikeDate(digits, seps) || (seps === '' && !plus && !paren && digits.length === 8 && /^(19|20)\d{6}$/.test(digits))) return -1;
  // 784-YYYY-NNNNNNN-C is the shape of an Emirates ID (an invalid one when it got here)
  if (digits.startsWith('784') && digits.length === 15 && groups === 4) return -1;
  const intl = plus || digits.startsWith('00');
  // Numbers in a numbering plan (isValid) are phone numbers. Test data and fiction use ranges
  // reserved for them (555-01xx, 07700 900xxx) that no plan assigns: a number of a possible
  // length counts too when its shape is unmistakable (a country code, brackets, three or more
  // groups, an extension, or a cue word such as "tel").
  let valid = false;
  if (intl) {
    const n = parsePhoneNumberFromString(`+${plus ? digits : digits.slice(2)}`);
    valid = n !== undefined && (n.isValid() || n.isPossible());
  } else {
    const cue = contextBefore(text, s, 32, PHONE_CUES);
    const strong = paren || extEnd > 0 || cue;
    // dotted groups are versions and section numbers unless shaped like 212.555.0147 or cued
    if (seps.includes('.') && !cue && !/^\d{3}\.\d{3}\.\d{4}$/.test(window(text, s, end))) return -1;
    // A national number needs some sign that it is one: a trunk 0, brackets, grouping, an
    // extension or a cue word before it. A bare run of digits is an order number.
    const evidence = strong || digits.charCodeAt(0) === 48 || (groups >= 3 && sameSeparators(seps)) || (groups >= 2 && digits.length >= 9);
    if (!evidence) return -1;
    const national = window(text, s, end);
    for (const r of sc.phoneRegions as readonly CountryCode[]) {
      const n = parsePhoneNumberFromString(national, r);
      if (n !== undefined && (n.isValid() || (strong && n.isPossible()))) {
        valid = true;
        break;
      }
    }
  }
  if (!valid) return -1;
  const e = extEnd > 0 ? extEnd : end;
  sc.emit(K_PHONE, s, e);
  return e;
}
