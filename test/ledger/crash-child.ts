// Child process for the crash test: several independent appenders (so group-committed writes
// overlap and are acknowledged in order) append until the process is killed with SIGKILL,
// reporting each acknowledged index and the decision id it holds on stdout. Small WAL segments
// make rotations happen under the kill too.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { openLedger } from '../../src/ledger/index.ts';
import { decision } from './helpers.ts';

const [dir, keyDir] = process.argv.slice(2) as [string, string];
const l = await openLedger({ dir, origin: 'sovereign.example/ledger/crash', keyDir, checkpointIntervalMs: 20, walSegmentBytes: 64 * 1024 });
process.stdout.write(`open ${l.size}\n`);
let next = 0;
const appender = async (): Promise<void> => {
  for (;;) {
    const batch = Array.from({ length: 1 + Math.floor(Math.random() * 8) }, () => {
      const id = `${process.pid}-${next++}`;
      return l.append(decision(id)).then(({ index }) => process.stdout.write(`ack ${index} dec-${id}\n`));
    });
    await Promise.all(batch);
    if (Math.random() < 0.5) await nextTurn();
  }
};
await Promise.all(Array.from({ length: 6 }, appender));
