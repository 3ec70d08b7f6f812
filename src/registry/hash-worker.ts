// The SHA-256 thread of a replicating registry (see hash-thread.ts): it keeps one running hash
// per large blob and applies the updates in the order they are posted (a port delivers messages
// in order), so the digest is that of the bytes in file order. A batch arrives as a view of the
// shared batch buffer it was written from (no copy) and is answered once hashed: only then may
// the buffer be filled again. Any failure is answered, never swallowed: the blob then fails.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export type HashRequest =
  | { op: 'start'; id: number }
  | { op: 'update'; id: number; seq: number; buf: SharedArrayBuffer | ArrayBuffer; offset: number; length: number }
  | { op: 'file'; id: number; seq: number; file: string; length: number }
  | { op: 'digest'; id: number; seq: number }
  | { op: 'drop'; id: number };

export type HashReply = { seq: number; hex?: string } | { seq: number; error: string };

/** Pieces in which a kept prefix is read (as hashFile does). */
const FILE_READ = 4 * 1024 * 1024;

/** Running hashes by blob; a hash that failed keeps its reason, so nothing later is hashed into it. */
const hashes = new Map<number, Hash | Error>();

function hashOf(id: number): Hash {
  const h = hashes.get(id);
  if (h === undefined) throw new Error(`no running hash ${id}`);
  if (h instanceof Error) throw h;
  return h;
}

/** Hashes exactly the first `length` bytes of `file` (a resumed blob's kept prefix). */
function hashPrefix(h: Hash, file: string, length: number): void {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(FILE_READ, Math.max(length, 1)));
    for (let at = 0; at < length; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - at), at);
      if (n === 0) throw new Error(`${file} ends at byte ${at}, ${length} expected`);
      h.update(buf.subarray(0, n));
      at += n;
    }
  } finally {
    closeSync(fd);
  }
}

function handle(msg: HashRequest): HashReply | null {
  switch (msg.op) {
    case 'start':
      hashes.set(msg.id, createHash('sha256'));
      return null;
    case 'drop':
      hashes.delete(msg.id);
      return null;
    case 'update':
      hashOf(msg.id).update(new Uint8Array(msg.buf, msg.offset, msg.length));
      return { seq: msg.seq };
    case 'file':
      hashPrefix(hashOf(msg.id), msg.file, msg.length);
      return { seq: msg.seq };
    case 'digest': {
      const hex = hashOf(msg.id).digest('hex');
      hashes.delete(msg.id);
      return { seq: msg.seq, hex };
    }
  }
}

parentPort?.on('message', (msg: HashRequest) => {
  let reply: HashReply | null;
  try {
    reply = handle(msg);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    // The blob's hash is unusable from here on: later updates would hash a gap.
    if ('id' in msg && msg.op !== 'drop') hashes.set(msg.id, e);
    reply = 'seq' in msg ? { seq: msg.seq, error: e.message } : null;
  }
  if (reply) parentPort?.postMessage(reply);
});
