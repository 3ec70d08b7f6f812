// The thread that owns a region's embedded store database (src/store/threaded-sqlite.ts): it
// opens the SQLite file, then runs the calls it is sent one at a time, in the order they come,
// and answers each. Everything here is synchronous SQLite work that used to run on the cell's
// event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { KeyExistsError } from './backend.ts';
import { SqliteBackend } from './sqlite.ts';
import type { BackendCall, BackendReply } from './threaded-sqlite.ts';

const port = parentPort;
if (port === null) throw new Error('src/store/sqlite-worker.ts runs as a worker thread of the region store');

let backend: SqliteBackend;
try {
  backend = new SqliteBackend((workerData as { dir: string }).dir);
  port.postMessage({ id: 0, ok: true, value: null } satisfies BackendReply);
} catch (err) {
  port.postMessage({ id: 0, ok: false, error: { name: (err as Error).name, message: (err as Error).message } } satisfies BackendReply);
  process.exit(1);
}

port.on('message', (call: BackendCall) => {
  void (async (): Promise<void> => {
    let reply: BackendReply;
    try {
      const run = (backend as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[call.method];
      if (typeof run !== 'function') throw new Error(`the store backend has no method ${String(call.method)}`);
      reply = { id: call.id, ok: true, value: await run.apply(backend, call.args) };
    } catch (err) {
      const e = err as Error;
      reply = { id: call.id, ok: false, error: { name: e.name, message: e.message, ...(e instanceof KeyExistsError ? { key: { tenant: e.tenant, subjectHash: e.subjectHash } } : {}) } };
    }
    port.postMessage(reply);
    if (call.method === 'close') port.close();
  })();
});
