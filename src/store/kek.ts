// The region's key-encryption key: from the environment variable "<store.kekEnv>_<REGION>"
// (an operator's KMS or secret manager fills it), else from store.kekFile ("{region}" replaced
// by the region id; a file a KMS agent writes), else <region data dir>/keys/store-kek.key,
// generated on first start with mode 0600. 32 bytes, written as base64 or hex. Never logged.
import { randomBytes, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Topology } from '../config/index.ts';
import { readOrCreateSecret } from '../ledger/index.ts';

export const KEK_FILE = 'store-kek.key';

export interface Kek {
  key: KeyObject;
  /** Where it came from, for messages (a variable's or a file's name, never the key). */
  source: string;
}

export function kekEnvName(topology: Topology, region: string): string {
  return `${topology.data.store.kekEnv}_${region.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function decode(text: string, source: string): KeyObject {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (bytes.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(t) && bytes.toString('base64').replace(/=+$/, '') !== t.replace(/=+$/, ''))) {
    throw new Error(`the store key-encryption key in ${source} must be 32 bytes written as base64 (44 characters) or hex (64 digits); generate one with: openssl rand -base64 32`);
  }
  return createSecretKey(bytes);
}

export function loadKek(topology: Topology, region: string): Kek {
  const env = kekEnvName(topology, region);
  const fromEnv = process.env[env];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { key: decode(fromEnv, `the environment variable ${env}`), source: `the environment variable ${env}` };
  const configured = topology.data.store.kekFile;
  if (configured !== undefined) {
    const file = path.resolve(path.dirname(topology.file === '<inline>' ? path.join(process.cwd(), 'x') : topology.file), configured.replaceAll('{region}', region));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the store key-encryption key file ${file} (store.kekFile): ${(err as Error).message}`);
    }
    return { key: decode(text, file), source: file };
  }
  const file = path.join(topology.regionDataDir(region), 'keys', KEK_FILE);
  const text = readOrCreateSecret(file, () => Buffer.from(`${randomBytes(32).toString('base64')}\n`)).toString('utf8');
  return { key: decode(text, file), source: file };
}
