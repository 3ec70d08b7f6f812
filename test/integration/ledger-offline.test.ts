// `sovereign ledger verify --region r` on the local files with the gateway down: the witness keys
// come from files on this machine (the keys the region pinned, or the witnesses' own key files).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { MAIN, ROOT, startCluster, type Cluster } from '../helpers/cluster.ts';

let c: Cluster;
before(async () => {
  c = await startCluster();
});
after(async () => {
  await c?.stop();
});

const run = (args: string[]): Promise<{ stdout: string; stderr: string }> => promisify(execFile)(process.execPath, [MAIN, '--config', c.configFile, ...args], { cwd: ROOT });

test('verify works on local files with everything stopped, witnesses included', async () => {
  const res = await fetch(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hello' }] }) });
  assert.equal(res.status, 200);
  // Wait until the region's checkpoint carries a witness cosignature (up to a minute on a loaded machine).
  let cp = '';
  for (let i = 0; i < 300 && !/— witness\./.test(cp); i++) {
    cp = await (await fetch(`${c.gateway}/sovereign/ledger/eu-frankfurt/checkpoint`)).text();
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(cp, /— witness\./);
  await c.stop();
  const pinned = await run(['ledger', 'verify', '--region', 'eu-frankfurt']);
  assert.match(pinned.stdout, /^ok: \d+ entries, root \S+, cosigned by witness\./);
  // Without the pinned keys, the witnesses' own key files are read.
  rmSync(path.join(c.dir, 'data/regions/eu-frankfurt/peer-keys.json'), { force: true });
  const own = await run(['ledger', 'verify', '--region', 'eu-frankfurt']);
  assert.match(own.stdout, /cosigned by witness\./);
});
