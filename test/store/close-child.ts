// Child of test/store/threaded-sqlite.test.ts: queues records in a region store over the
// threaded backend and closes it with nothing else keeping the process alive. The process must
// not exit before the store thread has committed them.
import { createSecretKey } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RegionStore, ThreadedSqliteBackend } from '../../src/store/index.ts';
import { served } from './helpers.ts';

const [dir, kekHex, count] = process.argv.slice(2) as [string, string, string];
const store = await RegionStore.open({
  region: 'eu-test',
  backend: await ThreadedSqliteBackend.open(dir),
  kek: { key: createSecretKey(Buffer.from(kekHex, 'hex')), source: 'the test' },
  subjectHash: (s) => s.padEnd(64, '0').slice(0, 64),
  appendLedger: async () => 'test/ledger 0',
  logger: pino({ level: 'silent' }),
  registry: new Registry(),
  flushIntervalMs: 10_000,
  sweepIntervalMs: 3_600_000,
  maxQueued: 100_000,
});
for (let i = 0; i < Number(count); i++) store.record(served('alice', `record ${i}`));
void store.close();
