// Loading a model for a cell: from the region's own registry only, every file's digest and the
// publisher's signature checked right before use. Files are linked (from the region's layout) or
// written (from an external registry) to a temporary directory and renamed into <cacheDir>/<manifest hex>/ once all verified; a directory already there is
// verified again (re-hashed) before it is used, so a file changed on disk is never loaded.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { link, mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../common/index.ts';
import { hashFile, hexOf, newHash } from './digest.ts';
import type { PublisherKey } from './dsse.ts';
import { RegistryError, storageError } from './errors.ts';
import type { ArtifactReader } from './reader.ts';
import { verifyArtifact, type VerifiedArtifact } from './verify.ts';

export interface LoadedModel {
  artifact: VerifiedArtifact;
  dir: string;
}

/** Verifies name:reference in `src` and returns a directory holding exactly its verified files. */
export async function materializeModel(src: ArtifactReader, name: string, reference: string, publishers: readonly PublisherKey[], cacheDir: string): Promise<LoadedModel> {
  const artifact = await verifyArtifact(src, name, reference, publishers);
  const dir = path.join(cacheDir, hexOf(artifact.digest));
  if (existsSync(dir)) {
    let ok = true;
    for (const f of artifact.files) {
      const p = path.join(dir, ...f.path.split('/'));
      if (!existsSync(p) || (await hashFile(p)) !== f.descriptor.digest) {
        ok = false;
        break;
      }
    }
    if (ok) return { artifact, dir };
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const tmp = path.join(cacheDir, `.incoming-${hexOf(artifact.digest).slice(0, 16)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    for (const f of artifact.files) {
      const p = path.join(tmp, ...f.path.split('/'));
      await mkdir(path.dirname(p), { recursive: true });
      // A blob on this disk (the region's layout) is linked, not copied: blobs are immutable and
      // content-addressed, and the linked file is hashed here all the same.
      const blob = src.blobFile?.(name, f.descriptor.digest) ?? null;
      if (blob !== null && (await link(blob, p).then(() => true, () => false))) {
        const actual = await hashFile(p);
        if (actual !== f.descriptor.digest) {
          throw new RegistryError('DIGEST_INVALID', `${name}:${reference}: file ${f.path} hashes to ${actual}, the signed manifest says ${f.descriptor.digest} (tampered blob in ${src.where}): refused, not loaded`);
        }
        continue;
      }
      const h = newHash();
      const fh = await open(p, 'w', 0o600);
      try {
        for await (const c of await src.blobFrom(name, f.descriptor.digest, 0)) {
          const chunk = c as Buffer;
          h.update(chunk);
          const { bytesWritten } = await fh.write(chunk);
          if (bytesWritten !== chunk.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const actual = `sha256:${h.digest('hex')}`;
      if (actual !== f.descriptor.digest) {
        throw new RegistryError('DIGEST_INVALID', `${name}:${reference}: file ${f.path} hashes to ${actual}, the signed manifest says ${f.descriptor.digest} (tampered blob in ${src.where}): refused, not loaded`);
      }
    }
    await rename(tmp, dir);
    await fsyncDir(cacheDir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err instanceof RegistryError ? err : storageError(err, `loading ${name}:${reference}`);
  }
  return { artifact, dir };
}
