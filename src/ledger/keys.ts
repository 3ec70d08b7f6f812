// Per-region key material: the Ed25519 log key (Go note skey form) and the 32-byte HMAC secret
// used for request hashes. Generated on first use with mode 0600; never logged or printed.
import { createHmac, randomBytes, createSecretKey } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeSync, fsyncSync, closeSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { cosignatureSigner, ed25519Signer, formatSkey, parseSkey } from './note.ts';

export const SIGNING_KEY_FILE = 'ledger-signing.key';
export const HMAC_KEY_FILE = 'ledger-request-hash.key';
export const WITNESS_KEY_FILE = 'witness-signing.key';

/** Reads `file`, or creates it exclusively (0600, directory fsync'd) with `make()` if it doesn't exist. */
export function readOrCreate(file: string, make: () => Buffer): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const data = make();
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    // Lost a creation race: the other writer's key wins.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file);
    throw err;
  }
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
  const dfd = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  return data;
}

/** Loads (or creates) the log signing key for `name` (the origin) in keyDir. */
export function loadLogSigner(keyDir: string, name: string): ReturnType<typeof ed25519Signer> {
  const text = readOrCreate(path.join(keyDir, SIGNING_KEY_FILE), () => Buffer.from(`${formatSkey(name, randomBytes(32))}\n`)).toString('utf8');
  const { name: stored, seed } = parseSkey(text);
  if (stored !== name) {
    throw new Error(`${path.join(keyDir, SIGNING_KEY_FILE)} is the key of ${JSON.stringify(stored)}, not of origin ${JSON.stringify(name)}; a log's origin can't change — use a new key directory for a new log`);
  }
  return ed25519Signer(name, seed);
}

/**
 * The verifier key (public) of the log or witness whose signing key is in keyDir, read from the
 * key file on this machine and never creating one: undefined when there is no such file.
 */
export function verifierKeyFromFile(keyDir: string, kind: 'log' | 'witness'): string | undefined {
  const file = path.join(keyDir, kind === 'log' ? SIGNING_KEY_FILE : WITNESS_KEY_FILE);
  if (!existsSync(file)) return undefined;
  const { name, seed } = parseSkey(readFileSync(file, 'utf8'));
  return kind === 'log' ? ed25519Signer(name, seed).vkey : cosignatureSigner(name, seed).vkey;
}

/** Loads (or creates) a witness cosigning key (tlog-cosignature/v1). */
export function loadWitnessSigner(keyDir: string, name: string, now?: () => number): ReturnType<typeof cosignatureSigner> {
  const text = readOrCreate(path.join(keyDir, WITNESS_KEY_FILE), () => Buffer.from(`${formatSkey(name, randomBytes(32))}\n`)).toString('utf8');
  const { name: stored, seed } = parseSkey(text);
  if (stored !== name) throw new Error(`${path.join(keyDir, WITNESS_KEY_FILE)} belongs to witness ${JSON.stringify(stored)}, not ${JSON.stringify(name)}`);
  return cosignatureSigner(name, seed, now);
}

/** Returns `requestHash(bytes)`: hex HMAC-SHA-256 under the region's secret (created on first use). */
export function loadRequestHasher(keyDir: string): (bytes: Uint8Array | string) => string {
  const secret = readOrCreate(path.join(keyDir, HMAC_KEY_FILE), () => randomBytes(32));
  if (secret.length !== 32) throw new Error(`${path.join(keyDir, HMAC_KEY_FILE)} must hold exactly 32 bytes`);
  // One KeyObject for the life of the log: passing raw bytes would build a new one per call.
  const key = createSecretKey(secret);
  return (bytes) => createHmac('sha256', key).update(bytes).digest('hex');
}
