// Overlap resolution among the scanner's raw detections. Priority is a map by type (kinds.ts).

import { PRIORITY, isSpecialKind } from './kinds.ts';

/** Raw detections, in emission order: kind, start and end of detection i at index i. */
export interface RawDetections {
  readonly kinds: Int32Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly count: number;
}

/** The detections kept: indices into the raw detections, in text order, in order[0..length). */
export interface Resolved {
  readonly order: Int32Array;
  readonly length: number;
}

// Index lists reused from call to call: a request is classified several times (the whole text,
// then two windows per junction between messages), most calls find nothing, and allocating
// three typed arrays per call cost more than the rest of an empty call (bench/classify.ts).
// Classification is synchronous and each result is read before the next call, so one set does.
let keptBuf: Int32Array<ArrayBuffer> = new Int32Array(64);
let specialBuf: Int32Array<ArrayBuffer> = new Int32Array(64);
let mergedBuf: Int32Array<ArrayBuffer> = new Int32Array(128);

function atLeast(buf: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  return buf.length >= n ? buf : new Int32Array(Math.max(n, 2 * buf.length));
}

/**
 * Resolves overlaps among the built-in detections: sorted by start, an overlapping pair keeps the
 * higher-priority (then longer) span. Special-category detections are always kept, so resolution
 * never lowers the class. The result is valid until the next call.
 */
export function resolveOverlaps(raw: RawDetections): Resolved {
  const { kinds, starts, ends, count } = raw;
  // The scan emits in text order, so this is usually already sorted; check in one pass (a stable
  // sort of a sorted list is the identity) and sort only when it is not.
  let sorted = true;
  for (let k = 1; k < count && sorted; k++) {
    const x0 = starts[k - 1] ?? 0;
    const y0 = starts[k] ?? 0;
    if (x0 > y0 || (x0 === y0 && (ends[k - 1] ?? 0) < (ends[k] ?? 0))) sorted = false;
  }
  let order: Int32Array | undefined;
  if (!sorted) {
    const idx: number[] = [];
    for (let k = 0; k < count; k++) idx.push(k);
    idx.sort((x, y) => (starts[x] ?? 0) - (starts[y] ?? 0) || (ends[y] ?? 0) - (ends[x] ?? 0));
    order = Int32Array.from(idx);
  }
  // Index lists in typed arrays: no per-detection garbage on detection-heavy input.
  const kept = (keptBuf = atLeast(keptBuf, count));
  let nk = 0;
  const special = (specialBuf = atLeast(specialBuf, count));
  let ns = 0;
  let last = -1;
  for (let k = 0; k < count; k++) {
    const d = order === undefined ? k : (order[k] ?? 0);
    const kind = kinds[d] ?? 0;
    if (isSpecialKind(kind)) {
      special[ns++] = d;
      continue;
    }
    if (last >= 0 && (starts[d] ?? 0) < (ends[last] ?? 0)) {
      const pl = PRIORITY[kinds[last] ?? 0] ?? 0;
      const pd = PRIORITY[kind] ?? 0;
      if (pd > pl || (pd === pl && (ends[d] ?? 0) - (starts[d] ?? 0) > (ends[last] ?? 0) - (starts[last] ?? 0))) {
        kept[nk - 1] = d;
        last = d;
      }
      continue;
    }
    kept[nk++] = d;
    last = d;
  }
  if (ns === 0) return { order: kept, length: nk };
  // merge the two sorted lists
  const out = (mergedBuf = atLeast(mergedBuf, nk + ns));
  let a = 0;
  let b = 0;
  let o = 0;
  while (a < nk || b < ns) {
    const x = kept[a] ?? 0;
    const y = special[b] ?? 0;
    if (b >= ns || (a < nk && (starts[x] ?? 0) <= (starts[y] ?? 0))) {
      out[o++] = x;
      a++;
    } else {
      out[o++] = y;
      b++;
    }
  }
  return { order: out, length: o };
}
