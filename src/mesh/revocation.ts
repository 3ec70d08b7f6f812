// Revocation: a deny list of identities, certificate serials and signing CAs, in the trust
// domain's revoked.json (written by `sovereign mesh revoke`). Every process watches the file
// and applies a change within a poll interval (200 ms): new handshakes of a revoked peer are
// refused and its open connections are closed. With state.backend postgres the list is also
// kept in PostgreSQL and announced with NOTIFY, so gateway replicas on other machines apply it.
import { existsSync, readFileSync, unwatchFile, watchFile } from 'node:fs';
import { z } from 'zod';
import { writeFileDurable } from '../common/durable-file.ts';

export const RevocationSchema = z.strictObject({
  /** A SPIFFE ID: every certificate naming it. */
  spiffe_id: z.string().optional(),
  /** One certificate, by serial (hex). */
  serial: z.string().optional(),
  /** A signing CA by subject common name (e.g. "Sovereign region eu-paris CA"): everything it issued. */
  ca: z.string().optional(),
  time: z.string(),
  reason: z.string().default(''),
});
export type Revocation = z.infer<typeof RevocationSchema>;
const FileSchema = z.strictObject({ version: z.number().int().min(0), revoked: z.array(RevocationSchema) });
export type RevocationList = z.infer<typeof FileSchema>;

export const EMPTY_REVOCATIONS: RevocationList = { version: 0, revoked: [] };

export function readRevocations(file: string): RevocationList {
  if (!existsSync(file)) return EMPTY_REVOCATIONS;
  const parsed = FileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`the revocation list ${file} is not valid (${parsed.error.issues[0]?.message}); restore it from a backup, every revocation in it stays in force until then`);
  return parsed.data;
}

export async function writeRevocations(file: string, list: RevocationList): Promise<void> {
  await writeFileDurable(file, `${JSON.stringify(list, null, 2)}\n`, { mode: 0o644 });
}

/** Why a certificate (its SPIFFE ID, serial and issuer CA name) is revoked, or null. */
export function revokedBecause(list: RevocationList, id: string, serial: string, caName: string): string | null {
  const sn = serial.toLowerCase().replace(/^0+/, '');
  for (const r of list.revoked) {
    if (r.spiffe_id !== undefined && r.spiffe_id === id) return `identity ${id} revoked at ${r.time}${r.reason ? ` (${r.reason})` : ''}`;
    if (r.serial !== undefined && r.serial.toLowerCase().replace(/^0+/, '') === sn) return `certificate ${serial} revoked at ${r.time}${r.reason ? ` (${r.reason})` : ''}`;
    if (r.ca !== undefined && r.ca === caName) return `its issuer "${caName}" revoked at ${r.time}${r.reason ? ` (${r.reason})` : ''}`;
  }
  return null;
}

/** The list in force in this process, from the file (polled) and any extra source (PostgreSQL). */
export class RevocationWatch {
  readonly #file: string;
  #fromFile: RevocationList;
  #extra: Revocation[] = [];
  #listeners: (() => void)[] = [];
  #onError: (err: Error) => void;

  constructor(file: string, onError: (err: Error) => void) {
    this.#file = file;
    this.#onError = onError;
    this.#fromFile = readRevocations(file);
    watchFile(file, { interval: 200, persistent: false }, this.#poll);
  }

  readonly #poll = (): void => this.#reload();

  #reload(): void {
    try {
      this.#fromFile = readRevocations(this.#file);
      this.#emit();
    } catch (err) {
      // Fail closed would refuse everyone; keep the last good list (it only grows) and say so.
      this.#onError(err as Error);
    }
  }

  #emit(): void {
    for (const l of this.#listeners) l();
  }

  /** Revocations from another source (PostgreSQL) join the file's. */
  setExtra(list: Revocation[]): void {
    this.#extra = list;
    this.#emit();
  }

  get list(): RevocationList {
    return this.#extra.length === 0 ? this.#fromFile : { version: this.#fromFile.version, revoked: [...this.#fromFile.revoked, ...this.#extra] };
  }

  onChange(cb: () => void): void {
    this.#listeners.push(cb);
  }

  close(): void {
    unwatchFile(this.#file, this.#poll);
    this.#listeners = [];
  }
}

/** Adds a revocation to the list in `file` (a new version); returns the new list. */
export async function addRevocation(file: string, r: Omit<Revocation, 'time'>): Promise<RevocationList> {
  const cur = readRevocations(file);
  const next: RevocationList = { version: cur.version + 1, revoked: [...cur.revoked, { ...r, time: new Date().toISOString() }] };
  await writeRevocations(file, next);
  return next;
}
