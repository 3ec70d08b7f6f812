// Durable file-system helpers shared by the log, its WAL and its static layout.
import { randomUUID } from 'node:crypto';
import { closeSync, constants as fsc, fsyncSync, openSync, readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a file durably: temp file, synchronous (O_DSYNC) write, rename over the target. The
 * temp file is removed if the write fails (a full disk); directory fsync is the caller's.
 */
export async function writeDurable(file: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${randomUUID()}`;
  // O_DSYNC: the write returns once durable (one thread-pool hop instead of write + fdatasync).
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_DSYNC, mode);
  try {
    const { bytesWritten } = await fh.write(data, 0, data.length, 0);
    if (bytesWritten !== data.length) throw new Error(`short write to ${tmp}: ${bytesWritten} of ${data.length} bytes (disk full?)`);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, file);
}

/**
 * Makes a file that was written in pieces (a streamed upload) durable and visible at once:
 * fsync of its bytes, rename over the target, fsync of the directory. A crash leaves either
 * no target or the whole file.
 */
export async function commitDurable(tmp: string, file: string, syncDir = true): Promise<void> {
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  // Callers committing many files into one directory may fsync it once after the last.
  if (syncDir) await fsyncDir(path.dirname(file));
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The file's bytes, or null if it does not exist. */
export function readIfExists(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
