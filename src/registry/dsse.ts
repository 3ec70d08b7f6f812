// Signatures over model manifests: a DSSE envelope (secure-systems-lab/dsse, envelope.md and
// protocol.md) whose payload is an in-toto Statement v1 naming the manifest by its digest.
// Signed with Ed25519 or ECDSA P-256 (SHA-256, DER signature). Keys: PKCS#8 / SPKI PEM; a
// key's id is the SHA-256 of its SPKI DER, hex.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { hexOf } from './digest.ts';
import { RegistryError } from './errors.ts';
import { IN_TOTO_PAYLOAD } from './media-types.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const RELEASE_PREDICATE = 'https://sovereign.example/model-release/v1';

const EnvelopeSchema = z.object({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string().optional(), sig: z.string() })).min(1),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

const StatementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string(), digest: z.record(z.string(), z.string()) })).min(1),
  predicateType: z.string(),
  predicate: z.record(z.string(), z.unknown()).optional(),
});

/** DSSE protocol.md: PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const t = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${payload.length} `), payload]);
}

export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

function algorithmOf(key: KeyObject): 'ed25519' | 'p256' {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'p256';
  throw new RegistryError('SIGNATURE_INVALID', `publisher keys must be Ed25519 or ECDSA P-256; this one is ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''}`);
}

/** Signs the statement "this manifest digest is release <name>:<version>". */
export function signManifest(privateKey: KeyObject, subject: { name: string; version: string; digest: string }): Envelope {
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: `${subject.name}:${subject.version}`, digest: { sha256: hexOf(subject.digest) } }],
    predicateType: RELEASE_PREDICATE,
    predicate: { name: subject.name, version: subject.version },
  };
  const payload = Buffer.from(JSON.stringify(statement));
  const msg = pae(IN_TOTO_PAYLOAD, payload);
  const sig = algorithmOf(privateKey) === 'ed25519' ? sign(null, msg, privateKey) : sign('sha256', msg, { key: privateKey, dsaEncoding: 'der' });
  return { payloadType: IN_TOTO_PAYLOAD, payload: payload.toString('base64'), signatures: [{ keyid: keyId(privateKey), sig: sig.toString('base64') }] };
}

export interface PublisherKey {
  id: string;
  key: KeyObject;
}

/**
 * Verifies an envelope for `digest`: some signature must verify under a trusted key, and the
 * statement must name exactly that digest. Throws PUBLISHER_UNKNOWN (no signature by a trusted
 * key) or SIGNATURE_INVALID (bad signature, other digest, malformed). Returns the key's id.
 */
export function verifyEnvelope(bytes: Uint8Array, digest: string, trusted: readonly PublisherKey[], what: string): { keyId: string; name: string } {
  let env: Envelope;
  try {
    env = EnvelopeSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    throw new RegistryError('SIGNATURE_INVALID', `${what}: the signature is not a DSSE envelope`);
  }
  if (env.payloadType !== IN_TOTO_PAYLOAD) throw new RegistryError('SIGNATURE_INVALID', `${what}: payloadType ${env.payloadType.slice(0, 80)} is not ${IN_TOTO_PAYLOAD}`);
  const payload = Buffer.from(env.payload, 'base64');
  const msg = pae(env.payloadType, payload);
  let known = false;
  for (const s of env.signatures) {
    const candidates = trusted.filter((k) => s.keyid === undefined || s.keyid === '' || s.keyid === k.id);
    if (candidates.length > 0) known = true;
    for (const k of candidates) {
      const sig = Buffer.from(s.sig, 'base64');
      const ok = algorithmOf(k.key) === 'ed25519' ? verify(null, msg, k.key, sig) : verify('sha256', msg, { key: k.key, dsaEncoding: 'der' }, sig);
      if (!ok) continue;
      const st = StatementSchema.safeParse(JSON.parse(payload.toString('utf8')));
      if (!st.success) throw new RegistryError('SIGNATURE_INVALID', `${what}: the signed payload is not an in-toto Statement v1`);
      const hit = st.data.subject.find((x) => x.digest.sha256 === hexOf(digest));
      if (!hit) throw new RegistryError('SIGNATURE_INVALID', `${what}: the signature is valid but for another manifest (${st.data.subject.map((x) => x.digest.sha256?.slice(0, 12)).join(', ')}), not ${digest}`);
      return { keyId: k.id, name: hit.name };
    }
  }
  if (!known) throw new RegistryError('PUBLISHER_UNKNOWN', `${what}: signed by key ${env.signatures.map((s) => s.keyid?.slice(0, 16) ?? '?').join(', ')}, which is not a publisher key of this topology (registry.publishers); refused`);
  throw new RegistryError('SIGNATURE_INVALID', `${what}: the signature does not verify under the publisher key it names; refused (tampered manifest or signature)`);
}

/** Parses a public key (SPKI PEM) as a publisher key. */
export function publisherKey(pem: string, what: string): PublisherKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`${what}: not a PEM public key (${(err as Error).message})`);
  }
  algorithmOf(key);
  return { id: keyId(key), key };
}

/** Loads the signing key at `file` (PKCS#8 PEM), generating an Ed25519 one (mode 0600) and its .pub if missing. */
export function loadOrCreateSigningKey(file: string): KeyObject {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    try {
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      writeFileSync(`${file}.pub`, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const key = createPrivateKey(readFileSync(file));
  algorithmOf(key);
  return key;
}
