// Write-ahead log framing: an entry is durable once its record is in the WAL and fdatasync'ed.
//
//   record = u32 BE length(L) || u32 BE CRC-32(body) || body
//   body   = u64 BE log index || entry bytes            (L = 8 + entry length)
//
// A torn write (crash mid-append) leaves a short or mis-checksummed tail; recovery cuts the file
// at the first record that doesn't check out. Records carry their index so replay is idempotent.
import { crc32 } from 'node:zlib';

const HEADER = 8;

/** Bytes the records of `entries` take. */
export function recordsSize(entries: readonly Uint8Array[]): number {
  let total = 0;
  for (const e of entries) total += HEADER + 8 + e.length;
  return total;
}

/** Encodes `entries` as records numbered from `startIndex`, into `into` when it is large enough. */
export function encodeRecords(startIndex: number, entries: readonly Uint8Array[], into?: Buffer): Buffer {
  const total = recordsSize(entries);
  const out = into !== undefined && into.length >= total ? into.subarray(0, total) : Buffer.allocUnsafe(total);
  let off = 0;
  let index = startIndex;
  for (const e of entries) {
    const bodyLen = 8 + e.length;
    out.writeUInt32BE(bodyLen, off);
    out.writeBigUInt64BE(BigInt(index), off + HEADER);
    out.set(e, off + HEADER + 8);
    out.writeUInt32BE(crc32(out.subarray(off + HEADER, off + HEADER + bodyLen)), off + 4);
    off += HEADER + bodyLen;
    index++;
  }
  return out;
}

export interface WalRecord {
  index: number;
  entry: Buffer;
}

/** Scans records until the first incomplete or corrupt one; `validBytes` is where to cut. */
export function scanRecords(buf: Buffer): { records: WalRecord[]; validBytes: number; torn: boolean } {
  const records: WalRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + HEADER > buf.length) return { records, validBytes: off, torn: true };
    const bodyLen = buf.readUInt32BE(off);
    if (bodyLen < 8 || bodyLen > 8 + 0xffff || off + HEADER + bodyLen > buf.length) return { records, validBytes: off, torn: true };
    const body = buf.subarray(off + HEADER, off + HEADER + bodyLen);
    if (crc32(body) !== buf.readUInt32BE(off + 4)) return { records, validBytes: off, torn: true };
    records.push({ index: Number(body.readBigUInt64BE(0)), entry: Buffer.from(body.subarray(8)) });
    off += HEADER + bodyLen;
  }
  return { records, validBytes: off, torn: false };
}

/** WAL file name for a segment whose first record has index `start`. */
export function walName(start: number): string {
  return `${String(start).padStart(16, '0')}.wal`;
}

export function parseWalName(name: string): number | null {
  const m = /^(\d{16})\.wal$/.exec(name);
  return m === null ? null : Number(m[1]);
}
