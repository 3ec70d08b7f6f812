// Full verification of a tiled log, as a monitor would: check the checkpoint signature (and a
// witness quorum), recompute every leaf hash from the entry bundles, every tile and the root,
// compare with what is served, and check consistency with the last checkpoint verified before.
import { readFile } from 'node:fs/promises';
import { writeFileDurable } from '../common/durable-file.ts';
import path from 'node:path';
import { openCheckpoint } from './checkpoint.ts';
import { hashLeaf } from './merkle.ts';
import { parseVkey } from './note.ts';
import { TILE_WIDTH, TreeBuilder, bundlePath, decodeBundle, tilePath, tilesAtLevel, topTileLevel, type Tile } from './tiles.ts';
import { verifiedCosigners } from './tlogproof.ts';

/** Fetches a static resource by its path relative to the log prefix; null if absent. */
export type Fetcher = (rel: string) => Promise<Buffer | null>;

export function dirFetcher(dir: string): Fetcher {
  return async (rel) => {
    try {
      return await readFile(path.join(dir, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
}

export function httpFetcher(prefix: string): Fetcher {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return async (rel) => {
    const res = await fetch(new URL(rel, base), { headers: { 'accept-encoding': 'gzip, identity' } });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`GET ${base}${rel}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  };
}

export interface VerifyOptions {
  dir?: string;
  fetcher?: Fetcher;
  /** The log's vkey. */
  verifierKey: string;
  witnesses?: readonly string[];
  quorum?: number;
  /** JSON file remembering the last verified (size, root); checked for consistency and updated. */
  stateFile?: string;
  onProgress?: (done: number, total: number) => void;
  /** Parallel fetches (default 16). */
  concurrency?: number;
}

export interface VerifyResult {
  ok: boolean;
  size: number;
  root: string;
  /** What failed, in words (names the first bad index or resource). */
  error?: string;
  firstBadIndex?: number;
  badPath?: string;
  cosigners: string[];
}

/** Verifies a whole log. Never throws for log damage: it reports it in the result. */
export async function verifyLog(opts: VerifyOptions): Promise<VerifyResult> {
  const fetcher = opts.fetcher ?? (opts.dir !== undefined ? dirFetcher(opts.dir) : undefined);
  if (fetcher === undefined) throw new Error('verifyLog needs dir or fetcher');
  const logKey = parseVkey(opts.verifierKey);
  const fail = (r: Partial<VerifyResult> & { error: string }, size = 0, root = ''): VerifyResult => ({ ok: false, size, root, cosigners: [], ...r });

  const note = await fetcher('checkpoint');
  if (note === null) return fail({ error: 'no checkpoint', badPath: 'checkpoint' });
  let cp;
  try {
    cp = openCheckpoint(note.toString('utf8'), logKey);
  } catch (err) {
    return fail({ error: `checkpoint: ${(err as Error).message}`, badPath: 'checkpoint' });
  }
  const S = cp.size;
  const rootB64 = cp.root.toString('base64');
  const cosigners = verifiedCosigners(note.toString('utf8'), cp.text, (opts.witnesses ?? []).map(parseVkey));
  if (cosigners.length < (opts.quorum ?? 0)) {
    return fail({ error: `checkpoint has ${cosigners.length} of ${opts.quorum} required witness cosignatures`, badPath: 'checkpoint' }, S, rootB64);
  }

  let prior: { size: number; root: string } | undefined;
  if (opts.stateFile !== undefined) {
    try {
      prior = JSON.parse(await readFile(opts.stateFile, 'utf8')) as { size: number; root: string };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (prior !== undefined && prior.size > S) return fail({ error: `log shrank: checkpoint size ${S} is below previously verified size ${prior.size}`, badPath: 'checkpoint' }, S, rootB64);
  }

  // Upper-level full tiles are compared as they're produced; level-0 tiles alongside bundles.
  const upper: Tile[] = [];
  const tree = new TreeBuilder((t) => {
    if (t.level > 0) upper.push({ ...t, buf: Buffer.from(t.buf) });
  });
  let firstBadLeaf: number | undefined;
  let firstBadTile: string | undefined;
  let priorRoot: Buffer | undefined;
  if (prior?.size === 0) priorRoot = tree.root();

  const bundles = Math.ceil(S / TILE_WIDTH);
  const width = (n: number): number => Math.min(TILE_WIDTH, S - n * TILE_WIDTH);
  const fetchPair = (n: number): Promise<[Buffer | null, Buffer | null]> =>
    Promise.all([fetcher(bundlePath(n, width(n))), fetcher(tilePath(0, n, width(n)))]);
  const window: Promise<[Buffer | null, Buffer | null]>[] = [];
  const conc = opts.concurrency ?? 16;
  for (let n = 0; n < Math.min(conc, bundles); n++) window.push(fetchPair(n));

  for (let n = 0; n < bundles; n++) {
    const [bundle, tile] = await (window.shift() as Promise<[Buffer | null, Buffer | null]>);
    if (n + conc < bundles) window.push(fetchPair(n + conc));
    const w = width(n);
    const bp = bundlePath(n, w);
    if (bundle === null) return fail({ error: `${bp} is missing`, badPath: bp, firstBadIndex: n * TILE_WIDTH }, S, rootB64);
    let entries: Buffer[];
    try {
      entries = decodeBundle(bundle);
      if (entries.length !== w) throw new Error(`holds ${entries.length} entries, expected ${w}`);
    } catch (err) {
      return fail({ error: `${bp}: ${(err as Error).message}`, badPath: bp, firstBadIndex: n * TILE_WIDTH }, S, rootB64);
    }
    const tp = tilePath(0, n, w);
    if (tile === null || tile.length !== w * 32) firstBadTile ??= tp;
    for (let i = 0; i < w; i++) {
      const leaf = hashLeaf(entries[i] as Buffer);
      if (tile !== null && tile.length === w * 32 && !leaf.equals(tile.subarray(i * 32, i * 32 + 32))) {
        firstBadLeaf ??= n * TILE_WIDTH + i;
        firstBadTile ??= tp;
      }
      tree.pushLeafHash(leaf);
      if (prior !== undefined && tree.size === prior.size) priorRoot = tree.root();
    }
    opts.onProgress?.(n * TILE_WIDTH + w, S);
    // Compare upper full tiles produced so far.
    for (const t of upper.splice(0)) {
      const p = tilePath(t.level, t.n);
      const served = await fetcher(p);
      if (served === null || !served.equals(t.buf)) firstBadTile ??= p;
    }
  }
  // Partial tiles at levels >= 1 for this size.
  for (let L = 1; L <= topTileLevel(S); L++) {
    const { fullCount, partialWidth } = tilesAtLevel(S, L);
    if (partialWidth === 0) continue;
    const p = tilePath(L, fullCount, partialWidth);
    const served = await fetcher(p);
    const edge = tree.edgeTile(L, fullCount);
    if (served === null || edge === undefined || !served.equals(edge.buf.subarray(0, partialWidth * 32))) firstBadTile ??= p;
  }

  const root = tree.root();
  if (!root.equals(cp.root)) {
    if (firstBadLeaf !== undefined) {
      const bp = bundlePath(Math.floor(firstBadLeaf / TILE_WIDTH), width(Math.floor(firstBadLeaf / TILE_WIDTH)));
      return fail({ error: `entry ${firstBadLeaf} in ${bp} doesn't match its tile hash or the signed root`, firstBadIndex: firstBadLeaf, badPath: bp }, S, rootB64);
    }
    return fail({ error: 'root recomputed from the entry bundles differs from the signed checkpoint', badPath: firstBadTile ?? 'checkpoint' }, S, rootB64);
  }
  if (firstBadTile !== undefined) return fail({ error: `${firstBadTile} differs from the hashes recomputed from the entries`, badPath: firstBadTile }, S, rootB64);
  if (prior !== undefined) {
    // The old checkpoint must be a prefix of this one: recomputing MTH(D[0:old]) from the entries
    // is the strongest form of the RFC 9162, Section 2.1.4 consistency check.
    if (priorRoot === undefined || priorRoot.toString('base64') !== prior.root) {
      return fail({ error: `checkpoint is not consistent with previously verified size ${prior.size}`, badPath: 'checkpoint' }, S, rootB64);
    }
  }
  if (opts.stateFile !== undefined) {
    await writeFileDurable(opts.stateFile, JSON.stringify({ size: S, root: rootB64 }));
  }
  return { ok: true, size: S, root: rootB64, cosigners };
}
