// C2SP signed-note (Ed25519, type 0x01) and tlog-cosignature/v1 (timestamped Ed25519, type 0x04).
import { createPrivateKey, createPublicKey, hash, sign, verify, type KeyObject } from 'node:crypto';
import { LedgerError } from './errors.ts';

/** signed-note, "Signature types": 0x01 Ed25519. */
export const SIG_ED25519 = 0x01;
/** signed-note, "Signature types": 0x04 timestamped Ed25519 witness cosignatures (tlog-cosignature). */
export const SIG_COSIGNATURE_V1 = 0x04;

const EM_DASH = '\u2014';
/** signed-note, "Format": verifiers MUST accept at least 16 signatures; we cap at 100 like Go's note package. */
const MAX_SIGNATURES = 100;

/** signed-note, "Format": key names are non-empty and contain no Unicode spaces or '+'. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !/\p{Zs}/u.test(name);
}

/** key ID = SHA-256(key name || 0x0A || signature type || public key)[:4] (signed-note, "Signatures"). */
export function keyId(name: string, type: number, publicKey: Uint8Array): Buffer {
  const h = hash('sha256', Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, type]), publicKey]), 'buffer');
  return h.subarray(0, 4);
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(priv: KeyObject): Buffer {
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(spki.length - 32));
}

/** A note signer: the key name, key ID and a function producing the signature bytes (after the ID). */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: Buffer;
  sign(text: string): Buffer;
}

/** A note verifier, matched to a signature line by (name, key ID). */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Buffer;
  readonly type: number;
  readonly publicKey: Buffer;
  verify(text: string, sig: Buffer): boolean;
}

/** An Ed25519 note signer (signed-note, "Ed25519 signatures"): signs the note text. */
export function ed25519Signer(name: string, seed: Uint8Array): NoteSigner & { publicKey: Buffer; vkey: string } {
  if (!isValidKeyName(name)) throw new Error(`invalid key name ${JSON.stringify(name)}`);
  const priv = ed25519PrivateKey(seed);
  const pub = rawPublicKey(priv);
  const id = keyId(name, SIG_ED25519, pub);
  return {
    name,
    keyId: id,
    publicKey: pub,
    vkey: formatVkey(name, SIG_ED25519, pub),
    sign: (text) => sign(null, Buffer.from(text, 'utf8'), priv),
  };
}

/** `<name>+<hex key ID>+<base64(type || public key)>` (signed-note vkey form, as golang.org/x/mod/sumdb/note). */
export function formatVkey(name: string, type: number, publicKey: Uint8Array): string {
  return `${name}+${keyId(name, type, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([type]), publicKey]).toString('base64')}`;
}

/** Go note skey form: `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`. */
export function formatSkey(name: string, seed: Uint8Array): string {
  const pub = rawPublicKey(ed25519PrivateKey(seed));
  return `PRIVATE+KEY+${name}+${keyId(name, SIG_ED25519, pub).toString('hex')}+${Buffer.concat([Buffer.from([SIG_ED25519]), seed]).toString('base64')}`;
}

/** Parses a Go-style skey; returns the name and the 32-byte Ed25519 seed. */
export function parseSkey(skey: string): { name: string; seed: Buffer } {
  const parts = skey.trim().split('+');
  // The base64 key material may itself contain '+'.
  if (parts.length < 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw new Error('malformed private key');
  const name = parts[2] as string;
  const raw = Buffer.from(parts.slice(4).join('+'), 'base64');
  if (raw.length !== 33 || raw[0] !== SIG_ED25519) throw new Error('unsupported private key type');
  const seed = raw.subarray(1);
  const pub = rawPublicKey(ed25519PrivateKey(seed));
  if (keyId(name, SIG_ED25519, pub).toString('hex') !== parts[3]) throw new Error('private key hash mismatch');
  return { name, seed: Buffer.from(seed) };
}

/**
 * Parses a vkey `<name>+<hash>+<base64(type || key)>` into a verifier. Type 0x01 verifies
 * plain Ed25519 note signatures; type 0x04 verifies tlog-cosignature/v1 cosignatures.
 */
export function parseVkey(vkey: string): NoteVerifier {
  const parts = vkey.trim().split('+');
  // The base64 part may itself contain '+': rejoin everything after the second '+'.
  if (parts.length < 3) throw new LedgerError('SOVEREIGN_LEDGER_BAD_KEY', `malformed verifier key ${JSON.stringify(vkey)}`);
  const name = parts[0] as string;
  const hashHex = parts[1] as string;
  const raw = Buffer.from(parts.slice(2).join('+'), 'base64');
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(hashHex) || raw.length !== 33) {
    throw new LedgerError('SOVEREIGN_LEDGER_BAD_KEY', `malformed verifier key ${JSON.stringify(vkey)}`);
  }
  const type = raw[0] as number;
  const pub = Buffer.from(raw.subarray(1));
  if (type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) {
    throw new LedgerError('SOVEREIGN_LEDGER_BAD_KEY', `unsupported verifier key type 0x${type.toString(16)} in ${name}`);
  }
  const id = keyId(name, type, pub);
  if (id.toString('hex') !== hashHex) throw new LedgerError('SOVEREIGN_LEDGER_BAD_KEY', `verifier key hash mismatch for ${name}`);
  const key = ed25519PublicKey(pub);
  if (type === SIG_ED25519) {
    return { name, keyId: id, type, publicKey: pub, verify: (text, sig) => sig.length === 64 && verify(null, Buffer.from(text, 'utf8'), key, sig) };
  }
  return {
    name,
    keyId: id,
    type,
    publicKey: pub,
    verify: (text, sig) => {
      // tlog-cosignature: timestamped_signature = u64 timestamp || ed25519_signature[64].
      if (sig.length !== 72) return false;
      const ts = sig.readBigUInt64BE(0);
      if (ts > 2n ** 63n - 1n) return false;
      return verify(null, cosignatureMessage(text, ts), key, sig.subarray(8));
    },
  };
}

