// RFC 6962 / RFC 9162 Merkle Tree Hashes, inclusion and consistency proofs.
//
// Hashing is RFC 6962, Section 2.1: leaves are SHA-256(0x00 || d), interior nodes
// SHA-256(0x01 || left || right), and the empty tree hashes to SHA-256("").
// Proof generation follows RFC 9162, Sections 2.1.3.1 (PATH) and 2.1.4.1 (SUBPROOF);
// verification follows the algorithms of RFC 9162, Sections 2.1.3.2 and 2.1.4.2, line by line.
// Indices and sizes are JavaScript numbers (exact up to 2^53); no 32-bit bit operations are used.
import { hash } from 'node:crypto';

export const HASH_SIZE = 32;

/** SHA-256 of the empty string: MTH({}) per RFC 6962, Section 2.1. */
export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');

/** Reused for 0x00 || d (hashing is synchronous): no allocation per leaf, which the GC would have to reclaim. */
let leafScratch = Buffer.alloc(1 + 65536);

/** MTH({d}) = SHA-256(0x00 || d) (RFC 6962, Section 2.1). */
export function hashLeaf(entry: Uint8Array): Buffer {
  if (entry.length + 1 > leafScratch.length) leafScratch = Buffer.alloc(entry.length + 1);
  leafScratch[0] = 0x00;
  leafScratch.set(entry, 1);
  return hash('sha256', leafScratch.subarray(0, entry.length + 1), 'buffer');
}

const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);

/** SHA-256(0x01 || left || right) (RFC 6962, Section 2.1). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  nodeScratch[0] = 0x01;
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeScratch, 'buffer');
}

/**
 * Source of complete, aligned subtree hashes: the hash of the subtree of 2^level leaves
 * starting at leaf index * 2^level. Callers only ask for subtrees inside the tree.
 */
export type SubtreeHashFn = (level: number, index: number) => Buffer;

/** The largest power of two strictly smaller than n (n > 1): "k" in RFC 9162, Section 2.1.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPow2(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** MTH(D[start:end]) built from complete subtree hashes (RFC 9162, Section 2.1.1). */
export function rangeHash(sub: SubtreeHashFn, start: number, end: number): Buffer {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (isPow2(n) && start % n === 0) return sub(Math.log2(n), start / n);
  const k = splitPoint(n);
  return hashChildren(rangeHash(sub, start, start + k), rangeHash(sub, start + k, end));
}

/** MTH over an explicit list of leaf hashes (used by tests and small trees). */
export function rootFromLeafHashes(leaves: readonly Buffer[]): Buffer {
  return rangeHash(memorySubtree(leaves), 0, leaves.length);
}

/** A SubtreeHashFn over an in-memory array of leaf hashes (O(2^level) per call). */
export function memorySubtree(leaves: readonly Buffer[]): SubtreeHashFn {
  const fn: SubtreeHashFn = (level, index) => {
    if (level === 0) {
      const h = leaves[index];
      if (h === undefined) throw new RangeError(`leaf ${index} is outside the tree`);
      return h;
    }
    return hashChildren(fn(level - 1, index * 2), fn(level - 1, index * 2 + 1));
  };
  return fn;
}

/** PATH(m, D[n]): the inclusion proof of leaf m in a tree of size n (RFC 9162, Section 2.1.3.1). */
export function inclusionProof(sub: SubtreeHashFn, index: number, size: number): Buffer[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`index ${index} is not in a tree of size ${size}`);
  const out: Buffer[] = [];
  // Walk top-down, then reverse: the proof lists the leaf's sibling first.
  let start = 0;
  let end = size;
  let m = index;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
      out.push(rangeHash(sub, start + k, end));
      end = start + k;
    } else {
      // PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])
      out.push(rangeHash(sub, start, start + k));
      start = start + k;
      m -= k;
    }
  }
  return out.reverse();
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162, Section 2.1.4.1). Empty when m is 0 or n. */
export function consistencyProof(sub: SubtreeHashFn, oldSize: number, newSize: number): Buffer[] {
  if (!(oldSize >= 0 && oldSize <= newSize)) throw new RangeError(`cannot prove ${oldSize} -> ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const descent: Buffer[] = [];
  let inner: Buffer | undefined;
  let start = 0;
  let end = newSize;
  let m = oldSize;
  let b = true;
  for (;;) {
    const n = end - start;
    if (m === n) {
      // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
      if (!b) inner = rangeHash(sub, start, end);
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      // SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      descent.push(rangeHash(sub, start + k, end));
      end = start + k;
    } else {
      // SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      descent.push(rangeHash(sub, start, start + k));
      start += k;
      m -= k;
      b = false;
    }
  }
  // The innermost subproof comes first; each enclosing level appends its MTH after it.
  descent.reverse();
  return inner === undefined ? descent : [inner, ...descent];
}

const lsb = (x: number): boolean => x % 2 === 1;
const shr = (x: number): number => Math.floor(x / 2);

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Verifies an inclusion proof (RFC 9162, Section 2.1.3.2). */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  // 1. Compare leaf_index against tree_size. If leaf_index is greater than or equal to tree_size, fail.
  if (!(index >= 0 && index < size)) return false;
  // 2. Set fn to leaf_index and sn to tree_size - 1.
  let fn = index;
  let sn = size - 1;
  // 3. Set r to hash.
  let r: Uint8Array = leafHash;
  // 4. For each value p in the inclusion_path array:
  for (const p of proof) {
    if (p.length !== HASH_SIZE) return false;
    // a. If sn is 0, then stop the iteration and fail the proof verification.
    if (sn === 0) return false;
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (lsb(fn) || fn === sn) {
      // 1. Set r to HASH(0x01 || p || r).
      r = hashChildren(p, r);
      // 2. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is set or fn is 0.
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      // Otherwise: Set r to HASH(0x01 || r || p).
      r = hashChildren(r, p);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = shr(fn);
    sn = shr(sn);
  }
  // 5. Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and the root_hash are equal, then the log has proven the inclusion of hash.
  return sn === 0 && equal(r, root);
}

/** Verifies a consistency proof (RFC 9162, Section 2.1.4.2). */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): boolean {
  if (!(oldSize >= 0 && oldSize <= newSize)) return false;
  if (proof.some((p) => p.length !== HASH_SIZE)) return false;
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
  // Any tree is consistent with the empty tree (the tlog-witness "old 0" case).
  if (oldSize === 0) return proof.length === 0;
  // 1. If consistency_path is an empty array, stop and fail the proof verification.
  if (proof.length === 0) return false;
  // 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
  const path: Uint8Array[] = isPow2(oldSize) ? [oldRoot, ...proof] : [...proof];
  // 3. Set fn to first - 1 and sn to second - 1.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  // 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
  while (lsb(fn)) {
    fn = shr(fn);
    sn = shr(sn);
  }
  // 5. Set both fr and sr to the first value in the consistency_path array.
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = fr;
  // 6. For each subsequent value c in the consistency_path array:
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    // a. If sn is 0, then stop the iteration and fail the proof verification.
    if (sn === 0) return false;
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (lsb(fn) || fn === sn) {
      // 1. Set fr to HASH(0x01 || c || fr). 2. Set sr to HASH(0x01 || c || sr).
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      // 3. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is set or fn is 0.
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      // Otherwise: Set sr to HASH(0x01 || sr || c).
      sr = hashChildren(sr, c);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = shr(fn);
    sn = shr(sn);
  }
  // 7. Verify that fr equals first_hash, sr equals second_hash, and sn is 0.
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}
