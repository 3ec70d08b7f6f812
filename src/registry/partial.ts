// Blobs being downloaded into a registry (replication from golden), resumably: the bytes go to
// <root>/partial/<hex> and are kept after a cut connection, so the next attempt asks only for
// the rest (a Range request); the digest is checked over the whole file before the store moves
// it into a repository (LayoutStore.commitPartial), so nothing half-received becomes visible.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { checkDigest, hashFile, hexOf } from './digest.ts';
import type { WriteBatch } from './drain.ts';
import { RegistryError, storageError } from './errors.ts';
import type { BlobHash } from './hash-thread.ts';
import { WriteBehind } from './write-behind.ts';

export class PartialBlobs {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  file(digest: string): string {
    return path.join(this.dir, hexOf(checkDigest(digest, 'blob digest')));
  }

  /** Bytes of `digest` kept so far (where a resumed download continues). */
  size(digest: string): number {
    try {
      return statSync(this.file(digest)).size;
    } catch {
      return 0;
    }
  }

  /**
   * Appends bytes to the partial file of `digest`: `feed` is given the writer (batches written
   * in order, each hashed into `hash` while it is written; a batch is done, and its memory handed
   * back, once both are) and resolves when its source has ended. After a cut, every batch that
   * arrived is both written and hashed before this rejects, so a resume continues with a hash
   * that matches the file. A failed write fails the blob (storage); so does a failed hash
   * (HASH_FAILED) — neither is a cut to retry.
   */
  async append(digest: string, hash: BlobHash, feed: (write: WriteBatch) => Promise<void>, onBytes?: (n: number) => void): Promise<void> {
    const file = this.file(digest);
    let fh: FileHandle | null;
    try {
      fh = await open(file, 'a');
    } catch (err) {
      throw storageError(err, `blob ${digest}`);
    }
    const behind = new WriteBehind(fh);
    try {
      await feed(async (chunks, n) => {
        const write = async (): Promise<void> => {
          const { bytesWritten } = chunks.length === 1 ? await (fh as FileHandle).write(chunks[0] as Uint8Array) : await (fh as FileHandle).writev(chunks);
          if (bytesWritten !== n) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
        };
        // Both read the batch and neither changes it: they run at once, and both have finished
        // (whatever the outcome) before the batch's memory is handed back.
        const [wrote, hashed] = await Promise.allSettled([write(), hash.update(chunks)]);
        if (wrote.status === 'rejected') {
          const err = wrote.reason as NodeJS.ErrnoException;
          // A full disk: give the space back (the blob starts again once there is room).
          if (err.code === 'ENOSPC') {
            await behind.settle().catch(() => undefined);
            await fh?.close().catch(() => undefined);
            fh = null;
            await unlink(file).catch(() => undefined);
          }
          throw storageError(err, `blob ${digest}`);
        }
        if (hashed.status === 'rejected') throw hashed.reason;
        behind.wrote(n);
        onBytes?.(n);
      });
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      // The source went away mid-blob: what arrived is kept (written) for a resume.
      throw new RegistryError('UNAVAILABLE', `blob ${digest}: the transfer was cut (${(err as Error).message})`);
    } finally {
      // A write-back that failed fails the blob (storage), whatever else happened.
      const wb = await behind.settle().then(
        () => null,
        (err: unknown) => err,
      );
      await fh?.close().catch(() => undefined);
      if (wb) throw storageError(wb, `blob ${digest}`);
    }
  }

  async discard(digest: string): Promise<void> {
    await unlink(this.file(digest)).catch(() => undefined);
  }

  /** Feeds `hash` with the first `length` bytes of the partial file (resuming a cut transfer). */
  async hashInto(digest: string, hash: BlobHash, length: number): Promise<void> {
    const file = this.file(digest);
    if (length === 0 || !existsSync(file)) return;
    await hash.updateFile(file, length);
  }

  /**
   * Checks a complete partial file (size, and digest: `hashed` when the caller hashed the bytes
   * as they were written, else read again) and answers its path; a file that fails is removed.
   */
  async verified(name: string, digest: string, size: number, hashed?: string): Promise<string> {
    const file = this.file(digest);
    const st = await stat(file).catch(() => null);
    if (!st || st.size !== size) {
      await unlink(file).catch(() => undefined);
      throw new RegistryError('SIZE_INVALID', `blob ${digest} of ${name}: received ${st?.size ?? 0} bytes, the manifest says ${size} (truncated?): refused, nothing stored`);
    }
    const actual = hashed ?? (await hashFile(file));
    if (actual !== digest) {
      await unlink(file).catch(() => undefined);
      throw new RegistryError('DIGEST_INVALID', `blob of ${name} hashes to ${actual}, not ${digest} (tampered or corrupted in transit): refused, nothing stored`);
    }
    return file;
  }
}
