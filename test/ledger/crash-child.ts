// Child process for the crash test: appends in a loop and reports each acknowledged index on
// stdout, until it is killed with SIGKILL.
import { openLedger } from '../../src/ledger/index.ts';
import { decision } from './helpers.ts';

const [dir, keyDir] = process.argv.slice(2) as [string, string];
const l = await openLedger({ dir, origin: 'sovereign.example/ledger/crash', keyDir, checkpointIntervalMs: 20 });
process.stdout.write(`open ${l.size}\n`);
let i = l.size;
for (;;) {
  const batch = Array.from({ length: 8 }, () => l.append(decision(i++)));
  for (const p of batch) {
    const { index } = await p;
    process.stdout.write(`ack ${index}\n`);
  }
}
