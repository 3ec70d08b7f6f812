// Replacing a file so that a crash leaves either the old content or the new, never a torn or
// empty file, and the new content survives power loss once the call returns: write a temp file
// in the same directory, make its bytes durable, rename it over the target (atomic on POSIX),
// then fsync the directory so the rename itself is durable. The one definition of
// write-temp-fsync-rename; everything that replaces a state file uses it.
import { randomUUID } from 'node:crypto';
import { closeSync, constants as fsc, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface DurableWriteOptions {
  /** File mode of the new file (default 0600: state files may be private). */
  mode?: number;
  /**
   * fsync the directory after the rename (default true). false only when the caller replaces
   * many files in one directory and syncs it once afterwards ({@link fsyncDir}).
   */
  syncDir?: boolean;
}

const tempName = (file: string): string => `${file}.tmp-${randomUUID()}`;
const shortWrite = (tmp: string, n: number, of: number): Error => new Error(`short write to ${tmp}: ${n} of ${of} bytes (disk full?)`);

/** Replaces `file` with `data` durably (see the top of this file); the temp file is removed on failure. */
export async function writeFileDurable(file: string, data: Uint8Array | string, opts: DurableWriteOptions = {}): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const tmp = tempName(file);
  // O_DSYNC: the write returns once durable (one thread-pool hop instead of write + fdatasync).
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_DSYNC, opts.mode ?? 0o600);
  try {
    const { bytesWritten } = await fh.write(bytes, 0, bytes.length, 0);
    if (bytesWritten !== bytes.length) throw shortWrite(tmp, bytesWritten, bytes.length);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, file);
  if (opts.syncDir !== false) await fsyncDir(path.dirname(file));
}

/** {@link writeFileDurable} for callers that must not yield (a state change and its reply in one turn). */
export function writeFileDurableSync(file: string, data: Uint8Array | string, opts: DurableWriteOptions = {}): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const tmp = tempName(file);
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_DSYNC, opts.mode ?? 0o600);
  try {
    const n = writeSync(fd, bytes, 0, bytes.length, 0);
    if (n !== bytes.length) throw shortWrite(tmp, n, bytes.length);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
  if (opts.syncDir !== false) fsyncDirSync(path.dirname(file));
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

/**
 * Makes a file that was written in pieces (a streamed upload) durable and visible at once: fsync
 * of its bytes, rename over the target, fsync of the directory (unless `syncDir` is false, for a
 * caller committing many files into one directory and syncing it once after the last). A crash
 * leaves either no target or the whole file.
 */
export async function commitDurable(tmp: string, file: string, syncDir = true): Promise<void> {
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  if (syncDir) await fsyncDir(path.dirname(file));
}
