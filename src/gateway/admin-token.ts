// The admin token guards the admin API. It comes from the environment variable named in the
// topology (gateway.adminTokenEnv) or, failing that, from <gateway data dir>/admin-token,
// generated on first start with mode 0600. It is never logged.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Topology } from '../config/index.ts';

export function adminTokenFile(topology: Topology): string {
  return path.join(topology.gatewayDataDir(), 'admin-token');
}

/** Reads (or, when `create`, generates) the admin token. */
export function adminToken(topology: Topology, create: boolean): string | undefined {
  const fromEnv = process.env[topology.data.gateway.adminTokenEnv];
  if (fromEnv && fromEnv.trim() !== '') return fromEnv.trim();
  const file = adminTokenFile(topology);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  if (!create) return undefined;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

/** Constant-time comparison (of digests, so lengths never leak). */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
