// Ledger records that could not be delivered right away (a transfer or denial record for a
// home region that is down) are kept in the gateway's data directory and delivered when the
// region is back: nothing is lost. Append-only JSON lines, fsync'd; rewritten after delivery.
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { writeFileDurableSync } from '../common/durable-file.ts';
import path from 'node:path';
import type { Logger } from '../common/index.ts';

export interface PendingRecord {
  region: string;
  entry: Record<string, unknown>;
  body_sha256?: string;
}

export class Outbox {
  readonly #file: string;
  readonly #logger: Logger;
  #pending: PendingRecord[];
  #timer: NodeJS.Timeout | null = null;
  #flushing = false;

  /** One file per gateway replica, so replicas sharing a data directory never share an outbox. */
  constructor(dir: string, replica: string, logger: Logger) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.#file = path.join(dir, `ledger-outbox-${replica.replace(/[^A-Za-z0-9_-]/g, '_')}.jsonl`);
    this.#logger = logger;
    this.#pending = existsSync(this.#file)
      ? readFileSync(this.#file, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .flatMap((l) => {
            try {
              return [JSON.parse(l) as PendingRecord];
            } catch {
              return []; // a torn last line from a crash
            }
          })
      : [];
  }

  get size(): number {
    return this.#pending.length;
  }

  add(r: PendingRecord): void {
    const fd = openSync(this.#file, 'a', 0o600);
    try {
      appendFileSync(fd, `${JSON.stringify(r)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.#pending.push(r);
    this.#logger.warn({ region: r.region, kind: r.entry.kind, pending: this.#pending.length }, 'ledger record kept in the outbox until the region is back');
  }

  /** Delivers pending records every `intervalMs` with `deliver`. */
  start(deliver: (r: PendingRecord) => Promise<void>, intervalMs = 2000): void {
    this.#timer = setInterval(() => void this.flush(deliver), intervalMs);
    this.#timer.unref();
  }

  async flush(deliver: (r: PendingRecord) => Promise<void>): Promise<void> {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = true;
    try {
      const left: PendingRecord[] = [];
      for (const r of this.#pending) {
        try {
          await deliver(r);
        } catch {
          left.push(r);
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
