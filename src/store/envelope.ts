// Envelope encryption (NIST SP 800-38D AES-256-GCM): each (tenant, subject) has its own random
// data key; records are sealed under it; the data key is stored only wrapped by the region's
// key-encryption key (KEK). Destroying a wrapped data key makes the subject's records
// unreadable at once (crypto-shredding). The associated data binds each ciphertext to where it
// belongs, so a sealed blob moved to another row or subject does not open.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { pooledRandomBytes } from './random-pool.ts';

const NONCE = 12;
const TAG = 16;

function seal(key: KeyObject | Buffer, plaintext: Buffer, aad: string): Buffer {
  // A random 96-bit nonce per seal (SP 800-38D §8.2.2), never handed out twice (random-pool.ts).
  const nonce = pooledRandomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
  c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

function open(key: KeyObject | Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < NONCE + TAG) throw new Error('sealed value too short');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE), { authTagLength: TAG });
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  return Buffer.concat([d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final()]);
}

const keyAad = (tenant: string, subjectHash: string, keyId: string): string => `sovereign-store/data-key/v1\n${tenant}\n${subjectHash}\n${keyId}`;
const recordAad = (id: string, tenant: string, subjectHash: string): string => `sovereign-store/record/v1\n${id}\n${tenant}\n${subjectHash}`;

export function newDataKey(): Buffer {
  return randomBytes(32);
}

export function wrapKey(kek: KeyObject, dataKey: Buffer, tenant: string, subjectHash: string, keyId: string): Buffer {
  return seal(kek, dataKey, keyAad(tenant, subjectHash, keyId));
}

export function unwrapKey(kek: KeyObject, wrapped: Buffer, tenant: string, subjectHash: string, keyId: string): Buffer {
  return open(kek, wrapped, keyAad(tenant, subjectHash, keyId));
}

export function sealRecord(dataKey: KeyObject, plaintext: Buffer, id: string, tenant: string, subjectHash: string): Buffer {
  return seal(dataKey, plaintext, recordAad(id, tenant, subjectHash));
}

export function openRecord(dataKey: KeyObject, sealed: Buffer, id: string, tenant: string, subjectHash: string): Buffer {
  return open(dataKey, sealed, recordAad(id, tenant, subjectHash));
}

/** A value that identifies a KEK without revealing it: stored with the data, checked at start. */
export function kekCheck(kek: KeyObject): string {
  return createHmac('sha256', kek).update('sovereign-store/kek-check/v1').digest('hex');
}
