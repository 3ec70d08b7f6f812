// Random bytes for the store's per-record values (AES-GCM nonces, record ids), taken from a
// pool: one randomFillSync of 64 KiB serves about two thousand records, where a randomBytes call
// per value cost a call into OpenSSL and a Buffer each (randomFillSync was 3-4.5% of the cell's
// CPU profile; crypto.randomUUID pools the same way). The bytes are the same CSPRNG output as
// randomBytes gives; what keeps them safe to use as nonces (NIST SP 800-38D §8.2.2: a random
// nonce must never repeat under one key) is that no byte is handed out twice: the offset only
// moves forward, and a used-up pool is replaced by a new buffer, never refilled in place, so a
// slice handed out earlier (a nonce still being written) never changes. Keys and key ids do not
// come from here: they keep their own randomBytes, so no key sits in memory next to values that
// are stored in the clear.
import { randomFillSync } from 'node:crypto';

/** Bytes drawn from the CSPRNG at once. */
export const POOL_BYTES = 64 * 1024;

export class RandomPool {
  readonly #size: number;
  #buf = Buffer.alloc(0);
  #off = 0;

  constructor(size = POOL_BYTES) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`random pool size: expected a positive integer, got ${size}`);
    this.#size = size;
  }

  /** `n` fresh random bytes, handed out once (a view of the pool: the caller may change it). */
  take(n: number): Buffer {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`random bytes: expected a positive integer count, got ${n}`);
    if (n > this.#size) return randomFillSync(Buffer.allocUnsafeSlow(n));
    if (this.#off + n > this.#buf.length) {
      // A new buffer (not Node's shared allocation pool), never written again once handed out from.
      this.#buf = randomFillSync(Buffer.allocUnsafeSlow(this.#size));
      this.#off = 0;
    }
    const out = this.#buf.subarray(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }
}

/** The process's pool for the store's nonces and record ids. */
const shared = new RandomPool();

/** `n` random bytes from the shared pool. */
export function pooledRandomBytes(n: number): Buffer {
  return shared.take(n);
}
