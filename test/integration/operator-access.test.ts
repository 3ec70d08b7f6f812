// Operator endpoints need credentials: /metrics and /sovereign/regions the admin token (always),
// /sovereign/classify and /sovereign/explain a tenant key whenever tenants are configured.
// gateway.openOperatorViews opens them (for development), never the admin API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { startCluster, type Cluster } from '../helpers/cluster.ts';

const KEY = 'sk-test-operator-access';
let c: Cluster;

before(async () => {
  c = await startCluster({ tenants: [{ name: 'acme', apiKeySha256: createHash('sha256').update(KEY).digest('hex') }] });
});
after(async () => {
  await c?.stop();
});

async function call(method: 'GET' | 'POST', p: string, auth?: string): Promise<{ status: number; body: string; www?: unknown }> {
  const res = await request(`${c.gateway}${p}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    ...(method === 'POST' ? { body: JSON.stringify(p === '/sovereign/classify' ? { text: 'diabetes' } : { model: 'text-analysis', messages: [{ role: 'user', content: 'hi' }] }) } : {}),
  });
  return { status: res.statusCode, body: await res.body.text(), www: res.headers['www-authenticate'] };
}

const views: ['GET' | 'POST', string, 'admin' | 'tenant'][] = [
  ['GET', '/metrics', 'admin'],
  ['GET', '/sovereign/regions', 'admin'],
  ['POST', '/sovereign/classify', 'tenant'],
  ['POST', '/sovereign/explain', 'tenant'],
];

test('operator views refuse callers without credentials, in the documented error shape', async () => {
  for (const [m, p] of views) {
    for (const auth of [undefined, 'not-a-token']) {
      const a = await call(m, p, auth);
      assert.equal(a.status, 401, `${m} ${p}: ${a.body}`);
      assert.equal((JSON.parse(a.body) as { error: { type: string } }).error.type, 'authentication_error');
      assert.match(String(a.www), /^Bearer/);
    }
  }
  // A tenant key is not an admin token.
  assert.equal((await call('GET', '/metrics', KEY)).status, 401);
  assert.equal((await call('GET', '/sovereign/regions', KEY)).status, 401);
});

test('the admin token opens every view; a tenant key opens classify and explain', async () => {
  const token = c.adminToken();
  for (const [m, p, who] of views) {
    assert.equal((await call(m, p, token)).status, 200, `${m} ${p} with the admin token`);
    if (who === 'tenant') assert.equal((await call(m, p, KEY)).status, 200, `${m} ${p} with a tenant key`);
  }
  const metrics = await call('GET', '/metrics', token);
  assert.match(metrics.body, /^# HELP /m);
});

test('gateway.openOperatorViews opens the views (development), never the admin API', async () => {
  const cfg = parse(readFileSync(c.configFile, 'utf8')) as { gateway: Record<string, unknown> };
  cfg.gateway.openOperatorViews = true;
  writeFileSync(c.configFile, stringify(cfg));
  for (let i = 0; i < 100 && (await call('GET', '/metrics')).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  for (const [m, p] of views) assert.equal((await call(m, p)).status, 200, `${m} ${p} open`);
  assert.equal((await call('GET', '/sovereign/admin/regions')).status, 401);
  assert.equal((await call('POST', '/sovereign/admin/regions/eu-paris/suspend')).status, 401);
});
