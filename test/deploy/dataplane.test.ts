// The law in a data plane that is not Sovereign's own: the gateway's decision endpoint with
// the contract of Envoy's ext_authz HTTP service, and real nginx (Debian package) in front of
// the cells with auth_request to it. Without nginx the nginx part is skipped with the reason,
// except under CI=true, where that is a failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { request } from 'undici';
import { loadTopology, topologyFrom } from '../../src/config/index.ts';
import { renderNginxConfig } from '../../src/deploy/index.ts';
import { EU, startCluster, type Cluster } from '../helpers/cluster.ts';
import { freePort } from '../helpers/ports.ts';
import { meshClient, type MeshClient } from '../helpers/mesh.ts';
import { spiffeId } from '../../src/mesh/index.ts';

// Requests come from 127.0.0.2 (a stand-in load balancer the gateway trusts, like
// test/integration/law.test.ts); nginx reaches the gateway from 127.0.0.1, also trusted.
const LB = '127.0.0.2';
const IP = { DE: '193.99.144.80', SG: '165.21.83.88', US: '8.8.8.8' } as const;
const HIV = 'My HIV test came back and my doctor changed my medication.';
const PUBLIC = 'Summarise the release notes of the routing service in three bullet points.';

const nginxMissing = spawnSync('nginx', ['-v']).error ? 'nginx is not installed (apt-get install nginx)' : null;
if (nginxMissing !== null && process.env.CI === 'true') {
  test('nginx is present (required under CI=true)', () => assert.fail(nginxMissing));
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

function send(url: string, method: string, body: string | null, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, localAddress: LB, headers: { ...(body !== null ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

const chatBody = (content: string): string => JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content }] });

let c: Cluster;
let adminToken: string;

async function admin(p: string, body: unknown): Promise<void> {
  const res = await request(`${c.gateway}${p}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, text);
}

async function ledger(region: string): Promise<Record<string, unknown>[]> {
  const res = await request(`${c.gateway}/sovereign/ledger/${region}/entries?from=0&to=100000`);
  return ((await res.body.json()) as { entries: { entry: Record<string, unknown> }[] }).entries.map((e) => e.entry);
}

async function allDecisions(): Promise<Map<string, Record<string, unknown>[]>> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const region of Object.keys(c.regions)) {
    for (const e of await ledger(region)) {
      if (e.kind !== 'decision') continue;
      const id = String(e.decision_id);
      out.set(id, [...(out.get(id) ?? []), { ...e, ledger: region }]);
    }
  }
  return out;
}

before(async () => {
  // Cells by host name: their certificates then carry a DNS name, which nginx can check.
  c = await startCluster({ gateway: { trustedProxies: ['127.0.0.1', LB] } }, (config) => {
    for (const r of config.regions as { url: string }[]) r.url = r.url.replace('127.0.0.1', 'localhost');
  });
  for (const id of Object.keys(c.regions)) c.regions[id] = (c.regions[id] as string).replace('127.0.0.1', 'localhost');
  adminToken = readFileSync(path.join(c.dir, 'data/gateway/admin-token'), 'utf8').trim();
});
after(async () => {
  await c?.stop();
});

describe('the decision endpoint, with the contract of Envoy ext_authz (HTTP service)', () => {
  const check = (p: string, body: string | null, headers: Record<string, string> = {}): Promise<Answer> => send(`${c.gateway}/sovereign/ext-authz${p}`, 'POST', body, headers);

  test('allow: 200 with the region in x-sovereign-region, recorded in that region before the answer', async () => {
    const a = await check('/v1/chat/completions', chatBody(HIV), { 'x-forwarded-for': IP.DE });
    assert.equal(a.status, 200, a.text);
    const region = String(a.headers['x-sovereign-region']);
    assert.ok(['eu-frankfurt', 'eu-paris'].includes(region), region);
    assert.equal(a.headers['x-sovereign-data-class'], 'special');
    assert.match(String(a.headers['x-sovereign-ledger']), new RegExp(`^sovereign\\.example/ledger/${region} \\d+$`));
    const id = String(a.headers['x-sovereign-decision-id']);
    const entry = (await ledger(region)).find((e) => e.decision_id === id);
    assert.equal(entry?.outcome, 'routed');
    assert.equal(entry?.data_class, 'special');
    assert.deepEqual(entry?.detected_types, ['HEALTH']);
  });

  test('the body decides the class: public content of a Singapore client may go where special could not', async () => {
    const pub = await check('/v1/chat/completions', chatBody(PUBLIC), { 'x-forwarded-for': IP.SG });
    assert.equal(pub.status, 200, pub.text);
    assert.equal(pub.headers['x-sovereign-data-class'], 'public');
    // A body cut at max_request_bytes cannot be classified: the strictest class applies.
    const cut = await check('/v1/chat/completions', chatBody(PUBLIC).slice(0, 40), { 'x-forwarded-for': IP.SG, 'x-envoy-auth-partial-body': 'true', 'x-sovereign-model': 'text-analysis' });
    assert.equal(cut.status, 200, cut.text);
    assert.equal(cut.headers['x-sovereign-data-class'], 'special');
  });

  test('deny: 451 with the gateway\'s JSON error, and the denial is recorded', async () => {
    const a = await check('/v1/chat/completions', chatBody('hello'), { 'x-forwarded-for': IP.US });
    assert.equal(a.status, 451, a.text);
    const err = a.json().error as { type: string; decision_id: string; rationale: string[] };
    assert.equal(err.type, 'jurisdiction_denied');
    assert.match(err.rationale.join(' '), /third-country-nothing/);
    assert.equal(a.headers['x-sovereign-region'], undefined);
    const decisions = await allDecisions();
    assert.equal(decisions.get(err.decision_id)?.[0]?.outcome, 'denied');
  });

  test('V2 names the model in the path; an unknown route or model is refused, not allowed', async () => {
    const v2 = await check('/v2/models/text-analysis/infer', JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [PUBLIC] }] }), { 'x-forwarded-for': IP.DE });
    assert.equal(v2.status, 200, v2.text);
    assert.equal((await check('/v1/chat/completions', JSON.stringify({ model: 'no-such-model', messages: [] }), { 'x-forwarded-for': IP.DE })).status, 404);
    assert.equal((await check('/sovereign/regions', null, { 'x-forwarded-for': IP.DE })).status, 404);
    assert.equal((await check('/v1/chat/completions', '{not json', { 'x-forwarded-for': IP.DE })).status, 400);
  });

  test('a cell refuses a request decided for another region (421), whatever routed it there', async () => {
    // Called as the gateway would (its identity may send inference to a cell).
    const client = await meshClient(c.configFile);
    try {
      const res = await client.request(`${c.regions['sg-singapore']}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-region': 'eu-frankfurt' }, body: chatBody(PUBLIC) });
      assert.equal(res.statusCode, 421, await res.body.text());
    } finally {
      await client.close();
    }
  });
});

