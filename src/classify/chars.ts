// Character helpers for the scanner: an ASCII class table, word-character tests for the rest of
// Unicode, and the text's code units copied once into a reused typed array.

import { Buffer } from 'node:buffer';

export const DIGIT = 1;
export const UPPER = 2;
export const LOWER = 4;
export const WORD = 8; // letters, digits, underscore
export const HEX = 16;
export const LOCAL = 32; // e-mail local part: alnum . _ % + -
export const DOMAIN = 64; // alnum -

export const CLS: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 48; c <= 57; c++) t[c] = DIGIT | WORD | HEX | LOCAL | DOMAIN;
  for (let c = 65; c <= 90; c++) t[c] = UPPER | WORD | LOCAL | DOMAIN | (c <= 70 ? HEX : 0);
  for (let c = 97; c <= 122; c++) t[c] = LOWER | WORD | LOCAL | DOMAIN | (c <= 102 ? HEX : 0);
  t[95] = WORD | LOCAL; // _
  for (const c of [46, 37, 43, 45]) t[c] = (t[c] ?? 0) | LOCAL; // . % + -
  t[45] = (t[45] ?? 0) | DOMAIN;
  return t;
})();

export function nonAsciiWord(c: number): boolean {
  if (!(c >= 0xc0)) return c === 0xaa || c === 0xb5 || c === 0xba; // also false for NaN (past the end)
  if (c === 0xd7 || c === 0xf7) return false;
  if (c >= 0x2000 && c <= 0x2bff) return false; // general punctuation, symbols, arrows, shapes
  if (c >= 0x3000 && c <= 0x303f) return false; // CJK punctuation
  if (c >= 0xd800 && c <= 0xdfff) return false; // astral planes (mostly emoji)
  if (c >= 0xfe30 && c <= 0xfe4f) return false;
  if (c >= 0xff00 && c <= 0xff20) return false; // full-width punctuation
  if (c === 0x060c || c === 0x061b || c === 0x061f || c === 0x06d4) return false; // Arabic comma, semicolon, question mark, full stop
  return c !== 0xfeff;
}

export function isWord(c: number): boolean {
  return c < 128 ? ((CLS[c] ?? 0) & WORD) !== 0 : nonAsciiWord(c);
}

export function cls(c: number): number {
  return c < 128 ? (CLS[c] ?? 0) : 0;
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

export function isLetter(c: number): boolean {
  return c < 128 ? ((CLS[c] ?? 0) & (UPPER | LOWER)) !== 0 : nonAsciiWord(c);
}

/** CJK ideographs (unified, extension A, compatibility): scripts written without spaces. */
export function isHan(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff);
}

/** Arabic letters (basic block and supplement). */
export function isArabic(c: number): boolean {
  return (c >= 0x0620 && c <= 0x064a) || (c >= 0x066e && c <= 0x06d3) || (c >= 0x0750 && c <= 0x077f);
}

/** An upper-case letter in any cased script ("É", "Ø", "Ş"). */
export function isNameUpper(c: number): boolean {
  if (c < 128) return c >= 65 && c <= 90;
  if (!(c >= 0xc0) || c >= 0x2000 || !nonAsciiWord(c)) return false;
  const s = String.fromCharCode(c);
  return s.toLowerCase() !== s;
}

/**
 * Work done by the detectors beyond the main loop: characters read through ch() and characters of
 * the bounded windows handed to regular expressions and libphonenumber-js. The linear-time tests
 * count it (with the main loop's steps) instead of timing the scan.
 */
export const work = { reads: 0 };

/** text[from, to) for a bounded look at context; the characters are counted as work. */
export function window(text: string, from: number, to: number): string {
  const a = from < 0 ? 0 : from;
  const b = to > text.length ? text.length : to;
  if (b > a) work.reads += b - a;
  return text.slice(a, b);
}

/**
 * Code unit at i, or 0 (NUL: a non-word character no scanner accepts) outside the text. charCodeAt
 * past the end returns NaN, which deoptimizes the caller ("out of bounds" in --trace-deopt) and
 * turns integer comparisons into float ones; scanners read through this check instead.
 */
export function ch(text: string, i: number): number {
  work.reads++;
  return i >= 0 && i < text.length ? text.charCodeAt(i) : 0;
}

/** Value of the decimal digits text[from..to) (at most a few; callers bound the length). */
export function decimal(text: string, from: number, to: number): number {
  let v = 0;
  for (let p = from; p < to; p++) v = v * 10 + (ch(text, p) - 48);
  return v;
}

// The text's UTF-16 code units, copied natively into a reused buffer: reading a typed array in the
// hot loops costs a bounds check, while charCodeAt re-dispatches on the string's representation
// (sequential, sliced, cons, external; one- or two-byte) for every character.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// Kept between calls up to 8 MiB (4 Mi code units): writing into freshly mapped memory costs a
// page fault per 4 KiB, several times the cost of the scan itself. Longer texts get their own.
const KEEP_UNITS = 1 << 22;
let unitBytes: Buffer = Buffer.allocUnsafeSlow(2 * 8192);
let units = new Uint16Array(unitBytes.buffer, unitBytes.byteOffset, 8192);

/** The code units of text in a shared buffer, valid until the next call. */
export function codeUnits(text: string): Uint16Array {
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

/** End of the word that continues at p. */
export function wordEnd(text: string, p: number): number {
  while (isWord(ch(text, p))) p++;
  return p;
}
