// The cell's checkpoint archive: signed checkpoints with the cosignatures they gathered, one file
// per tree size, at most one per `intervalMs`. The log itself serves only its latest checkpoint;
// a compliance report cites the archived one in force when its period began and proves the
// period's entries consistent with it (RFC 9162, Section 2.1.4).
//
// Thinning: a busy log archives a checkpoint every few seconds, 17,000 files a day. Past
// `keepAllMs` only the last checkpoint of each hour is kept (and always the newest): a report
// over an older period then starts from the last checkpoint of the hour before its first entry,
// a smaller tree, and its consistency proof is one or two hashes longer. Nothing a report needs
// to verify is lost: any archived checkpoint that is a prefix of the log will do as a start.
import { readdirSync, statSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurable } from '../common/index.ts';

const HOUR_MS = 3_600_000;

export interface CheckpointArchiveOptions {
  /** Shortest time between two archived checkpoints. */
  intervalMs: number;
  /** Every archived checkpoint younger than this is kept; older ones are thinned to one per hour. */
  keepAllMs: number;
  /** Called when a thinned file could not be removed (it is tried again at the next thinning). */
  onError?: (err: Error) => void;
}

interface Archived {
  size: number;
  /** When it was archived (ms since the epoch; the file's mtime after a restart). */
  at: number;
}

export class CheckpointArchive {
  readonly #dir: string;
  readonly #opts: CheckpointArchiveOptions;
  /** In ascending size (= time) order. */
  #items: Archived[];
  #lastAt = 0;
  #lastThinned = 0;

  constructor(dir: string, opts: CheckpointArchiveOptions) {
    this.#dir = dir;
    this.#opts = opts;
    this.#items = readdirSync(dir)
      .filter((n) => /^(0|[1-9]\d*)$/.test(n))
      .map((n) => ({ size: Number(n), at: statSync(path.join(dir, n)).mtimeMs }))
      .sort((a, b) => a.size - b.size);
  }

  /** Sizes archived, ascending. */
  sizes(): number[] {
    return this.#items.map((i) => i.size);
  }

  /** Archives `note` (a checkpoint of `size`) unless one was archived less than intervalMs ago or the archive already holds this size or a larger one. */
  async add(size: number, note: string, now = Date.now()): Promise<boolean> {
    const last = this.#items[this.#items.length - 1];
    if (now - this.#lastAt < this.#opts.intervalMs || (last !== undefined && last.size >= size)) return false;
    await writeFileDurable(path.join(this.#dir, String(size)), note, { mode: 0o644 });
    this.#items.push({ size, at: now });
    this.#lastAt = now;
    if (now - this.#lastThinned >= this.#opts.intervalMs * 60) await this.thin(now);
    return true;
  }

  /** The latest archived checkpoint of size at most `size`, or null. */
  async atMost(size: number): Promise<string | null> {
    let found: number | undefined;
    for (const i of this.#items) {
      if (i.size > size) break;
      found = i.size;
    }
    return found === undefined ? null : readFile(path.join(this.#dir, String(found)), 'utf8');
  }

  /** Removes archived checkpoints older than keepAllMs that are not the last of their hour (never the newest). */
  async thin(now = Date.now()): Promise<number> {
    this.#lastThinned = now;
    const cutoff = now - this.#opts.keepAllMs;
    const drop = new Set<number>();
    for (let k = 0; k < this.#items.length - 1; k++) {
      const cur = this.#items[k] as Archived;
      const next = this.#items[k + 1] as Archived;
      if (cur.at >= cutoff) break;
      // Not the last of its hour: the next one falls in the same hour.
      if (Math.floor(cur.at / HOUR_MS) === Math.floor(next.at / HOUR_MS)) drop.add(cur.size);
    }
    let removed = 0;
    for (const size of drop) {
      try {
        await unlink(path.join(this.#dir, String(size)));
        removed++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.#opts.onError?.(err as Error);
          drop.delete(size);
        } else removed++;
      }
    }
    this.#items = this.#items.filter((i) => !drop.has(i.size));
    return removed;
  }
}
