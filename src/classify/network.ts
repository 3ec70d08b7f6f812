// Network identifiers: IPv6 (IPv4 is found among numbers) and e-mail addresses.

import { HEX, UPPER, LOWER, DOMAIN, LOCAL, ch, cls, decimal, isDigit, isWord } from './chars.ts';
import { K_EMAIL, K_IP } from './kinds.ts';
import type { Scan } from './scan.ts';

/** RFC 4291 §2.2 text forms: eight hextets, or fewer with one "::"; optional dotted IPv4 tail. */
export function ipv6(sc: Scan, s: number): number {
  const text = sc.text;
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
      const e = ipv4Tail(sc, a);
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
  sc.emit(K_IP, s, end);
  return end;
}

export function ipv4Tail(sc: Scan, s: number): number {
  const text = sc.text;
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
export function email(sc: Scan, atPos: number): number {
  const text = sc.text;
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
  sc.emit(K_EMAIL, a, p);
  return p;
}