/** The tlog-cosignature "Ed25519 signed message": "cosignature/v1\ntime <ts>\n" || note body. */
export function cosignatureMessage(body: string, timestamp: bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp.toString()}\n${body}`, 'utf8');
}

/** A tlog-cosignature/v1 signer (type 0x04). `now` returns POSIX seconds. */
export function cosignatureSigner(
  name: string,
  seed: Uint8Array,
  now: () => number = () => Math.floor(Date.now() / 1000),
): NoteSigner & { publicKey: Buffer; vkey: string } {
  if (!isValidKeyName(name)) throw new Error(`invalid key name ${JSON.stringify(name)}`);
  const priv = ed25519PrivateKey(seed);
  const pub = rawPublicKey(priv);
  return {
    name,
    keyId: keyId(name, SIG_COSIGNATURE_V1, pub),
    publicKey: pub,
    vkey: formatVkey(name, SIG_COSIGNATURE_V1, pub),
    sign: (text) => {
      const ts = BigInt(now());
      const out = Buffer.alloc(72);
      out.writeBigUInt64BE(ts, 0);
      sign(null, cosignatureMessage(text, ts), priv).copy(out, 8);
      return out;
    },
  };
}

/** One `— <name> <base64>` line of a note. */
export interface NoteSignature {
  name: string;
  keyId: Buffer;
  sig: Buffer;
  line: string;
}

/** A parsed (not yet verified) note. */
export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

/** Formats one signature line (signed-note, "Format"). */
export function signatureLine(name: string, id: Uint8Array, sig: Uint8Array): string {
  return `${EM_DASH} ${name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
}

/** Signs a note text with the given signers (text must end in a newline). */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  let out = `${text}\n`;
  for (const s of signers) out += signatureLine(s.name, s.keyId, s.sign(text));
  return out;
}

function checkText(text: string): void {
  if (!text.endsWith('\n')) throw new LedgerError('SOVEREIGN_LEDGER_BAD_NOTE', 'note text must end in a newline');
  // signed-note, "Format": no ASCII control characters other than newline.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new LedgerError('SOVEREIGN_LEDGER_BAD_NOTE', 'note text contains control characters');
}

/** Splits a signed note into its text and signature lines (signed-note, "Format"). */
export function parseNote(note: string): ParsedNote {
  // The text is separated from the signatures by the last empty line in the note.
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new LedgerError('SOVEREIGN_LEDGER_BAD_NOTE', 'malformed note: no signature block');
  const text = note.slice(0, split + 1);
  checkText(text);
  const sigLines = note.slice(split + 2, -1).split('\n');
  if (sigLines.length > MAX_SIGNATURES) throw new LedgerError('SOVEREIGN_LEDGER_BAD_NOTE', 'note has too many signatures');
  const signatures: NoteSignature[] = [];
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
    if (m === null) throw new LedgerError('SOVEREIGN_LEDGER_BAD_NOTE', `malformed signature line ${JSON.stringify(line.slice(0, 80))}`);
    const raw = Buffer.from(m[2] as string, 'base64');
    if (raw.length < 5 || raw.toString('base64') !== m[2]) throw new LedgerError('SOVEREIGN_LEDGER_BAD_NOTE', 'malformed signature encoding');
    signatures.push({ name: m[1] as string, keyId: raw.subarray(0, 4), sig: raw.subarray(4), line: `${line}\n` });
  }
  if (signatures.length === 0) throw new LedgerError('SOVEREIGN_LEDGER_BAD_NOTE', 'note has no signatures');
  return { text, signatures };
}

/**
 * Opens a note against known verifiers (signed-note, "Signatures"): unknown keys are ignored;
 * a known key whose signature fails rejects the whole note; at least one known key must verify.
 * Returns the text and the verifiers that verified.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): { text: string; verified: NoteVerifier[] } {
  const parsed = parseNote(note);
  const verified: NoteVerifier[] = [];
  for (const s of parsed.signatures) {
    const v = verifiers.find((k) => k.name === s.name && k.keyId.equals(s.keyId));
    if (v === undefined) continue;
    if (!v.verify(parsed.text, s.sig)) throw new LedgerError('SOVEREIGN_LEDGER_BAD_SIGNATURE', `signature by ${s.name} does not verify`);
    if (!verified.includes(v)) verified.push(v);
  }
  if (verified.length === 0) throw new LedgerError('SOVEREIGN_LEDGER_BAD_SIGNATURE', 'no signature from a known key');
  return { text: parsed.text, verified };
}

/** The POSIX timestamp of a cosignature/v1 signature (after the key ID). */
export function cosignatureTimestamp(sig: Buffer): bigint {
  if (sig.length !== 72) throw new Error('not a cosignature/v1 signature');
  return sig.readBigUInt64BE(0);
}
