// The store's WAL checkpointer thread (see wal-checkpointer.ts): its own connection to the
// region's SQLite file runs a PASSIVE checkpoint on an interval, so the page copies and the two
// fsyncs of a checkpoint never run on the cell's event loop. PASSIVE copies what it can without
// waiting for the writer or readers (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html); the
// next commit restarts the WAL once every frame is in the database.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointWorkerData {
  file: string;
  intervalMs: number;
}

/** One checkpoint's outcome, posted to the owner: frames in the WAL, and copied into the database. */
export type CheckpointReport = { log: number; checkpointed: number } | { error: string };

const { file, intervalMs } = workerData as CheckpointWorkerData;
const db = new DatabaseSync(file);
db.exec('PRAGMA busy_timeout = 5000;');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

function run(): void {
  try {
    const r = checkpoint.get() as { busy: number; log: number; checkpointed: number };
    parentPort?.postMessage({ log: Number(r.log), checkpointed: Number(r.checkpointed) } satisfies CheckpointReport);
  } catch (err) {
    parentPort?.postMessage({ error: (err as Error).message } satisfies CheckpointReport);
  }
}

const timer = setInterval(run, intervalMs);
parentPort?.on('message', (msg: 'now' | 'stop') => {
  if (msg === 'now') return run();
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
