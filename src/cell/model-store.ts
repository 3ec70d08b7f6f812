// The cell's local model store: <region data dir>/models/<name>/<digest>/ with a manifest.
// A cell only ever loads models from its own store; the store is filled from the npm-shipped
// artifact on first start (the registry component replaces this with a pull from the
// region's own OCI registry).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface StoredModel {
  name: string;
  /** Version of the artifact as published (e.g. the npm package version). */
  version: string;
  /** sha256 over the artifact's files (path and content), "sha256:<hex>". */
  digest: string;
  dir: string;
}

interface Manifest {
  name: string;
  version: string;
  digest: string;
  source: string;
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(path.relative(base, p));
  }
  return out;
}

/** Content digest of a directory tree: path and bytes of every file, in sorted order. */
export function treeDigest(dir: string): string {
  const h = createHash('sha256');
  for (const rel of listFiles(dir)) {
    if (rel === 'sovereign-manifest.json') continue;
    const bytes = readFileSync(path.join(dir, rel));
    h.update(`${rel}\0${bytes.length}\0`);
    h.update(bytes);
  }
  return `sha256:${h.digest('hex')}`;
}

/**
 * Makes sure `name` is in the store, copying it from the shipped source directory when
 * missing; verifies the stored copy's digest before every load so a tampered or torn copy
 * is never served.
 */
export function ensureModel(storeDir: string, name: string, sourceDir: string, version: string): StoredModel {
  const modelDir = path.join(storeDir, name);
  mkdirSync(modelDir, { recursive: true });
  const current = path.join(modelDir, 'current');
  if (existsSync(path.join(current, 'sovereign-manifest.json'))) {
    const m = JSON.parse(readFileSync(path.join(current, 'sovereign-manifest.json'), 'utf8')) as Manifest;
    const actual = treeDigest(current);
    if (actual === m.digest && m.version === version) return { name, version: m.version, digest: m.digest, dir: current };
    rmSync(current, { recursive: true, force: true });
  }
  // Copy to a temporary directory, then rename: a crash mid-copy never leaves a half model.
  const tmp = path.join(modelDir, `.incoming-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  cpSync(sourceDir, tmp, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules${path.sep}`, sourceDir.length) });
  const digest = treeDigest(tmp);
  const manifest: Manifest = { name, version, digest, source: 'npm' };
  writeFileSync(path.join(tmp, 'sovereign-manifest.json'), JSON.stringify(manifest, null, 2));
  renameSync(tmp, current);
  return { name, version, digest, dir: current };
}

/** Loads a CommonJS model package from the store (never from node_modules). */
export function requireFromStore<T>(model: StoredModel): T {
  const req = createRequire(path.join(model.dir, 'package.json'));
  return req(model.dir) as T;
}
