// Reads a region's served log (the gateway's public /sovereign/ledger/<region>/ paths: C2SP
// tlog-tiles entry bundles, the checkpoint, the key, the checkpoint archive) and rebuilds its
// Merkle tree from the entries, so every figure and proof of a report comes from entry bytes
// whose hashes are checked against a signed checkpoint (RFC 9162, Section 2.1.1).
import { HASH_SIZE, TILE_WIDTH, bundlePath, decodeBundle, hashChildren, hashLeaf, parseCheckpoint, parseEntry, parseNote, type LedgerEntry, type SubtreeHashFn } from '../ledger/index.ts';
import { ReportError } from './errors.ts';

/** One served log, by the URL prefix of its static resources. */
export interface LogSource {
  region: string;
  /** `<gateway>/sovereign/ledger/<region>` */
  prefix: string;
  get(rel: string): Promise<Buffer | null>;
}

export function logSource(gateway: string, region: string): LogSource {
  const prefix = `${gateway.replace(/\/+$/, '')}/sovereign/ledger/${encodeURIComponent(region)}`;
  return {
    region,
    prefix,
    async get(rel) {
      let res: Response;
      try {
        res = await fetch(`${prefix}/${rel}`, { signal: AbortSignal.timeout(15_000) });
      } catch (err) {
        const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
        throw new ReportError('SOVEREIGN_REPORT_UNREACHABLE', `the log of ${region} cannot be read at ${prefix}/${rel} (${cause}); is the gateway running? (--gateway <url> picks another)`);
      }
      if (res.status === 404) {
        const body = await res.text();
        // The gateway's answer for a region it does not have (a missing resource names the resource).
        if (notFoundMessage(body).startsWith(`no region "${region}"`)) throw new ReportError('SOVEREIGN_REPORT_UNKNOWN_REGION', `the gateway at ${gateway} has no region "${region}"; is the report from another deployment? (--gateway <url>)`);
        return null;
      }
      if (!res.ok) throw new ReportError('SOVEREIGN_REPORT_UNREACHABLE', `GET ${prefix}/${rel} answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return Buffer.from(await res.arrayBuffer());
    },
  };
}

/** The message of a JSON error body ({"error": {"message"}}), else the body. */
function notFoundMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof m === 'string' ? m : body;
  } catch {
    return body;
  }
}

/** A log entry as read from its bundle: index, exact bytes and parsed form. */
export interface ReadEntry {
  index: number;
  bytes: Buffer;
  entry: LedgerEntry;
}

export interface ReadLog {
  /** The entries `keep` selected, in index order. */
  entries: ReadEntry[];
  byIndex: Map<number, ReadEntry>;
  /** Hash of the perfect subtree of 2^level leaves at `index` (every entry's leaf hash is kept: 64 bytes an entry). */
  subtree: SubtreeHashFn;
}

/** The size of the checkpoint the log serves now (its signature is not needed: sizes only pick bundle widths). */
export async function servedSize(src: LogSource): Promise<number> {
  const note = await src.get('checkpoint');
  if (note === null) return 0;
  return parseCheckpoint(parseNote(note.toString('utf8')).text).size;
}

/**
 * Reads entries [0, size) from the served entry bundles, hashing every one into the tree and
 * keeping those `keep` selects (so memory grows with the period's entries, not the log's). A
 * bundle is read at the width the log serves now: entries are append-only, so its first
 * entries are those at `size`.
 */
export async function readLog(src: LogSource, size: number, keep: (e: LedgerEntry) => boolean, onProgress?: (done: number, total: number) => void): Promise<ReadLog> {
  let served = await servedSize(src);
  if (served < size) throw new ReportError('SOVEREIGN_REPORT_LOG_SHORT', `the log of ${src.region} serves ${served} entries, fewer than the ${size} the report covers: it is not the same log`);
  const bundles = Math.ceil(size / TILE_WIDTH);
  const leaves = Buffer.alloc(size * HASH_SIZE);
  const kept: ReadEntry[][] = new Array<ReadEntry[]>(bundles);
  const fetchBundle = async (n: number): Promise<Buffer[]> => {
    for (let tries = 0; tries < 3; tries++) {
      const buf = await src.get(bundlePath(n, Math.min(TILE_WIDTH, served - n * TILE_WIDTH)));
      if (buf !== null) return decodeBundle(buf);
      // A partial bundle may have been completed meanwhile: look at the served size again.
      served = await servedSize(src);
    }
    throw new ReportError('SOVEREIGN_REPORT_LOG_DAMAGED', `the log of ${src.region} does not serve ${bundlePath(n)} (entries from ${n * TILE_WIDTH})`);
  };
  const CONCURRENCY = 8;
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < bundles) {
      const n = next++;
      const got = await fetchBundle(n);
      const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
      if (got.length < width) throw new ReportError('SOVEREIGN_REPORT_LOG_DAMAGED', `${bundlePath(n)} of ${src.region} holds ${got.length} entries, expected at least ${width}`);
      const mine: ReadEntry[] = [];
      for (let i = 0; i < width; i++) {
        const index = n * TILE_WIDTH + i;
        const bytes = got[i] as Buffer;
        hashLeaf(bytes).copy(leaves, index * HASH_SIZE);
        let entry: LedgerEntry;
        try {
          entry = parseEntry(bytes);
        } catch {
          throw new ReportError('SOVEREIGN_REPORT_LOG_DAMAGED', `entry ${index} of ${src.region} is not a valid ledger entry`);
        }
        if (keep(entry)) mine.push({ index, bytes, entry });
      }
      kept[n] = mine;
      done += width;
      onProgress?.(done, size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, bundles) }, worker));
  const entries = kept.flat();
  return { entries, byIndex: new Map(entries.map((e) => [e.index, e])), subtree: flatSubtree(leaves) };
}

/** Every perfect subtree hash of a tree, level by level in flat buffers (about 2n hashes for n leaves). */
function flatSubtree(leaves: Buffer): SubtreeHashFn {
  const levels: Buffer[] = [leaves];
  let cur = leaves;
  while (cur.length >= 2 * HASH_SIZE) {
    const pairs = Math.floor(cur.length / (2 * HASH_SIZE));
    const up = Buffer.alloc(pairs * HASH_SIZE);
    for (let i = 0; i < pairs; i++) hashChildren(cur.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE), cur.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE)).copy(up, i * HASH_SIZE);
    levels.push(up);
    cur = up;
  }
  return (level, index) => {
    const buf = levels[level];
    if (buf === undefined || (index + 1) * HASH_SIZE > buf.length) throw new RangeError(`no subtree ${level}/${index}`);
    return buf.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  };
}
