// A reload replaces the deps of a gateway process, never its ledger outbox: one outbox per
// file and process, handed from recorder to recorder, so nothing kept for a region that is
// down is lost or delivered twice across reloads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { createLogger } from '../../src/common/index.ts';
import { loadTopology } from '../../src/config/index.ts';
import { startGateway, type RunningGateway } from '../../src/gateway/index.ts';
import { initTrustDomain } from '../../src/mesh/index.ts';
import { EU } from '../helpers/cluster.ts';
import { freePort } from '../helpers/ports.ts';

let gw: RunningGateway;
let dir: string;
let file: string;
let token: string;
process.env.SOVEREIGN_LOG_LEVEL ??= 'error';

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sovereign-reload-outbox-'));
  file = path.join(dir, 'sovereign.yaml');
  // Cells not running: every trigger entry is kept in the outbox until its region is back.
  writeFileSync(
    file,
    stringify({
      dataDir: path.join(dir, 'data'),
      jurisdictions: { EU, AE: ['AE'], SG: ['SG'] },
      regions: [
        { id: 'eu-a', jurisdiction: 'EU', country: 'DE', url: `https://127.0.0.1:${await freePort()}` },
        { id: 'eu-b', jurisdiction: 'EU', country: 'FR', url: `https://127.0.0.1:${await freePort()}` },
      ],
      gateway: { workers: 1 },
    }),
  );
  const topology = loadTopology(file);
  await initTrustDomain(topology);
  gw = await startGateway({ topology, port: 0, watch: false, logger: createLogger('test') });
  token = readFileSync(path.join(dir, 'data/gateway/admin-token'), 'utf8').trim();
});
after(async () => {
  await gw?.close();
});

async function suspend(region: string, ref: string): Promise<void> {
  const res = await request(`${gw.url}/sovereign/admin/regions/${region}/suspend`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'order', ref }),
  });
  const body = (await res.body.json()) as { ledger: string[] };
  assert.equal(res.statusCode, 200, JSON.stringify(body));
  assert.ok(body.ledger.every((l) => l.includes('kept in the outbox')), JSON.stringify(body));
}

const lines = (): string[] => readFileSync(path.join(dir, 'data/gateway/ledger-outbox-gateway.jsonl'), 'utf8').split('\n').filter(Boolean);

test('records kept before and after reloads sit once in the one outbox, which the new recorder delivers', async () => {
  await suspend('eu-a', 'R-1');
  const before = gw.current().recorder.pending;
  assert.ok(before >= 1);
  assert.equal(lines().length, before);
  const first = gw.current().recorder;
  for (let i = 0; i < 2; i++) assert.deepEqual(await gw.reload(), { ok: true });
  assert.notEqual(gw.current().recorder, first, 'the reload built new deps');
  // The outbox came along: what was kept is still pending, once.
  assert.equal(gw.current().recorder.pending, before);
  await suspend('eu-b', 'R-2');
  const after = gw.current().recorder.pending;
  assert.ok(after > before);
  assert.equal(lines().length, after, 'each kept record is in the file once');
  assert.equal(new Set(lines()).size, lines().length);
  // The old recorders share the outbox: they see the same count (one outbox, not one each).
  assert.equal(first.pending, after);
});
