// The decision endpoint when no permitted region can take the request: 503 with the gateway's
// JSON error (Envoy ext_authz flavor: the status and body go to the client; nginx flavor: 403
// and the same answer fetched by its id), never an allow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { topologyFrom } from '../../src/config/index.ts';
import { createLogger } from '../../src/common/index.ts';
import { startGateway, type RunningGateway } from '../../src/gateway/index.ts';
import { initTrustDomain } from '../../src/mesh/index.ts';
import { EU } from '../helpers/cluster.ts';
import { freePort } from '../helpers/ports.ts';

let gw: RunningGateway;
process.env.SOVEREIGN_LOG_LEVEL ??= 'warn';

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-authz-'));
  // Two EU regions whose cells are not running: permitted by law, not available.
  const topology = topologyFrom({
    dataDir: dir,
    jurisdictions: { EU, AE: ['AE'], SG: ['SG'] },
    regions: [
      { id: 'eu-a', jurisdiction: 'EU', country: 'DE', url: `http://127.0.0.1:${await freePort()}` },
      { id: 'eu-b', jurisdiction: 'EU', country: 'FR', url: `http://127.0.0.1:${await freePort()}` },
    ],
  }, path.join(dir, 'sovereign.yaml'));
  await initTrustDomain(topology); // as `sovereign up` does on first start
  gw = await startGateway({ topology, port: 0, watch: false, logger: createLogger('test') });
});
after(async () => {
  await gw?.close();
});

const body = JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hello' }] });
const headers = { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' };

test('ext_authz: 503 regions_unavailable with the permitted regions, and no region header', async () => {
  const res = await request(`${gw.url}/sovereign/ext-authz/v1/chat/completions`, { method: 'POST', headers, body });
  const json = (await res.body.json()) as { error: { type: string; permitted_regions: string[] } };
  assert.equal(res.statusCode, 503);
  assert.equal(json.error.type, 'regions_unavailable');
  assert.deepEqual(json.error.permitted_regions.sort(), ['eu-a', 'eu-b']);
  assert.equal(res.headers['x-sovereign-region'], undefined);
  assert.equal(res.headers['retry-after'], '1');
});

test('auth_request: 403 with a denial id; the id gives the 503 answer once', async () => {
  const res = await request(`${gw.url}/sovereign/auth-request/v1/chat/completions`, { method: 'POST', headers: { 'x-sovereign-jurisdiction': 'DE', 'x-sovereign-model': 'text-analysis' } });
  await res.body.dump();
  assert.equal(res.statusCode, 403);
  const id = String(res.headers['x-sovereign-denial']);
  const denial = await request(`${gw.url}/sovereign/auth-request-denial/${id}`);
  assert.equal(denial.statusCode, 503);
  assert.equal(((await denial.body.json()) as { error: { type: string } }).error.type, 'regions_unavailable');
  const again = await request(`${gw.url}/sovereign/auth-request-denial/${id}`);
  await again.body.dump();
  assert.equal(again.statusCode, 403);
});
