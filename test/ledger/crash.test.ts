// Crash safety: kill -9 a child appending from several appenders at random moments, several
// times; every acknowledged index must hold the entry acknowledged for it after open(), and the
// log must verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { openLedger, parseEntry, verifyLog } from '../../src/ledger/index.ts';
import { tempDir } from './helpers.ts';

const child = path.join(import.meta.dirname, 'crash-child.ts');

/** Runs the child, kills it `afterMs` after it opened the log; resolves with its acknowledgements (index -> decision id). */
function runAndKill(dir: string, keyDir: string, afterMs: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir, keyDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acks = new Map<number, string>();
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('open ')) timer = setTimeout(() => p.kill('SIGKILL'), afterMs);
        else if (line.startsWith('ack ')) {
          const [, index, id] = line.split(' ');
          acks.set(Number(index), id as string);
        }
      }
    });
    p.on('error', reject);
    p.on('exit', () => {
      clearTimeout(timer);
      resolve(acks);
    });
  });
}

test('kill -9 at random moments: acknowledged entries survive and the log verifies', { timeout: 120_000 }, async () => {
  const root = tempDir('ledger-crash-');
  const dir = path.join(root, 'ledger');
  const keyDir = path.join(root, 'keys');
  const acked = new Map<number, string>();
  for (let round = 0; round < 5; round++) {
    for (const [index, id] of await runAndKill(dir, keyDir, 150 + Math.floor(Math.random() * 400))) acked.set(index, id);
    const l = await openLedger({ dir, origin: 'sovereign.example/ledger/crash', keyDir });
    for (const [index, id] of acked) {
      assert.ok(index < l.size, `round ${round}: size ${l.size} but index ${index} was acknowledged`);
      const e = parseEntry(l.entry(index));
      assert.equal(e.kind === 'decision' && e.decision_id, id, `round ${round}: entry ${index} is not the one acknowledged for it`);
    }
    assert.equal(l.checkpointSize, l.size, 'open() signs a checkpoint covering everything recovered');
    const vkey = l.verifierKey;
    await l.close();
    const r = await verifyLog({ dir, verifierKey: vkey });
    assert.equal(r.ok, true, `round ${round}: ${r.error}`);
  }
  assert.ok(acked.size > 100, `the child acknowledged some appends (${acked.size})`);
});
