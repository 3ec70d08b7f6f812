// OCI content digests (image-spec descriptor.md, "Digests"): algorithm ":" encoded, sha256 only.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
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

/** The digest of a file's content, read in 1 MiB pieces. */
export async function hashFile(file: string): Promise<string> {
  const h = newHash();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}
