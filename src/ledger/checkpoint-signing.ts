// Checkpoint signing and serving (c2sp.org/tlog-checkpoint, c2sp.org/signed-note). A checkpoint
// is signed only once the tiles it covers are durable (integration.ts), only if it is
// consistent with the latest stored one, and it is published (the `checkpoint` file of the
// static layout) only after it replaced that one in the driver's checkpoint lock: "the log MUST
// NOT sign two checkpoints that are not consistent with each other" (tlog-checkpoint,
// "Signatures"). Witness cosignatures (c2sp.org/tlog-cosignature) ride on the served copy.
import path from 'node:path';
import { formatCheckpoint } from './checkpoint.ts';
import { LedgerError, unavailable } from './errors.ts';
import { writeFileDurable } from '../common/durable-file.ts';
import { consistencyProof, verifyConsistency, type SubtreeHashFn } from './merkle.ts';
import { parseNote, parseVkey, signNote, type NoteSigner } from './note.ts';
import type { LedgerStats } from './stats.ts';
import type { CheckpointLock, StoredCheckpoint } from './storage.ts';

export const CHECKPOINT = 'checkpoint';

interface Served extends StoredCheckpoint {
  /** Witness cosignature lines for this checkpoint. */
  cosignatures: string[];
}

export class CheckpointSigning {
  readonly #dir: string;
  readonly #origin: string;
  readonly #signer: NoteSigner;
  readonly #stats: LedgerStats;
  #served: Served | null = null;

  constructor(dir: string, origin: string, signer: NoteSigner, stats: LedgerStats) {
    this.#dir = dir;
    this.#origin = origin;
    this.#signer = signer;
    this.#stats = stats;
  }

  /** The checkpoint served now, without cosignatures (null before the first). */
  get current(): StoredCheckpoint | null {
    return this.#served;
  }

  /** Size of the latest served checkpoint (0 before the first). */
  get size(): number {
    return this.#served?.size ?? 0;
  }

  /** Recovery: the checkpoint found in storage is the one served (its file is the caller's). */
  adopt(cp: StoredCheckpoint | null): void {
    this.#served = cp === null ? null : { ...cp, cosignatures: [] };
  }

  /** The latest checkpoint note with any witness cosignatures ('' before the first). */
  note(): string {
    return this.#served === null ? '' : this.#served.note + this.#served.cosignatures.join('');
  }

  /**
   * Once tiles up to `size` are durable: a sequencer signs (size, root) if it extends `stored`
   * (the latest checkpoint in the lock) and swaps it in; a follower serves `stored`. Either way
   * the served checkpoint is replaced only by a larger (or first) one.
   */
  async publish(size: number, root: Buffer, stored: StoredCheckpoint | null, sequencer: boolean, lock: CheckpointLock, subtree: SubtreeHashFn): Promise<void> {
    let next = stored;
    if (sequencer && (stored === null || size > stored.size)) next = await this.#sign(size, root, stored, lock, subtree);
    else if (sequencer && stored !== null && size < stored.size) {
      throw new LedgerError('SOVEREIGN_LEDGER_INCONSISTENT', `refusing to sign size ${size} below signed size ${stored.size}`);
    }
    const served = this.#served;
    if (next === null || (served !== null && (next.note === served.note || next.size < served.size))) return;
    this.#served = { ...next, cosignatures: [] };
    try {
      await writeFileDurable(path.join(this.#dir, CHECKPOINT), next.note, { mode: 0o644 });
      this.#stats.fileSyncs += 2;
    } catch (err) {
      throw unavailable('writing checkpoint failed', err);
    }
  }

  async #sign(size: number, root: Buffer, prev: StoredCheckpoint | null, lock: CheckpointLock, subtree: SubtreeHashFn): Promise<StoredCheckpoint> {
    if (prev !== null && prev.size > 0) {
      const proof = consistencyProof(subtree, prev.size, size);
      if (!verifyConsistency(prev.size, size, proof, prev.root, root)) {
        throw new LedgerError('SOVEREIGN_LEDGER_INCONSISTENT', `tree of size ${size} is not consistent with signed checkpoint ${prev.size}; refusing to sign`);
      }
    }
    const text = formatCheckpoint({ origin: this.#origin, size, root });
    const note = signNote(text, [this.#signer]);
    let swapped: boolean;
    try {
      swapped = await lock.replace(prev?.note ?? '', size, note);
    } catch (err) {
      if (err instanceof LedgerError) throw err;
      throw unavailable('storing the checkpoint failed', err);
    }
    if (!swapped) throw new LedgerError('SOVEREIGN_LEDGER_LOCKED', `the stored checkpoint of ${this.#origin} changed under us (another writer?); refusing to sign`);
    this.#stats.checkpoints++;
    return { size, root, note, text };
  }

  /**
   * Attaches witness cosignature lines (a c2sp.org/tlog-witness add-checkpoint response body) to
   * the served checkpoint, keeping only lines that verify against one of `witnessKeys` (vkeys).
   * Rewrites the served checkpoint; returns how many cosignatures were added.
   */
  async addCosignature(signatureLines: string, witnessKeys: readonly string[]): Promise<number> {
    const cp = this.#served;
    if (cp === null) return 0;
    const verifiers = witnessKeys.map(parseVkey);
    const parsed = parseNote(`${cp.text}\n${signatureLines.endsWith('\n') ? signatureLines : `${signatureLines}\n`}`);
    let added = 0;
    for (const s of parsed.signatures) {
      const v = verifiers.find((k) => k.name === s.name && k.keyId.equals(s.keyId));
      if (v === undefined || !v.verify(cp.text, s.sig)) continue;
      if (cp.cosignatures.some((l) => l.startsWith(`\u2014 ${s.name} `))) continue;
      cp.cosignatures.push(s.line);
      added++;
    }
    if (added > 0 && this.#served === cp) {
      try {
        await writeFileDurable(path.join(this.#dir, CHECKPOINT), this.note(), { mode: 0o644 });
      } catch (err) {
        throw unavailable('writing checkpoint failed', err);
      }
    }
    return added;
  }
}
