// C2SP tlog-proof@v1: an offline-verifiable proof that an entry is in a checkpointed log.
//
//   c2sp.org/tlog-proof@v1
//   extra <base64>            (optional; here: the entry's canonical JSON, so receipts are self-contained)
//   index <N>
//   <base64 hash>...          (RFC 6962, Section 2.1.1 inclusion proof, leaf's sibling first)
//   <empty line>
//   <checkpoint, verbatim, with signatures and cosignatures>
import { openCheckpoint } from './checkpoint.ts';
import { LedgerError } from './errors.ts';
import { HASH_SIZE, hashLeaf, verifyInclusion } from './merkle.ts';
import { parseNote, parseVkey, type NoteVerifier } from './note.ts';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export function formatTlogProof(p: { index: number; proof: readonly Uint8Array[]; checkpoint: string; extra?: Uint8Array }): string {
  let out = `${TLOG_PROOF_HEADER}\n`;
  if (p.extra !== undefined) out += `extra ${Buffer.from(p.extra).toString('base64')}\n`;
  out += `index ${p.index}\n`;
  for (const h of p.proof) out += `${Buffer.from(h).toString('base64')}\n`;
  return `${out}\n${p.checkpoint}`;
}

export interface ParsedTlogProof {
  index: number;
  proof: Buffer[];
  checkpoint: string;
  extra: Buffer | undefined;
}

const fail = (why: string): never => {
  throw new LedgerError('SOVEREIGN_LEDGER_PROOF_INVALID', `invalid tlog-proof: ${why}`);
};

export function parseTlogProof(text: string): ParsedTlogProof {
  const lines = text.split('\n');
  let i = 0;
  // The first line MUST be the string c2sp.org/tlog-proof@v1.
  if (lines[i++] !== TLOG_PROOF_HEADER) fail('missing c2sp.org/tlog-proof@v1 header');
  let extra: Buffer | undefined;
  if (lines[i]?.startsWith('extra ')) {
    const b64 = (lines[i++] as string).slice(6);
    extra = Buffer.from(b64, 'base64');
    if (extra.toString('base64') !== b64) fail('extra data is not base64');
  }
  // index: ASCII decimal, no leading zeroes unless 0.
  const m = /^index (0|[1-9]\d*)$/.exec(lines[i++] ?? '');
  if (m === null) fail('missing or malformed index line');
  const index = Number((m as RegExpExecArray)[1]);
  if (!Number.isSafeInteger(index)) fail('index too large');
  const proof: Buffer[] = [];
  while (i < lines.length && lines[i] !== '') {
    const b64 = lines[i++] as string;
    const h = Buffer.from(b64, 'base64');
    if (h.length !== HASH_SIZE || h.toString('base64') !== b64) fail('proof hash is not base64 of 32 bytes');
    proof.push(h);
  }
  if (lines[i] !== '') fail('missing empty line before the checkpoint');
  const checkpoint = lines.slice(i + 1).join('\n');
  return { index, proof, checkpoint, extra };
}

/** Log and witness keys that a proof must satisfy. */
export interface VerifierKeys {
  /** The log's vkey (`<origin>+<hash>+<base64>`). */
  log: string;
  /** Witness cosigner vkeys (type 0x04). */
  witnesses?: readonly string[];
  /** How many distinct witnesses must have cosigned (default 0). */
  quorum?: number;
}

export interface VerifiedProof {
  index: number;
  size: number;
  root: Buffer;
  origin: string;
  /** The logged entry bytes (from `extra`, or the `entry` passed in). */
  entry: Buffer;
  /** Names of the witnesses whose cosignatures verified. */
  cosigners: string[];
}

/**
 * Verifies a tlog-proof offline: the log signature on the checkpoint, the witness quorum,
 * and the RFC 9162 inclusion of the entry (given, or carried in `extra`) at `index`.
 */
export function verifyProof(text: string, keys: VerifierKeys | string, entry?: Uint8Array): VerifiedProof {
  const k: VerifierKeys = typeof keys === 'string' ? { log: keys } : keys;
  const p = parseTlogProof(text);
  const logV = parseVkey(k.log);
  const cp = openCheckpoint(p.checkpoint, logV);
  const cosigners = verifiedCosigners(p.checkpoint, cp.text, (k.witnesses ?? []).map(parseVkey));
  const quorum = k.quorum ?? 0;
  if (cosigners.length < quorum) fail(`${cosigners.length} of ${quorum} required witness cosignatures`);
  const data = entry !== undefined ? Buffer.from(entry) : p.extra;
  if (data === undefined) fail('no entry given and no extra data in the proof');
  if (entry !== undefined && p.extra !== undefined && !p.extra.equals(Buffer.from(entry))) fail('extra data differs from the given entry');
  if (!verifyInclusion(hashLeaf(data as Buffer), p.index, cp.size, p.proof, cp.root)) fail(`inclusion proof for index ${p.index} does not verify against the checkpoint root`);
  return { index: p.index, size: cp.size, root: cp.root, origin: cp.origin, entry: data as Buffer, cosigners };
}

/** Names of the given cosigners whose signatures on the note verify (distinct). */
export function verifiedCosigners(note: string, text: string, witnesses: readonly NoteVerifier[]): string[] {
  const out: string[] = [];
  for (const s of parseNote(note).signatures) {
    const w = witnesses.find((v) => v.name === s.name && v.keyId.equals(s.keyId));
    if (w !== undefined && w.verify(text, s.sig) && !out.includes(w.name)) out.push(w.name);
  }
  return out;
}
