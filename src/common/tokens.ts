// Bearer tokens that guard internal and admin endpoints: taken from an environment variable
// when set, otherwise from a file in the data directory generated on first use with mode 0600.
// They are never logged.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Reads the token from `envName` or `file`; when `create`, generates the file if missing. */
export function loadToken(file: string, envName: string, create: boolean): string | undefined {
  const fromEnv = process.env[envName];
  if (fromEnv && fromEnv.trim() !== '') return fromEnv.trim();
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  if (!create) return undefined;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process (a cell, the gateway) created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
  return token;
}

/** Constant-time comparison (of digests, so lengths never leak). */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header ('' if none). */
export function bearer(header: string | string[] | undefined): string {
  const h = Array.isArray(header) ? header[0] : header;
  return typeof h === 'string' && /^bearer\s+/i.test(h) ? h.replace(/^bearer\s+/i, '').trim() : '';
}
