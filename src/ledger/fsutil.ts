// File-system helpers of the log; durable replacement is src/common/durable-file.ts.
import { readFileSync } from 'node:fs';

/** The file's bytes, or null if it does not exist. */
export function readIfExists(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
