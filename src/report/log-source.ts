// Reads a region's served log (the gateway's public /sovereign/ledger/<region>/ paths: C2SP
// tlog-tiles entry bundles, the checkpoint, the key, the checkpoint archive) and rebuilds its
// Merkle tree from the entries, so every figure and proof of a report comes from entry bytes
// whose hashes are checked against a signed checkpoint (RFC 9162, Section 2.1.1).
import { TILE_WIDTH, bundlePath, decodeBundle, hashChildren, hashLeaf, parseCheckpoint, parseEntry, parseNote, type LedgerEntry } from '../ledger/index.ts';
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
        if (rel === 'key' && body.includes(`no region`)) throw new ReportError('SOVEREIGN_REPORT_UNKNOWN_REGION', `the gateway at ${gateway} has no region "${region}"`);
        return null;
      }
      if (!res.ok) throw new ReportError('SOVEREIGN_REPORT_UNREACHABLE', `GET ${prefix}/${rel} answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return Buffer.from(await res.arrayBuffer());
    },
  };
}

/** A log entry as read from its bundle: index, exact bytes and parsed form. */
export interface ReadEntry {
  index: number;
  bytes: Buffer;
  entry: LedgerEntry;
}

export interface ReadLog {
  entries: ReadEntry[];
  /** Leaf hashes, level by level: levels[L][i] is the hash of the perfect subtree of 2^L leaves at i. */
  levels: Buffer[][];
}

/** The size of the checkpoint the log serves now (its signature is not needed: sizes only pick bundle widths). */
export async function servedSize(src: LogSource): Promise<number> {
  const note = await src.get('checkpoint');
  if (note === null) return 0;
  return parseCheckpoint(parseNote(note.toString('utf8')).text).size;
}

/**
 * Reads entries [0, size) from the served entry bundles. A bundle is read at the width the log
 * serves now (entries are append-only, so its first entries are those at `size`).
 */
export async function readLog(src: LogSource, size: number, onProgress?: (done: number, total: number) => void): Promise<ReadLog> {
  let served = await servedSize(src);
  if (served < size) throw new ReportError('SOVEREIGN_REPORT_LOG_SHORT', `the log of ${src.region} serves ${served} entries, fewer than the ${size} the report covers: it is not the same log`);
  const bundles = Math.ceil(size / TILE_WIDTH);
  const entries = new Array<ReadEntry>(size);
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
      for (let i = 0; i < width; i++) {
        const index = n * TILE_WIDTH + i;
        const bytes = got[i] as Buffer;
        let entry: LedgerEntry;
        try {
          entry = parseEntry(bytes);
        } catch {
          throw new ReportError('SOVEREIGN_REPORT_LOG_DAMAGED', `entry ${index} of ${src.region} is not a valid ledger entry`);
        }
        entries[index] = { index, bytes, entry };
      }
      done += width;
      onProgress?.(done, size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, bundles) }, worker));
  return { entries, levels: buildLevels(entries.map((e) => hashLeaf(e.bytes))) };
}

/** Every perfect subtree hash of a tree, bottom up (2n hashes kept for n leaves). */
function buildLevels(leaves: Buffer[]): Buffer[][] {
  const levels: Buffer[][] = [leaves];
  let cur = leaves;
  while (cur.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i + 1 < cur.length; i += 2) up.push(hashChildren(cur[i] as Buffer, cur[i + 1] as Buffer));
    levels.push(up);
    cur = up;
  }
  return levels;
}
