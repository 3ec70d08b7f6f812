// A changed topology or policy file is validated and hot-reloaded; a bad one is refused and
// the previous one stays in force.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { ROOT, startCluster, type Cluster } from '../helpers/cluster.ts';

const policyDir = mkdtempSync(path.join(tmpdir(), 'sovereign-policy-'));
const policyFile = path.join(policyDir, 'rules.cedar');
copyFileSync(path.join(ROOT, 'policies/default.cedar'), policyFile);

let c: Cluster;
before(async () => {
  // Two gateway workers: a reload reaches both, a bad file is refused by both.
  c = await startCluster({ policy: { file: policyFile }, gateway: { workers: 2 } });
});
after(async () => {
  await c?.stop();
});

async function served(): Promise<{ status: number; region: string | undefined }> {
  const res = await request(`${c.gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' },
    body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hello' }] }),
  });
  await res.body.dump();
  return { status: res.statusCode, region: res.headers['x-sovereign-region'] as string | undefined };
}

async function eventually(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}\n${readFileSync(path.join(c.dir, 'data/logs/gateway.log'), 'utf8').slice(-2000)}`);
}

test('a changed topology file takes effect without a restart; a bad one is refused', async () => {
  assert.equal((await served()).region, 'eu-frankfurt');
  const cfg = parse(readFileSync(c.configFile, 'utf8')) as { routing: { preference: string[] } };
  cfg.routing.preference = ['eu-paris', 'eu-frankfurt', 'uae-dubai', 'sg-singapore'];
  writeFileSync(c.configFile, stringify(cfg));
  await eventually('the new preference', async () => (await served()).region === 'eu-paris');

  writeFileSync(c.configFile, 'regions: [this is not a topology');
  await eventually('the refusal to be logged', async () => readFileSync(path.join(c.dir, 'data/logs/gateway.log'), 'utf8').includes('changed topology or policy refused'));
  const after = await served();
  assert.deepEqual(after, { status: 200, region: 'eu-paris' });
});

test('a policy file that does not validate is refused and the previous table stays in force', async () => {
  const good = readFileSync(policyFile, 'utf8');
  writeFileSync(policyFile, `${good}\n@id("typo")\n@rationale("x")\n@legal_ref("x")\npermit (principal == Jurisdiction::"EUROPE", action, resource);\n`);
  await eventually('the refusal to be logged', async () => {
    const log = readFileSync(path.join(c.dir, 'data/logs/gateway.log'), 'utf8');
    return (log.match(/changed topology or policy refused/g) ?? []).length >= 2;
  });
  assert.equal((await served()).status, 200);
});
