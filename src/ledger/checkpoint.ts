// C2SP tlog-checkpoint: the note text "<origin>\n<size>\n<base64 root>\n[extension lines]".
import { LedgerError } from './errors.ts';
import { HASH_SIZE } from './merkle.ts';
import { openNote, type NoteVerifier } from './note.ts';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  /** Extension lines (tlog-checkpoint, "Note text" 4.), without newlines; normally empty. */
  extensions: string[];
}

/** Formats the checkpoint note text (tlog-checkpoint, "Note text"). */
export function formatCheckpoint(c: { origin: string; size: number; root: Uint8Array }): string {
  if (c.origin.length === 0 || c.origin.includes('\n')) throw new Error('bad checkpoint origin');
  return `${c.origin}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n`;
}

/** Parses checkpoint note text, strictly: the size has no leading zeroes, the root is 32 bytes. */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string): never => {
    throw new LedgerError('SOVEREIGN_LEDGER_BAD_CHECKPOINT', `malformed checkpoint: ${why}`);
  };
  if (!text.endsWith('\n')) bad('text does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('fewer than three lines');
  const [origin, sizeLine, rootLine] = lines as [string, string, string];
  if (origin.length === 0) bad('empty origin');
  // 2. tree size: ASCII decimal, no leading zeroes unless 0.
  if (!/^(0|[1-9]\d*)$/.test(sizeLine)) bad(`bad tree size ${JSON.stringify(sizeLine)}`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) bad('tree size too large');
  const root = Buffer.from(rootLine, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootLine) bad('root hash is not base64 of 32 bytes');
  const extensions = lines.slice(3);
  // 4. Extension lines, if any, MUST be non-empty.
  if (extensions.some((l) => l.length === 0)) bad('empty extension line');
  return { origin, size, root, extensions };
}

/** Opens a signed checkpoint with the log's verifier and checks the origin. */
export function openCheckpoint(note: string, logVerifier: NoteVerifier, origin?: string): Checkpoint & { text: string } {
  const { text } = openNote(note, [logVerifier]);
  const c = parseCheckpoint(text);
  const want = origin ?? logVerifier.name;
  if (c.origin !== want) throw new LedgerError('SOVEREIGN_LEDGER_BAD_CHECKPOINT', `checkpoint origin ${JSON.stringify(c.origin)} is not ${JSON.stringify(want)}`);
  return { ...c, text };
}
