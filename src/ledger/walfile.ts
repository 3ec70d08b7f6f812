// The write-ahead log on disk: numbered segment files in `<stateDir>/wal/`, each named after the
// index of its first record (see wal.ts for the record framing).
//
// Every segment is opened O_DSYNC, so a write returns once its bytes are durable: one thread-pool
// hop per group-committed batch, not write + fdatasync. Writes reserve their byte range when they
// are issued, so several may be in flight at once; the caller acknowledges them in order (a crash
// can leave a later write durable behind an earlier torn one, and recovery cuts at the first bad
// record, so a later record only counts once every earlier one is durable).
//
// Segments are zero-filled ahead of the write offset in the background, in small synchronous
// chunks: a commit then overwrites allocated blocks and its sync carries no metadata, and no
// commit waits behind a large zero-fill on the device. A crash leaves a zero tail, which
// recovery reads as a torn record and cuts. A segment is rotated above `segmentBytes` and deleted
// once a signed checkpoint covers it (tiles hold its entries by then).
import { closeSync, constants as fsc, fsyncSync, ftruncateSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { LedgerError } from './errors.ts';
import { fsyncDir } from '../common/durable-file.ts';
import { parseWalName, scanRecords, walName, type WalRecord } from './wal.ts';

/** Default: rotate a segment once it holds this many bytes. */
export const WAL_SEGMENT_BYTES = 32 * 1024 * 1024;
/** Keep the open segment zero-filled this far ahead of the write offset. */
const PREALLOC_LEAD_BYTES = 4 * 1024 * 1024;
/** Zero-fill in chunks this small: a commit that shares the device with one waits ~1 ms at most. */
const PREALLOC_CHUNK_BYTES = 256 * 1024;
const ZEROS = Buffer.alloc(PREALLOC_CHUNK_BYTES);

interface Segment {
  start: number;
  /** Exclusive end index (Infinity for the open segment). */
  end: number;
  file: string;
}

/** Counters shared with the ledger's stats. */
export interface WalCounters {
  walSyncs: number;
  walPreallocs: number;
  walRotations: number;
}

export class WalFile {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #stats: WalCounters;
  #segments: Segment[] = [];
  #fh!: FileHandle;
  /** End of the bytes reserved by issued writes. */
  #offset = 0;
  /** The open segment is durably zero-filled up to here. */
  #allocated = 0;
  /** A zero-fill in flight over [#extendFrom, #extendFrom + PREALLOC_CHUNK_BYTES). */
  #extending: Promise<void> | null = null;
  #extendFrom = 0;
  #closed = false;

  private constructor(dir: string, segmentBytes: number, stats: WalCounters) {
    this.#dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#stats = stats;
  }

  /**
   * Opens the WAL in `dir`: replays every valid record in index order through `replay` (which
   * decides what a record means for the tree), cuts a torn tail, and opens a fresh segment
   * starting at `nextIndex()` for new appends.
   */
  static async open(dir: string, opts: { segmentBytes: number; stats: WalCounters }, replay: (r: WalRecord, file: string) => void, nextIndex: () => number): Promise<WalFile> {
    const w = new WalFile(dir, opts.segmentBytes, opts.stats);
    const segs = readdirSync(dir)
      .map((f) => ({ f, start: parseWalName(f) }))
      .filter((s): s is { f: string; start: number } => s.start !== null)
      .sort((a, b) => a.start - b.start);
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i] as { f: string; start: number };
      const file = path.join(dir, seg.f);
      const { records, validBytes, torn } = scanRecords(readFileSync(file));
      if (torn) {
        const next = segs[i + 1];
        const last = records[records.length - 1];
        if (next !== undefined && (last === undefined ? seg.start : last.index + 1) !== next.start) {
          // A damaged record before a later segment: acknowledged entries would be lost.
          throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `write-ahead log ${file} is damaged at byte ${validBytes} before later segments`);
        }
        const fd = openSync(file, 'r+');
        try {
          // Cut the torn tail (never acknowledged: its write did not complete, or one before it didn't).
          ftruncateSync(fd, validBytes);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      for (const r of records) replay(r, file);
      const end = records.length > 0 ? (records[records.length - 1] as WalRecord).index + 1 : seg.start;
      w.#segments.push({ start: seg.start, end: Math.max(end, seg.start), file });
    }
    await w.#openSegment(nextIndex());
    return w;
  }

  /** True once the open segment is full: {@link rotate} before the next write. */
  get full(): boolean {
    return this.#offset >= this.#segmentBytes;
  }

  /** Byte offset in the open segment where the next write goes. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Writes `buf` at the current offset and resolves once it is durable. The range is reserved
   * synchronously, so the next write may be issued before this one completes.
   */
  write(buf: Buffer): Promise<void> {
    const at = this.#offset;
    this.#offset += buf.length;
    return this.#writeAt(buf, at);
  }

  async #writeAt(buf: Buffer, at: number): Promise<void> {
    // Never write into a range the background zero-fill is still writing.
    if (this.#extending !== null && at + buf.length > this.#extendFrom) await this.#extending;
    // A full disk shows first as a short write, then as ENOSPC: both are a failed write.
    const { bytesWritten } = await this.#fh.write(buf, 0, buf.length, at);
    if (bytesWritten !== buf.length) throw new Error(`short write: ${bytesWritten} of ${buf.length} bytes (disk full?)`);
    this.#stats.walSyncs++;
    this.#preallocate();
  }

  /** Cuts the open segment at `offset` (after a failed write; no write may be in flight). */
  async truncate(offset: number): Promise<void> {
    if (this.#extending !== null) await this.#extending;
    await this.#fh.truncate(offset);
    this.#offset = offset;
    this.#allocated = Math.min(this.#allocated, offset);
  }

  /** Starts a new segment whose first record will have index `start` (no write may be in flight). */
  async rotate(start: number): Promise<void> {
    const open = this.#segments[this.#segments.length - 1];
    if (open !== undefined && this.#offset > 0 && open.start !== start) await this.#openSegment(start);
  }

  /** Deletes closed segments whose records all lie below `coveredSize` (held by tiles now). */
  async prune(coveredSize: number): Promise<void> {
    const keep: Segment[] = [];
    const drop: Segment[] = [];
    for (const s of this.#segments) (s.end <= coveredSize ? drop : keep).push(s);
    if (drop.length === 0) return;
    this.#segments = keep;
    for (const s of drop) await unlink(s.file).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#extending !== null) await this.#extending;
    await (this.#fh as FileHandle | undefined)?.close().catch(() => undefined);
  }

  async #openSegment(start: number): Promise<void> {
    const file = path.join(this.#dir, walName(start));
    const fh = await open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_DSYNC, 0o600);
    await fsyncDir(this.#dir);
    this.#stats.walRotations++;
    if (this.#extending !== null) await this.#extending;
    this.#segments = this.#segments.filter((s) => s.file !== file);
    const prev = this.#segments[this.#segments.length - 1];
    if (prev !== undefined) prev.end = start;
    const old = this.#fh as FileHandle | undefined;
    this.#fh = fh;
    this.#offset = 0;
    this.#allocated = 0;
    this.#segments.push({ start, end: Infinity, file });
    await old?.close();
    this.#preallocate();
  }

  /**
   * Zero-fills the next chunk ahead of the write offset, in the background (see the top). Called
   * after each write, so the lead is kept without a zero-fill ever starting while the segment
   * is being cut or rotated (no write is in flight then).
   */
  #preallocate(): void {
    if (this.#extending !== null || this.#closed) return;
    if (this.#allocated - this.#offset >= PREALLOC_LEAD_BYTES || this.#offset >= this.#segmentBytes) return;
    const fh = this.#fh;
    const from = Math.max(this.#allocated, this.#offset);
    this.#extendFrom = from;
    this.#extending = fh
      .write(ZEROS, 0, ZEROS.length, from)
      .then(
        ({ bytesWritten }) => {
          this.#stats.walPreallocs++;
          if (this.#fh === fh) this.#allocated = from + bytesWritten;
        },
        () => undefined, // Not fatal: commits then extend the file themselves.
      )
      .finally(() => {
        this.#extending = null;
      });
  }
}
