// A small LRU of immutable tiles and bundles read back from disk (full tiles never change, so a
// cached copy is never stale). Proofs then neither read the disk nor rehash a tile.

export class TileCache {
  readonly #max: number;
  readonly #map = new Map<string, Buffer>();
  constructor(max: number) {
    this.#max = max;
  }

  set(key: string, v: Buffer): void {
    this.#map.delete(key);
    this.#map.set(key, v);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
  }

  /** The cached value for `key`, or `load()`'s (then cached). */
  get(key: string, load: () => Buffer): Buffer {
    const hit = this.#map.get(key);
    if (hit !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    const v = load();
    this.set(key, v);
    return v;
  }
}
