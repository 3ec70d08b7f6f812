// One writer per log: a lock file in the private state directory holding the writer's pid. A
// lock left by a process that no longer exists (a crashed writer) is taken over; one held by a
// live process refuses the open, since two writers would sign inconsistent checkpoints.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LedgerError } from './errors.ts';
import { readIfExists } from './fsutil.ts';

/** A held lock; `release` removes the lock file (idempotent). */
export interface LogLock {
  release(): void;
}

/** Takes the lock of the log `dir` in `stateDir` (created 0700), or throws SOVEREIGN_LEDGER_LOCKED. */
export function acquireLock(stateDir: string, dir: string): LogLock {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const lockFile = path.join(stateDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
      return { release: () => rmSync(lockFile, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readIfExists(lockFile)?.toString('utf8'));
      if (holderAlive(pid)) throw new LedgerError('SOVEREIGN_LEDGER_LOCKED', `${dir} is open in process ${pid}; one writer per log`);
      rmSync(lockFile, { force: true }); // stale (crashed writer)
    }
  }
  throw new LedgerError('SOVEREIGN_LEDGER_LOCKED', `could not lock ${lockFile}`);
}

function holderAlive(pid: number): boolean {
  if (!(Number.isInteger(pid) && pid > 0 && pid !== process.pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
