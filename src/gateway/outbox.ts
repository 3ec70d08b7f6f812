// Ledger records that could not be delivered right away (a transfer or denial record for a
// home region that is down), and erasures asked while a region was down, are kept in the
// gateway's data directory and delivered when the region is back: nothing is lost. Append-only
// JSON lines, fsync'd; rewritten after delivery.
//
// A record the cell refuses for good (append-refused.ts) is never retried: it moves to the
// dead-letter file next to the outbox (written durably before the outbox is rewritten without
// it), with the cell's answer, for an operator to look at; a log line and the
// sovereign_ledger_dead_letter_records metric say so.
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { fsyncDirSync, writeFileDurableSync } from '../common/durable-file.ts';
import type { Logger } from '../common/index.ts';
import { isPermanentRefusal, type AppendRefused } from './append-refused.ts';

export interface PendingRecord {
  kind?: undefined;
  region: string;
  entry: Record<string, unknown>;
  body_sha256?: string;
}

/** A data subject's erasure for a region that could not be reached when it was asked. */
export interface PendingErasure {
  kind: 'erasure';
  region: string;
  /** The subject id as given (the gateway cannot key it: each region hashes with its own secret). */
  subject: string;
  tenant: string | null;
  requested: string;
}

export type OutboxItem = PendingRecord | PendingErasure;

/** A line of the dead-letter file: the item, when and why the cell refused it. */
export type DeadLetter = OutboxItem & { refused: { time: string; status: number; message: string } };

function readLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return []; // a torn last line from a crash
      }
    });
}

function appendLineDurably(file: string, value: unknown): void {
  const fd = openSync(file, 'a', 0o600);
  try {
    appendFileSync(fd, `${JSON.stringify(value)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The file-name part of a replica name. */
function fileName(replica: string): string {
  return replica.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * Items waiting in the outboxes of a gateway replica and all its workers (files
 * ledger-outbox-<replica>.jsonl and ledger-outbox-<replica>-w<n>.jsonl): what the files say,
 * whichever worker holds them.
 */
export function pendingInAll(dir: string, replica: string): OutboxItem[] {
  const name = fileName(replica);
  const mine = new RegExp(`^ledger-outbox-${name}(-w\\d+)?\\.jsonl$`);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => mine.test(f));
  } catch {
    return [];
  }
  return files.flatMap((f) => readLines<OutboxItem>(path.join(dir, f)));
}

/**
 * Hands the outboxes of worker slots that will not run (a gateway restarted with fewer
 * `gateway.workers`, or as one process) to the slots that will: slot k's items go to slot
 * ((k - 1) mod workers) + 1, which delivers them. Each item is appended durably to its new
 * outbox before the old file is removed, so a crash in between delivers it twice, never loses
 * it: the same at-least-once as a crash between a delivery and the outbox's rewrite. Call before
 * any worker opens its outbox. Answers the items moved.
 */
export function adoptOrphanOutboxes(dir: string, replica: string, workers: number, name: (slot: number) => string, logger: Logger): number {
  const mine = new RegExp(`^ledger-outbox-${fileName(replica)}-w(\\d+)\\.jsonl$`);
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return 0;
  }
  let moved = 0;
  for (const f of files) {
    const slot = Number(mine.exec(f)?.[1] ?? 0);
    if (slot <= workers) continue;
    const from = path.join(dir, f);
    const to = path.join(dir, `ledger-outbox-${fileName(name(((slot - 1) % workers) + 1))}.jsonl`);
    const items = readLines<OutboxItem>(from);
    if (items.length > 0) {
      const fd = openSync(to, 'a', 0o600);
      try {
        appendFileSync(fd, items.map((i) => `${JSON.stringify(i)}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    unlinkSync(from);
    fsyncDirSync(dir);
    moved += items.length;
    if (items.length > 0) logger.warn({ from: f, to: path.basename(to), items: items.length }, 'outbox of a worker slot no longer run handed to a running slot');
  }
  return moved;
}

export class Outbox {
  readonly #file: string;
  readonly #deadLetterFile: string;
  readonly #logger: Logger;
  #pending: OutboxItem[];
  /** Items in the dead-letter file, by region. */
  readonly #deadLetters = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  #flushing = false;

  /** One file per gateway replica, so replicas sharing a data directory never share an outbox. */
  constructor(dir: string, replica: string, logger: Logger) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const name = fileName(replica);
    this.#file = path.join(dir, `ledger-outbox-${name}.jsonl`);
    this.#deadLetterFile = path.join(dir, `ledger-dead-letter-${name}.jsonl`);
    this.#logger = logger;
    this.#pending = readLines<OutboxItem>(this.#file);
    for (const d of readLines<DeadLetter>(this.#deadLetterFile)) this.#deadLetters.set(d.region, (this.#deadLetters.get(d.region) ?? 0) + 1);
  }

  /** Where items refused for good are kept. */
  get deadLetterFile(): string {
    return this.#deadLetterFile;
  }

  /** Items in the dead-letter file, by region. */
  deadLetters(): ReadonlyMap<string, number> {
    return this.#deadLetters;
  }

  /** Moves an item the cell refused for good to the dead-letter file (never retried). */
  deadLetter(r: OutboxItem, why: AppendRefused): void {
    const line = { ...r, refused: { time: new Date().toISOString(), status: why.status, message: why.message.slice(0, 500) } };
    appendLineDurably(this.#deadLetterFile, line);
    this.#deadLetters.set(r.region, (this.#deadLetters.get(r.region) ?? 0) + 1);
    this.#logger.error(
      { region: r.region, kind: r.kind ?? r.entry.kind, decision_id: r.kind === undefined ? r.entry.decision_id : undefined, status: why.status, reason: line.refused.message, file: this.#deadLetterFile },
      `${r.kind ?? 'ledger record'} refused for good by its region; moved to the dead-letter file, not retried`,
    );
  }

  get size(): number {
    return this.#pending.length;
  }

  /** The items waiting (copies). */
  items(): OutboxItem[] {
    return [...this.#pending];
  }

  add(r: OutboxItem): void {
    appendLineDurably(this.#file, r);
    this.#pending.push(r);
    this.#logger.warn({ region: r.region, kind: r.kind ?? r.entry.kind, pending: this.#pending.length }, `${r.kind ?? 'ledger record'} kept in the outbox until the region is back`);
  }

  /**
   * Delivers pending records every `intervalMs` with `deliver`; called again (a reload's new
   * recorder), it replaces the delivery: one outbox per file and process, never two.
   */
  start(deliver: (r: OutboxItem) => Promise<void>, intervalMs = 2000): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.flush(deliver), intervalMs);
    this.#timer.unref();
  }

  async flush(deliver: (r: OutboxItem) => Promise<void>): Promise<void> {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = true;
    try {
      const left: OutboxItem[] = [];
      for (const r of this.#pending) {
        try {
          await deliver(r);
        } catch (err) {
          if (isPermanentRefusal(err)) this.deadLetter(r, err);
          else left.push(r);
        }
      }
      if (left.length !== this.#pending.length) {
        writeFileDurableSync(this.#file, left.map((r) => `${JSON.stringify(r)}\n`).join(''));
        this.#pending = left;
      }
    } finally {
      this.#flushing = false;
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
