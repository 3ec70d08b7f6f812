// C2SP tlog-witness `add-checkpoint` handling and tlog-cosignature/v1 cosigning, as a function
// of the request body; the witness's last cosigned (size, root) per origin is persisted in `dir`.
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileDurableSync } from '../common/durable-file.ts';
import path from 'node:path';
import { parseCheckpoint } from './checkpoint.ts';
import { LedgerError } from './errors.ts';
import { loadWitnessSigner } from './keys.ts';
import { HASH_SIZE, verifyConsistency } from './merkle.ts';
import { openNote, parseNote, parseVkey, signatureLine, type NoteVerifier } from './note.ts';
import { verifiedCosigners } from './tlogproof.ts';

export interface WitnessOptions {
  /** Witness state directory (its last-seen checkpoints); keys go in `keyDir` (default: `dir`). */
  dir: string;
  /** The witness's key name, e.g. `witness.sovereign.example/eu`. */
  name: string;
  keyDir?: string;
  /** Logs this witness follows: their verifier keys (the key name is the origin). */
  logs: readonly string[];
  /** POSIX seconds for cosignature timestamps (default: now). */
  now?: () => number;
}

export interface WitnessResponse {
  status: number;
  body: string;
  contentType: string;
}

export interface Witness {
  readonly name: string;
  /** The cosigner vkey (signature type 0x04). */
  readonly verifierKey: string;
  /** Handles a tlog-witness add-checkpoint request body (POST <prefix>/add-checkpoint). */
  addCheckpoint(requestBody: string): WitnessResponse;
}

type State = Record<string, { size: number; root: string }>;

const reply = (status: number, body: string, contentType = 'text/plain; charset=utf-8'): WitnessResponse => ({ status, body, contentType });

/** Creates a witness. Check-and-persist runs synchronously, so requests are atomic per process. */
export function createWitness(opts: WitnessOptions): Witness {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const signer = loadWitnessSigner(opts.keyDir ?? opts.dir, opts.name, opts.now);
  const logs = new Map<string, NoteVerifier>();
  for (const k of opts.logs) {
    const v = parseVkey(k);
    logs.set(v.name, v);
  }
  const stateFile = path.join(opts.dir, 'witness-state.json');
  const load = (): State => {
    try {
      return JSON.parse(readFileSync(stateFile, 'utf8')) as State;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  };
  const save = (s: State): void => {
    writeFileDurableSync(stateFile, JSON.stringify(s));
  };

  return {
    name: opts.name,
    verifierKey: signer.vkey,
    addCheckpoint(requestBody) {
      // Request: "old <N>\n", zero or more base64 proof lines, an empty line, then the checkpoint.
      const lines = requestBody.split('\n');
      const m = /^old (0|[1-9]\d*)$/.exec(lines[0] ?? '');
      if (m === null) return reply(400, 'malformed old size line\n');
      const oldSize = Number(m[1]);
      const proof: Buffer[] = [];
      let i = 1;
      while (i < lines.length && lines[i] !== '') {
        const b64 = lines[i++] as string;
        const h = Buffer.from(b64, 'base64');
        if (h.length !== HASH_SIZE || h.toString('base64') !== b64) return reply(400, 'malformed consistency proof line\n');
        proof.push(h);
      }
      // "The client MUST NOT send more than 63 consistency proof lines."
      if (proof.length > 63 || i >= lines.length) return reply(400, 'malformed request\n');
      const note = lines.slice(i + 1).join('\n');
      let origin: string;
      try {
        origin = parseNote(note).text.split('\n')[0] as string;
      } catch {
        return reply(400, 'malformed checkpoint\n');
      }
      const logKey = logs.get(origin);
      // "If the checkpoint origin is unknown, the witness MUST respond with a 404 Not Found".
      if (logKey === undefined) return reply(404, 'unknown log origin\n');
      let text: string;
      try {
        text = openNote(note, [logKey]).text;
      } catch {
        // "If none of the signatures verify against a trusted public key ... 403 Forbidden".
        return reply(403, 'checkpoint signature does not verify\n');
      }
      let cp;
      try {
        cp = parseCheckpoint(text);
      } catch {
        return reply(400, 'malformed checkpoint body\n');
      }
      // "The old size MUST be equal to or lower than the checkpoint size" else 400.
      if (oldSize > cp.size) return reply(400, 'old size is larger than the checkpoint size\n');
      const state = load();
      const latest = state[origin];
      const latestSize = latest?.size ?? 0;
      // "The witness MUST check that the old size matches the size of the latest checkpoint it cosigned" else 409 + size.
      if (oldSize !== latestSize) return reply(409, `${latestSize}\n`, 'text/x.tlog.size');
      if (oldSize === cp.size) {
        // "If the old size matches the checkpoint size, ... root hashes ... identical" else 409.
        if (latest !== undefined && latest.root !== cp.root.toString('base64')) return reply(409, `${latestSize}\n`, 'text/x.tlog.size');
        if (proof.length !== 0) return reply(422, 'consistency proof must be empty for equal sizes\n');
      } else {
        const oldRoot = latest === undefined ? Buffer.alloc(0) : Buffer.from(latest.root, 'base64');
        // RFC 6962, Section 2.1.2 consistency from old size; "MUST be empty if the old size is zero"; else 422.
        if (!verifyConsistency(oldSize, cp.size, proof, oldRoot, cp.root)) return reply(422, 'consistency proof does not verify\n');
      }
      // "The witness MUST persist the new checkpoint before responding."
      state[origin] = { size: cp.size, root: cp.root.toString('base64') };
      save(state);
      return reply(200, signatureLine(signer.name, signer.keyId, signer.sign(text)));
    },
  };
}

/**
 * Whether a checkpoint note carries valid tlog-cosignature/v1 cosignatures from at least
 * `quorum` distinct cosigners among `cosigners` (vkeys). The log signature is not checked here.
 */
export function anchored(checkpoint: string, cosigners: readonly string[], quorum: number): { ok: boolean; cosigners: string[] } {
  let text: string;
  try {
    text = parseNote(checkpoint).text;
  } catch (err) {
    throw new LedgerError('SOVEREIGN_LEDGER_BAD_NOTE', `not a checkpoint note: ${(err as Error).message}`);
  }
  const names = verifiedCosigners(checkpoint, text, cosigners.map(parseVkey));
  return { ok: names.length >= quorum, cosigners: names };
}
