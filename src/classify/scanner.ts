// The built-in detector's main loop: one left-to-right pass over the (normalised) text that
// starts a detector only at a token boundary. Every detector reads a bounded number of
// characters (or, for words, characters the main loop then skips), so the cost is linear in the
// input and no input can make it backtrack. The detectors live in their own modules:
//   chars.ts (character classes) · words.ts (word trie: special categories, cues, street types)
//   numbers.ts + checksums.ts (numbers with check digits) · phone.ts (libphonenumber-js)
//   identifiers.ts (IBAN, NINO, NRIC/FIN, national IDs) · network.ts (IP, e-mail)
//   person.ts (names) · context-types.ts (date of birth, passport, address) · wide.ts (Arabic,
//   Chinese) · overlaps.ts (overlap resolution) · kinds.ts (kinds and their priority)

import { CLS, DIGIT, HEX, LOWER, UPPER, WORD, ch, cls, codeUnits, isDigit, isUpper, isWord, nonAsciiWord, work } from './chars.ts';
import { compoundStreet } from './context-types.ts';
import { alnumId, wordId } from './identifiers.ts';
import { email, ipv6 } from './network.ts';
import { numeric } from './numbers.ts';
import type { RawDetections } from './overlaps.ts';
import { capitalisedName } from './person.ts';
import { phone } from './phone.ts';
import type { Scan } from './scan.ts';
import { SYM as TRIE_SYM, symbolOf } from './trie.ts';
import { wideWord } from './wide.ts';
import { NSYM, T_EXACT, T_NEXT, T_PREFIX, words } from './words.ts';

export type { RawDetections } from './overlaps.ts';

const SYM: Int8Array = TRIE_SYM;

export class Scanner implements Scan, RawDetections {
  text = '';
  phoneRegions: readonly string[];
  // Detections as parallel typed arrays (no object per detection until the public result).
  kinds: Int32Array = new Int32Array(64);
  starts: Int32Array = new Int32Array(64);
  ends: Int32Array = new Int32Array(64);
  count = 0;
  /** Main-loop steps of the last scan (each index at most once): the linear-time tests count them. */
  visited = 0;
  /** Whether the last scan saw a word that may be base64 (long, mixing cases or digits). */
  sawEncoded = false;

  constructor(phoneRegions: readonly string[]) {
    this.phoneRegions = phoneRegions;
  }

  /** Scans text; the detections are then in kinds/starts/ends[0..count), see RawDetections. */
  scan(text: string): RawDetections {
    this.text = text;
    this.count = 0;
    this.sawEncoded = false;
    const n = text.length;
    const u = codeUnits(text);
    let i = 0;
    let steps = 0;
    try {
      while (i < n) {
        steps++;
        const c = u[i] ?? 0;
        if (c >= 128) {
          i = nonAsciiWord(c) ? wideWord(this, i) : i + 1;
          continue;
        }
        const k = CLS[c] ?? 0;
        if ((k & WORD) === 0) {
          if (c === 64) {
            // @
            const e = email(this, i);
            i = e > i ? e : i + 1;
          } else if ((c === 43 || c === 40) && isDigit(ch(text, i + 1)) && !isWord(ch(text, i - 1))) {
            // + or (
            const e = phone(this, i);
            i = e > i ? e : i + 1;
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
        if (j - s >= 12 && (seen & (UPPER | LOWER)) !== 0 && (seen & (UPPER | LOWER | DIGIT)) !== (seen & (UPPER | LOWER))) this.sawEncoded = true;
        else if (j - s >= 12 && (seen & (UPPER | LOWER)) === (UPPER | LOWER)) this.sawEncoded = true;
        // Identifiers (numbers, IBAN, NINO, NRIC/FIN, IPv6, national IDs) need a digit at the start,
        // a digit inside the word, a two-character word ("AB 12 34 56 C") or a short hex word before ':'.
        if ((k & DIGIT) !== 0 || (seen & DIGIT) !== 0 || j - s === 2 || ((k & HEX) !== 0 && j - s <= 4)) {
          const e = this.token(s, j, c);
          if (e > 0) {
            i = e;
            continue;
          }
        }
        const ex = node >= 0 ? (T_EXACT[node] ?? -1) : -1;
        const best = ex >= 0 ? ex : px;
        if (best >= 0 || (node >= 0 && symbolOf(ch(text, j)) >= 0)) {
          const e = words(this, s, j, node, best, ex >= 0);
          if (e > j) {
            i = e;
            continue;
          }
        }
        // A capitalised word no lexicon claimed: a German compound street or a person's name?
        if (isUpper(c) && (j - s >= 2 || u[j] === 39 || u[j] === 0x2019) && (seen & DIGIT) === 0) {
          const next = u[j] ?? 0;
          if (next === 46 || (next === 32 && isDigit(ch(text, j + 1)))) {
            const e = compoundStreet(this, s, j);
            if (e > 0) {
              i = e;
              continue;
            }
          }
          const e = capitalisedName(this, s, j);
          if (e > 0) {
            i = e;
            continue;
          }
        }
        i = j;
      }
    } finally {
      this.text = '';
      this.visited = steps;
      work.reads += steps;
    }
    return this;
  }

  emit(kind: number, start: number, end: number): void {
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

  /** The token [s, j) starting with ASCII word character c0 may be an identifier. Returns its end or -1. */
  private token(s: number, j: number, c0: number): number {
    const text = this.text;
    if ((CLS[c0] ?? 0) & DIGIT) {
      const e = numeric(this, s);
      if (e > 0) return e;
    } else if (c0 !== 95) {
      // IBAN, NINO and NRIC/FIN all have a digit at s+1 or s+2 (NINO may be spaced: "AB 12…").
      const c2 = ch(text, s + 2);
      if (isDigit(ch(text, s + 1)) || isDigit(c2) || (c2 === 32 && isDigit(ch(text, s + 3)))) {
        const e = alnumId(this, s);
        if (e > 0) return e;
      }
      if (j - s >= 9) {
        const e = wordId(this, s, j);
        if (e > 0) return e;
      }
    }
    if ((cls(c0) & HEX) !== 0 && j - s <= 4 && ch(text, j) === 58) {
      const e = ipv6(this, s);
      if (e > 0) return e;
    }
    return -1;
  }
}

