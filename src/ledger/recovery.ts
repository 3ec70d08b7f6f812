// Recovery of a log's tree from its own files after a restart or a crash (kill -9, power loss):
//   1. The last signed checkpoint: the private state copy is authoritative (it is written before
//      the served one); the served one stands in when the state copy is missing.
//   2. The right edge of the tree at that size, from the tiles (c2sp.org/tlog-tiles: partial
//      tiles `<N>.p/<W>` or a prefix of a full tile); if they are missing or their root differs,
//      the whole tree is rebuilt from the entry bundles, and must match the checkpoint's root.
// Entries beyond the checkpoint come from the storage driver (the WAL: file-storage.ts).
import path from 'node:path';
import { openCheckpoint } from './checkpoint.ts';
import { CHECKPOINT } from './checkpoint-signing.ts';
import { LedgerError } from './errors.ts';
import { writeFileDurableSync } from '../common/durable-file.ts';
import { readIfExists } from './fsutil.ts';
import type { NoteVerifier } from './note.ts';
import type { StoredCheckpoint } from './storage.ts';
import { TILE_WIDTH, TreeBuilder, bundlePath, decodeBundle, tilePath } from './tiles.ts';
import type { TiledTree } from './integration.ts';

/** Restores `tree` to the last signed checkpoint of the log in `dir`; returns that checkpoint. */
export function recoverSigned(dir: string, stateDir: string, verifier: NoteVerifier, origin: string, tree: TiledTree): StoredCheckpoint | null {
  const stateFile = path.join(stateDir, CHECKPOINT);
  const stateNote = readIfExists(stateFile)?.toString('utf8') ?? null;
  const servedNote = readIfExists(path.join(dir, CHECKPOINT))?.toString('utf8') ?? null;
  const note = stateNote ?? servedNote;
  if (note === null) return null;
  const cp = openCheckpoint(note, verifier, origin);
  if (stateNote === null) writeFileDurableSync(stateFile, note);
  if (servedNote !== note) writeFileDurableSync(path.join(dir, CHECKPOINT), note, { mode: 0o644 });
  const S = cp.size;
  try {
    const t = TreeBuilder.fromEdges(S, (L, n, w) => readTileForWidth(dir, L, n, w));
    if (!t.root().equals(cp.root)) throw new Error('tile root differs from the checkpoint');
    const edgeBase = Math.floor(S / TILE_WIDTH) * TILE_WIDTH;
    tree.restore(t, S, edgeBase, S % TILE_WIDTH === 0 ? [] : readBundleForWidth(dir, Math.floor(S / TILE_WIDTH), S % TILE_WIDTH));
  } catch {
    // Rebuild from the bundles; the rebuilt tiles are rewritten by the first integration.
    const t = new TreeBuilder();
    const entries: Buffer[] = [];
    for (let n = 0; n * TILE_WIDTH < S; n++) entries.push(...readBundleForWidth(dir, n, Math.min(TILE_WIDTH, S - n * TILE_WIDTH)));
    // Restored first so full tiles and bundles reach the integration as they are rebuilt.
    tree.restore(t, 0, 0, []);
    for (const e of entries) tree.pushEntry(e);
    if (!tree.root().equals(cp.root)) {
      throw new LedgerError('SOVEREIGN_LEDGER_CORRUPT', `entry bundles in ${dir} don't match the signed checkpoint of size ${S}; run \`sovereign ledger verify\` to locate the damage`);
    }
  }
  return { size: cp.size, root: cp.root, note, text: cp.text };
}

/** Reads the hashes of tile (L, n) of width w: the partial file, or a prefix of the full tile. */
function readTileForWidth(dir: string, L: number, n: number, w: number): Buffer {
  const partial = readIfExists(path.join(dir, tilePath(L, n, w)));
  if (partial !== null) return partial;
  const full = readIfExists(path.join(dir, tilePath(L, n)));
  if (full === null) throw new Error(`${tilePath(L, n, w)} is missing`);
  return full.subarray(0, w * 32);
}

function readBundleForWidth(dir: string, n: number, w: number): Buffer[] {
  const partial = readIfExists(path.join(dir, bundlePath(n, w)));
  const data = partial ?? readIfExists(path.join(dir, bundlePath(n)));
  if (data === null) throw new Error(`${bundlePath(n, w)} is missing`);
  const entries = decodeBundle(data);
  if (entries.length < w || (partial !== null && entries.length !== w)) throw new Error(`${bundlePath(n, w)} holds ${entries.length} entries`);
  return entries.slice(0, w);
}
