// `sovereign ledger key|verify|show|prove|check-receipt` through Commander, on a --dir log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { register } from '../../src/cli/ledger.ts';
import { openLedger } from '../../src/ledger/index.ts';
import { decision, tempDir } from './helpers.ts';

async function run(args: string[]): Promise<string> {
  const p = new Command('sovereign').option('--config <file>').exitOverride();
  register(p);
  let out = '';
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => ((out += s), true));
  try {
    await p.parseAsync(['node', 'sovereign', ...args]);
  } finally {
    process.stdout.write = orig;
  }
  return out;
}

test('ledger CLI: key, show, prove, verify', async () => {
  const dir = path.join(tempDir(), 'ledger');
  const l = await openLedger({ dir, origin: 'sovereign.example/ledger/eu-frankfurt', keyDir: path.join(path.dirname(dir), 'keys') });
  for (let i = 0; i < 3; i++) await l.append(decision(i));
  await l.close();
  const key = await run(['ledger', 'key', '--region', 'eu-frankfurt', '--dir', dir]);
  assert.match(key, /^sovereign\.example\/ledger\/eu-frankfurt\+[0-9a-f]{8}\+/);
  const shown = await run(['ledger', 'show', '--region', 'eu-frankfurt', '--dir', dir, '--from', '1', '--to', '2']);
  assert.equal(shown.trim().split('\n').length, 1);
  assert.match(shown, /"decision_id":"dec-1"/);
  const proof = await run(['ledger', 'prove', '--region', 'eu-frankfurt', '--dir', dir, '--decision', 'dec-2']);
  assert.match(proof, /^c2sp\.org\/tlog-proof@v1\nextra .*\nindex 2\n/);
  // An auditor checks the receipt offline with nothing but the log's public key.
  const receipt = path.join(path.dirname(dir), 'receipt.txt');
  writeFileSync(receipt, proof);
  const checked = await run(['ledger', 'check-receipt', receipt, '--key', key.trim()]);
  assert.match(checked, /^ok: entry 2 of sovereign\.example\/ledger\/eu-frankfurt is in its signed checkpoint of size 3/);
  assert.match(checked, /"decision_id":"dec-2"/);
  const ok = await run(['ledger', 'verify', '--region', 'eu-frankfurt', '--dir', dir, '--quorum', '0']);
  assert.match(ok, /^ok: 3 entries/);
  appendFileSync(path.join(dir, 'tile', 'entries', '000.p', '3'), 'x');
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const exit = process.exit;
  let code: number | undefined;
  process.exit = ((c?: number) => {
    code = c;
    throw new Error('exit');
  });
  try {
    await assert.rejects(run(['ledger', 'verify', '--region', 'eu-frankfurt', '--dir', dir, '--key', key.trim(), '--quorum', '0']));
    assert.equal(code, 1);
    // A receipt whose entry was altered, or one checked against a quorum it lacks, is refused.
    code = undefined;
    const altered = proof.replace(/^extra (\S+)$/m, (_, b64: string) => `extra ${Buffer.from(Buffer.from(b64, 'base64').toString().replace('dec-2', 'dec-9')).toString('base64')}`);
    assert.notEqual(altered, proof);
    writeFileSync(receipt, altered);
    await assert.rejects(run(['ledger', 'check-receipt', receipt, '--key', key.trim()]));
    assert.equal(code, 1);
    code = undefined;
    writeFileSync(receipt, proof);
    await assert.rejects(run(['ledger', 'check-receipt', receipt, '--key', key.trim(), '--quorum', '1']));
    assert.equal(code, 1);
  } finally {
    process.exit = exit;
  }
});
