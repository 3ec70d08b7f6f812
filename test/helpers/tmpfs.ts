// A small tmpfs to fill up, for disk-full tests (root only; the reason is returned otherwise).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';

/** Mounts a tmpfs of `size` (e.g. "4m") at `dir`; null when mounted, else why not. */
export function mountTmpfs(dir: string, size: string): string | null {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as Error).message}`;
  }
}

/** Fills the file system holding `file` until a write fails. */
export function fill(file: string, chunkBytes = 64 * 1024): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(chunkBytes, 1);
  try {
    for (;;) {
      const n = writeSync(fd, chunk);
      if (n < chunk.length) break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}
