// A byte-level trie over lower-cased ASCII words and phrases, compiled once. Walking it from a word
// start costs one array read per character and stops at the first character no entry continues
// with, so a lexicon of any size is matched in a single pass over the text.

/** Symbols: a–z (0–25), space (26), hyphen (27), apostrophe (28), digits (29–38). */
export const SYMBOLS = 39;

export const SYM: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let c = 0; c < 26; c++) {
    t[97 + c] = c;
    t[65 + c] = c;
  }
  t[32] = 26;
  t[45] = 27;
  t[39] = 28;
  for (let d = 0; d < 10; d++) t[48 + d] = 29 + d;
  return t;
})();

export function symbolOf(c: number): number {
  if (c < 128) return SYM[c] ?? -1;
  return c === 0x2019 ? 28 : -1; // typographic apostrophe
}

export interface CompiledTrie {
  /** next[node * SYMBOLS + sym] = child node, or -1. */
  readonly next: Int32Array;
  /** Entry id when the node ends an exact entry, else -1. */
  readonly exact: Int32Array;
  /** Entry id when the node ends a prefix entry (`word*`), else -1. */
  readonly prefix: Int32Array;
}

/**
 * Builds the trie. `entries[i]` is a lower-case phrase, optionally ending in `*`; its id is `i`.
 * Throws when a phrase has characters outside the alphabet or two entries collide.
 */
export function compileTrie(entries: readonly string[]): CompiledTrie {
  // Typed arrays grown by doubling: a lexicon of thousands of phrases has tens of thousands of
  // nodes times SYMBOLS slots, which a number[] filled by push builds slowly.
  let next = new Int32Array(SYMBOLS * 1024).fill(-1);
  let exact = new Int32Array(1024).fill(-1);
  let prefix = new Int32Array(1024).fill(-1);
  let nodes = 1;
  const grow = (): void => {
    const cap = exact.length * 2;
    const n2 = new Int32Array(SYMBOLS * cap).fill(-1);
    n2.set(next);
    next = n2;
    const e2 = new Int32Array(cap).fill(-1);
    e2.set(exact);
    exact = e2;
    const p2 = new Int32Array(cap).fill(-1);
    p2.set(prefix);
    prefix = p2;
  };
  entries.forEach((raw, id) => {
    const isPrefix = raw.endsWith('*');
    const phrase = isPrefix ? raw.slice(0, -1) : raw;
    if (phrase.length === 0) throw new Error(`classify: empty lexicon entry #${id}`);
    let node = 0;
    for (let k = 0; k < phrase.length; k++) {
      const sym = symbolOf(phrase.charCodeAt(k));
      if (sym < 0) throw new Error(`classify: lexicon entry "${raw}" has a character outside [a-z0-9 '-]`);
      const at = node * SYMBOLS + sym;
      let child = next[at] ?? -1;
      if (child < 0) {
        if (nodes === exact.length) grow();
        child = nodes++;
        next[at] = child;
      }
      node = child;
    }
    const slot = isPrefix ? prefix : exact;
    if ((slot[node] ?? -1) >= 0) {
      throw new Error(`classify: lexicon entry "${raw}" is listed twice (also "${entries[slot[node] ?? 0]}")`);
    }
    slot[node] = id;
  });
  return { next: next.slice(0, nodes * SYMBOLS), exact: exact.slice(0, nodes), prefix: prefix.slice(0, nodes) };
}
