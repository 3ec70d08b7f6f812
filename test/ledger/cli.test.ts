// `sovereign ledger key|verify|show|prove` through Commander, on a --dir log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
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
  } finally {
    process.exit = exit;
  }
  assert.equal(code, 1);
});
