// Crash safety: kill -9 a child appending in a loop at random moments, several times; every
// acknowledged index must be present after open(), and the log must verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { openLedger, verifyLog } from '../../src/ledger/index.ts';
import { tempDir } from './helpers.ts';

const child = path.join(import.meta.dirname, 'crash-child.ts');

function runAndKill(dir: string, keyDir: string, afterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir, keyDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let maxAck = -1;
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('open ')) timer = setTimeout(() => p.kill('SIGKILL'), afterMs);
        else if (line.startsWith('ack ')) maxAck = Math.max(maxAck, Number(line.slice(4)));
      }
    });
    p.on('error', reject);
    p.on('exit', () => {
      clearTimeout(timer);
      resolve(maxAck);
    });
  });
}

test('kill -9 at random moments: acknowledged entries survive and the log verifies', { timeout: 120_000 }, async () => {
  const root = tempDir('ledger-crash-');
  const dir = path.join(root, 'ledger');
  const keyDir = path.join(root, 'keys');
  let acked = -1;
  for (let round = 0; round < 5; round++) {
    const got = await runAndKill(dir, keyDir, 150 + Math.floor(Math.random() * 400));
    acked = Math.max(acked, got);
    const l = await openLedger({ dir, origin: 'sovereign.example/ledger/crash', keyDir });
    assert.ok(l.size >= acked + 1, `round ${round}: size ${l.size} but index ${acked} was acknowledged`);
    assert.equal(l.checkpointSize, l.size, 'open() signs a checkpoint covering everything recovered');
    const vkey = l.verifierKey;
    await l.close();
    const r = await verifyLog({ dir, verifierKey: vkey });
    assert.equal(r.ok, true, `round ${round}: ${r.error}`);
  }
  assert.ok(acked > 0, 'the child acknowledged some appends');
});