describe('nginx in front of the cells, auth_request to the decision endpoint', { skip: nginxMissing ?? false }, () => {
  let nginx: ChildProcess | undefined;
  let base = '';
  let nginxLog = '';
  let svid: MeshClient | undefined;
  const seen: string[] = [];

  before(async () => {
    const dir = path.join(c.dir, 'nginx');
    mkdirSync(dir, { recursive: true });
    const port = await freePort();
    // The cells take mutual TLS only: nginx presents an identity the mesh issued for it (a
    // gateway identity: the mesh lets gateways send inference to cells).
    const topology = loadTopology(c.configFile);
    svid = await meshClient(topology, spiffeId.gateway(topology.data.mesh.trustDomain, 'nginx'));
    const conf = renderNginxConfig(topology, {
      listen: `127.0.0.1:${port}`,
      gateway: c.gateway,
      prefix: dir,
      foreground: true,
      upstreamTls: { certificate: svid.files.cert, key: svid.files.key, trustedCa: svid.files.bundle },
      ...(process.getuid?.() === 0 ? { user: 'root root' } : {}),
    });
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const t = spawnSync('nginx', ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { encoding: 'utf8' });
    assert.equal(t.status, 0, `nginx -t refused the rendered configuration:\n${t.stderr}`);
    nginx = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stderr?.on('data', (b: Buffer) => (nginxLog += b.toString()));
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        await request(`${base}/`).then((r) => r.body.dump());
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  after(async () => {
    await svid?.close();
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx?.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
  });

  const chat = async (content: string, ip: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const a = await send(`${base}/v1/chat/completions`, 'POST', chatBody(content), { 'x-forwarded-for': ip, 'x-sovereign-model': 'text-analysis', ...headers });
    const id = a.headers['x-sovereign-decision-id'];
    if (typeof id === 'string' && id !== '') seen.push(id);
    return a;
  };

  test('EU special data reaches only EU cells, even when the client names another region', async () => {
    for (let i = 0; i < 6; i++) {
      const a = await chat(HIV, IP.DE, i % 2 === 0 ? { 'x-sovereign-region': 'sg-singapore' } : {});
      assert.equal(a.status, 200, `${a.text}\n${nginxLog}`);
      // x-sovereign-region is set by the cell that answered.
      assert.ok(['eu-frankfurt', 'eu-paris'].includes(String(a.headers['x-sovereign-region'])), String(a.headers['x-sovereign-region']));
      assert.ok((a.json().choices as unknown[]).length > 0);
    }
  });

  test('a US user gets 451 with the JSON error, through nginx', async () => {
    const a = await chat('hello', IP.US);
    assert.equal(a.status, 451, a.text);
    const err = a.json().error as { type: string; decision_id: string };
    assert.equal(err.type, 'jurisdiction_denied');
    seen.push(err.decision_id);
    assert.equal(a.headers['x-sovereign-region'], undefined, 'no cell answered');
  });

  test('the body is not visible to auth_request: the class is special, and a request without a model name is refused', async () => {
    const sg = await chat(PUBLIC, IP.SG);
    assert.equal(sg.status, 200, sg.text);
    const entry = (await allDecisions()).get(String(sg.headers['x-sovereign-decision-id']))?.[0];
    assert.equal(entry?.data_class, 'special');
    const noModel = await send(`${base}/v1/chat/completions`, 'POST', chatBody(PUBLIC), { 'x-forwarded-for': IP.DE });
    assert.equal(noModel.status, 400, noModel.text);
    assert.match(String((noModel.json().error as { message: string }).message), /x-sovereign-model/);
    const v2 = await send(`${base}/v2/models/text-analysis/infer`, 'POST', JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [PUBLIC] }] }), { 'x-forwarded-for': IP.DE });
    assert.equal(v2.status, 200, v2.text);
    seen.push(String(v2.headers['x-sovereign-decision-id']));
    // A GET has no body to miss: nginx passes the original method, and the request is public.
    const meta = await send(`${base}/v2/models/text-analysis`, 'GET', null, { 'x-forwarded-for': IP.SG });
    assert.equal(meta.status, 200, meta.text);
    seen.push(String(meta.headers['x-sovereign-decision-id']));
    assert.equal((await allDecisions()).get(String(meta.headers['x-sovereign-decision-id']))?.[0]?.data_class, 'public');
  });

  test('a suspended region gets nothing; with every EU region suspended, EU special data gets 451', async () => {
    await admin('/sovereign/admin/regions/eu-frankfurt/suspend', { reason: 'Injunction pending appeal', ref: 'Order 1/26' });
    try {
      const before = (await ledger('eu-frankfurt')).filter((e) => e.kind === 'decision').length;
      for (let i = 0; i < 5; i++) {
        const a = await chat(HIV, IP.DE);
        assert.equal(a.status, 200, a.text);
        assert.equal(a.headers['x-sovereign-region'], 'eu-paris');
      }
      assert.equal((await ledger('eu-frankfurt')).filter((e) => e.kind === 'decision').length, before, 'the suspended region recorded (so was sent) nothing');
      await admin('/sovereign/admin/regions/eu-paris/suspend', { reason: 'Injunction pending appeal', ref: 'Order 2/26' });
      const none = await chat(HIV, IP.DE);
      assert.equal(none.status, 451, none.text);
    } finally {
      await admin('/sovereign/admin/regions/eu-frankfurt/resume', { reason: 'order lifted' });
      await admin('/sovereign/admin/regions/eu-paris/resume', { reason: 'order lifted' }).catch(() => undefined);
    }
  });

  test('with mutual TLS to the cells, nginx presents a client certificate (the configuration nginx -t accepts)', () => {
    const dir = path.join(c.dir, 'nginx-tls');
    mkdirSync(dir, { recursive: true });
    const [cert, key] = [path.join(dir, 'client.pem'), path.join(dir, 'client.key')];
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=nginx', '-addext', 'subjectAltName=URI:spiffe://sovereign.internal/gateway/nginx', '-days', '1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    const conf = renderNginxConfig(loadTopology(c.configFile), { listen: '127.0.0.1:1', gateway: c.gateway, prefix: dir, upstreamTls: { certificate: cert, key, trustedCa: cert }, ...(process.getuid?.() === 0 ? { user: 'root root' } : {}) });
    assert.match(conf, /proxy_pass https:\/\/\$sovereign_cell;/);
    // A cell addressed by IP cannot be verified by nginx: refused, not rendered unverified.
    const byIp = topologyFrom({ jurisdictions: { EU }, regions: [{ id: 'eu-x', jurisdiction: 'EU', country: 'DE', url: 'https://127.0.0.1:9' }] });
    assert.throws(() => renderNginxConfig(byIp, { listen: '127.0.0.1:1', gateway: c.gateway, prefix: dir, upstreamTls: { certificate: cert, key, trustedCa: cert } }), /only by DNS name.*eu-x/);
    assert.match(conf, new RegExp(`proxy_ssl_certificate ${cert};`));
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const t = spawnSync('nginx', ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
  });

  test('the ledger has every decision nginx acted on', async () => {
    assert.ok(seen.length >= 14, `${seen.length} decisions seen`);
    const decisions = await allDecisions();
    for (const id of seen) assert.ok(decisions.has(id), `decision ${id} is in no region's ledger`);
  });
});
