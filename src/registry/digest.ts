// OCI content digests (image-spec descriptor.md, "Digests"): algorithm ":" encoded, sha256 only.
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { RegistryError } from './errors.ts';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** The digest, or a DIGEST_INVALID error naming where it came from. */
export function checkDigest(s: string, what: string): string {
  if (!DIGEST.test(s)) throw new RegistryError('DIGEST_INVALID', `${what}: "${s.slice(0, 80)}" is not a sha256 digest (sha256:<64 lowercase hex>)`);
  return s;
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

export function newHash(): Hash {
  return createHash('sha256');
}

/** Pieces in which hashFile reads: large enough that a GiB is a few hundred reads. */
const HASH_READ = 4 * 1024 * 1024;

/**
 * The digest of a file's content. Two buffers, reused: the next piece is read (in the thread
 * pool) while this one is hashed, and no buffer is allocated per piece, so hashing a 1 GiB
 * blob costs the SHA-256 and the reads, not a garbage collector's work.
 */
export async function hashFile(file: string): Promise<string> {
  const h = newHash();
  const fh = await open(file, 'r');
  try {
    const bufs: Buffer[] = [Buffer.allocUnsafe(HASH_READ), Buffer.allocUnsafe(HASH_READ)];
    let i = 0;
    let reading = fh.read(bufs[0] as Buffer, 0, HASH_READ, null);
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      i ^= 1;
      reading = fh.read(bufs[i] as Buffer, 0, HASH_READ, null);
      h.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return `sha256:${h.digest('hex')}`;
}
