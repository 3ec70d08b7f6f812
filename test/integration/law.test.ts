// The law through the running system: geo-IP behind a trusted proxy, classification, the
// Cedar decision table, receipts that verify offline, legal triggers and transfers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { verifyProof } from '../../src/ledger/index.ts';
import { startCluster, type Cluster } from '../helpers/cluster.ts';
import { meshClient, type MeshClient } from '../helpers/mesh.ts';

// The gateway trusts X-Forwarded-For only from 127.0.0.2 (our stand-in load balancer);
// requests are sent from that address, or from 127.0.0.1 (an untrusted peer).
const PROXY = '127.0.0.2';
const UNTRUSTED = '127.0.0.1';

const IP = { DE: '193.99.144.80', FR: '212.27.48.10', AE: '94.200.200.200', SG: '165.21.83.88', US: '8.8.8.8' } as const;

let c: Cluster;
let adminToken: string;
/** Calls cells directly with a gateway identity. */
let gw: MeshClient;

before(async () => {
  c = await startCluster({ gateway: { trustedProxies: ['127.0.0.2'] } });
  adminToken = readFileSync(path.join(c.dir, 'data/gateway/admin-token'), 'utf8').trim();
  gw = await meshClient(c.configFile);
});
after(async () => {
  await gw?.close();
  await c?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** POST from a chosen local address (node:http supports localAddress). */
function post(p: string, body: unknown, opts: { ip?: string; from?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${c.gateway}${p}`,
      {
        method: 'POST',
        localAddress: opts.from ?? PROXY,
        headers: { 'content-type': 'application/json', ...(opts.ip ? { 'x-forwarded-for': opts.ip } : {}), ...opts.headers },
      },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function chat(content: string, opts: { ip?: string; from?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return post('/v1/chat/completions', { model: 'text-analysis', messages: [{ role: 'user', content }] }, opts);
}

async function admin(p: string, body: unknown): Promise<Answer> {
  const res = await request(`${c.gateway}${p}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
}

async function ledgerEntries(region: string): Promise<{ index: number; entry: Record<string, unknown> }[]> {
  const res = await request(`${c.gateway}/sovereign/ledger/${region}/entries?from=0&to=1000`);
  return ((await res.body.json()) as { entries: { index: number; entry: Record<string, unknown> }[] }).entries;
}

describe('identify and decide by law', () => {
  test('an EU client with personal data goes to its home region first, never to Singapore', async () => {
    for (const ip of [IP.DE, IP.FR]) {
      const a = await chat('Please write to me at jane.doe@example.com', { ip });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.headers['x-sovereign-region'], 'eu-frankfurt');
    }
  });

  test('special-category data of an EU subject stays in the EU', async () => {
    const explained = await post('/sovereign/explain', { model: 'text-analysis', messages: [{ role: 'user', content: 'My HIV test came back and my doctor changed my medication.' }] }, { ip: IP.DE });
    const x = explained.body as unknown as { data_class: string; permitted: string[]; detected_types: string[]; regions: { region: string; allowed: boolean }[] };
    assert.equal(x.data_class, 'special');
    assert.ok(x.detected_types.includes('HEALTH'));
    assert.deepEqual(x.permitted, ['eu-frankfurt', 'eu-paris']);
    assert.equal(x.regions.find((r) => r.region === 'uae-dubai')?.allowed, false);
  });

  test('a UAE client is served in Dubai; a Singapore client with personal data may use a contract region', async () => {
    const ae = await chat('My phone is +971 50 123 4567', { ip: IP.AE });
    assert.equal(ae.headers['x-sovereign-region'], 'uae-dubai');
    const sg = await chat('Call me on +65 6123 4567', { ip: IP.SG });
    assert.equal(sg.headers['x-sovereign-region'], 'sg-singapore');
  });

  test('a client in a third country gets 451 with the rationale, and the denial is recorded', async () => {
    const a = await chat('hello', { ip: IP.US });
    assert.equal(a.status, 451);
    const err = a.body.error as { type: string; decision_id: string; rationale: string[] };
    assert.equal(err.type, 'jurisdiction_denied');
    assert.match(err.rationale.join(' '), /third-country-nothing/);
    assert.match(String(a.headers['x-sovereign-ledger']), /^sovereign\.example\/ledger\/\S+ \d+$/);
  });

  test('X-Forwarded-For from an untrusted peer is ignored: a client cannot spoof its country', async () => {
    // From 127.0.0.1 (not trusted) the header is ignored; the loopback address has no country,
    // so only public data may be processed.
    const spoofed = await chat('my email is a@b.example', { ip: IP.DE, from: UNTRUSTED });
    assert.equal(spoofed.status, 451);
    const viaTrusted = await chat('my email is a@b.example', { ip: IP.DE });
    assert.equal(viaTrusted.status, 200);
  });

  test('a declared data class is a floor, and a bad one is a 400', async () => {
    const a = await chat('nothing personal here', { ip: IP.DE, headers: { 'x-data-classification': 'special' } });
    assert.equal(a.status, 200);
    assert.ok(['eu-frankfurt', 'eu-paris'].includes(String(a.headers['x-sovereign-region'])));
    const bad = await chat('x', { ip: IP.DE, headers: { 'x-data-classification': 'secret' } });
    assert.equal(bad.status, 400);
  });

  test('POST /sovereign/classify reports types and offsets, never values', async () => {
    const res = await request(`${c.gateway}/sovereign/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'IBAN GB82 WEST 1234 5698 7654 32, diabetes' }) });
    const body = (await res.body.json()) as { class: string; detections: { type: string; start: number; end: number }[] };
    assert.equal(body.class, 'special');
    assert.deepEqual(body.detections.map((d) => d.type).sort(), ['HEALTH', 'IBAN']);
    assert.ok(!JSON.stringify(body).includes('GB82'));
  });
});

/** The tlog-proof of entry `index`, once a checkpoint covers it (one is signed every second). */
async function fetchProof(region: string, index: string): Promise<string> {
  for (let i = 0; i < 40; i++) {
    const res = await request(`${c.gateway}/sovereign/ledger/${region}/proof/${index}`);
    if (res.statusCode === 200) return res.body.text();
    await res.body.dump();
    await new Promise((r) => setTimeout(r, 100));
  }
  return '';
}

describe('receipts and the ledger', () => {
  test('every answer carries a receipt whose proof verifies offline with the public key only', async () => {
    const a = await chat('Please write to me at jane.doe@example.com', { ip: IP.DE });
    const [origin, index] = String(a.headers['x-sovereign-ledger']).split(' ');
    assert.equal(origin, 'sovereign.example/ledger/eu-frankfurt');
    const key = (await (await request(`${c.gateway}/sovereign/ledger/eu-frankfurt/key`)).body.json()) as { log: string };
    const proof = await fetchProof('eu-frankfurt', String(index));
    assert.ok(proof.startsWith('c2sp.org/tlog-proof@v1'), proof);
    const v = verifyProof(proof, key.log);
    const entry = JSON.parse(v.entry.toString('utf8')) as Record<string, unknown>;
    assert.equal(entry.decision_id, a.headers['x-sovereign-decision-id']);
    assert.equal(entry.region, 'eu-frankfurt');
    assert.equal(entry.data_class, 'personal');
    assert.deepEqual(entry.detected_types, ['EMAIL']);
    // No personal data: neither the address nor the message is in the entry.
    assert.ok(!v.entry.toString().includes('jane.doe'));
    assert.ok(!v.entry.toString().includes(IP.DE));
    assert.match(String(entry.request_hash), /^[0-9a-f]{64}$/);
    assert.match(String(entry.model_digest), /^sha256:[0-9a-f]{64}$/);
  });
});

test("only the gateway may append to a region's log: a cell refuses other identities and callers without one", async () => {
  const before = await ledgerEntries('eu-paris');
  const forged = { entry: { v: 1, kind: 'trigger', time: new Date().toISOString(), action: 'resume', region: 'eu-paris', jurisdictions: ['EU'], reason: 'forged', ref: 'none' } };
  const init = { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify(forged) };
  // A valid identity of the trust domain that is not a gateway: another jurisdiction's cell.
  const cell = await meshClient(c.configFile, 'spiffe://sovereign.internal/region/uae-dubai/cell');
  try {
    const res = await cell.request(`${c.regions['eu-paris']}/sovereign/ledger/append`, init);
    assert.equal(res.statusCode, 403);
    const msg = ((await res.body.json()) as { error: { type: string; message: string } }).error;
    assert.equal(msg.type, 'permission_denied');
    assert.match(msg.message, /spiffe:\/\/sovereign\.internal\/region\/uae-dubai\/cell may not call POST \/sovereign\/ledger\/append/);
  } finally {
    await cell.close();
  }
  // No certificate at all: the TLS handshake fails, nothing reaches the endpoint.
  await assert.rejects(request(`${c.regions['eu-paris']}/sovereign/ledger/append`, init));
  const after = await ledgerEntries('eu-paris');
  assert.equal(after.length, before.length);
  assert.ok(!after.some((e) => e.entry.reason === 'forged'));
  // The CA keys were generated readable by the owner only.
  assert.equal(statSync(path.join(c.dir, 'data/regions/eu-paris/mesh/ca.key')).mode & 0o777, 0o600);
  assert.equal(statSync(path.join(c.dir, 'data/mesh/root.key')).mode & 0o777, 0o600);
});

test('concurrent requests are recorded in shared appends, and each gets the receipt of its own entry', async () => {
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(`Note ${i}: write to me at jane.doe@example.com`, { ip: IP.DE })));
  const receipts = new Set<string>();
  for (const a of answers) {
    assert.equal(a.status, 200);
    const receipt = String(a.headers['x-sovereign-ledger']);
    receipts.add(receipt);
    const [origin, index] = receipt.split(' ');
    const region = String(origin).split('/').pop() as string;
    assert.equal(region, a.headers['x-sovereign-region'], 'the region that served the request recorded it');
    const key = ((await (await request(`${c.gateway}/sovereign/ledger/${region}/key`)).body.json()) as { log: string }).log;
    const entry = JSON.parse(verifyProof(await fetchProof(region, String(index)), key).entry.toString()) as { decision_id: string };
    assert.equal(entry.decision_id, a.headers['x-sovereign-decision-id']);
  }
  assert.equal(receipts.size, answers.length);
});

test('a batched append is answered record by record: a bad record is refused, the others are stored', async () => {
  const trigger = (reason: string) => ({ entry: { v: 1, kind: 'trigger', time: new Date().toISOString(), action: 'resume', region: 'eu-paris', jurisdictions: ['EU'], reason, ref: 'batch-test' } });
  const res = await gw.request(`${c.regions['eu-paris']}/sovereign/ledger/append`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ records: [trigger('first'), { entry: { v: 1, kind: 'trigger', email: 'jane.doe@example.com' } }, trigger('third')] }),
  });
  assert.equal(res.statusCode, 200);
  const { results } = (await res.body.json()) as { results: ({ origin: string; index: number } | { error: { message: string } })[] };
  assert.equal(results.length, 3);
  assert.ok('index' in (results[0] as object) && 'index' in (results[2] as object));
  assert.match((results[1] as { error: { message: string } }).error.message, /ledger entry rejected/);
  const stored = (await ledgerEntries('eu-paris')).filter((e) => e.entry.ref === 'batch-test').map((e) => e.entry.reason);
  assert.deepEqual(stored.sort(), ['first', 'third']);
  // A batch over the limit is refused whole, with an error naming the field.
  const tooMany = await gw.request(`${c.regions['eu-paris']}/sovereign/ledger/append`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ records: Array.from({ length: 300 }, () => trigger('over')) }),
  });
  assert.equal(tooMany.statusCode, 400);
  assert.match(((await tooMany.body.json()) as { error: { message: string } }).error.message, /records/);
});

test("each region's log records the arrival of the model it serves, with the digest it serves, before any decision", async () => {
  for (const region of Object.keys(c.regions)) {
    const models = (await (await gw.request(`${c.regions[region]}/v1/models`)).body.json()) as { data: { id: string; digest: string }[] };
    const served = models.data.find((m) => m.id === 'text-analysis');
    assert.ok(served, `${region} serves text-analysis`);
    const entries = await ledgerEntries(region);
    const arrivals = entries.filter((e) => e.entry.kind === 'model' && e.entry.event === 'arrival');
    assert.equal(arrivals.length, 1, `${region}: one arrival`);
    assert.deepEqual(
      { ...arrivals[0]?.entry, time: undefined, version: undefined },
      { v: 1, kind: 'model', event: 'arrival', name: 'text-analysis', digest: served.digest, region, time: undefined, version: undefined, from: 'eu-frankfurt' },
    );
    const firstDecision = entries.find((e) => e.entry.kind === 'decision');
    if (firstDecision) assert.ok((arrivals[0]?.index ?? Infinity) < firstDecision.index, `${region}: arrival before the first decision`);
  }
});

test('an auditor verifies a region log as served, with its witness quorum from other jurisdictions', async () => {
  const key = (await (await request(`${c.gateway}/sovereign/ledger/eu-frankfurt/key`)).body.json()) as { log: string };
  const { execFile } = await import('node:child_process');
  const run = (): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, ['src/cli/main.ts', '--config', c.configFile, 'ledger', 'verify', '--region', 'eu-frankfurt', '--url', `${c.gateway}/sovereign/ledger/eu-frankfurt`, '--key', key.log], (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
      });
    });
  // Witnesses cosign within a second or two of a new checkpoint.
  let r = await run();
  for (let i = 0; i < 10 && r.code !== 0; i++) {
    await new Promise((res) => setTimeout(res, 500));
    r = await run();
  }
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /ok: \d+ entries, root \S+, cosigned by witness\.sovereign\.example\/ledger\/(uae-dubai|sg-singapore)/);
});

describe('legal triggers', () => {
  test('the admin API needs the admin token', async () => {
    const res = await request(`${c.gateway}/sovereign/admin/regions/eu-paris/suspend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"x","ref":"y"}' });
    assert.equal(res.statusCode, 401);
    await res.body.dump();
  });

  test('a suspension is in force when the call returns, recorded, and EU personal data then crosses only under SCCs', async () => {
    for (const region of ['eu-frankfurt', 'eu-paris']) {
      const s = await admin(`/sovereign/admin/regions/${region}/suspend`, { reason: 'Injunction pending appeal', ref: `Order 17/26 ${region}`, mode: 'cut' });
      assert.equal(s.status, 200, JSON.stringify(s.body));
      assert.equal((s.body as { in_force_on_replicas: number }).in_force_on_replicas, 1);
    }
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const a = await chat('Please write to me at jane.doe@example.com', { ip: IP.FR });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      seen.add(String(a.headers['x-sovereign-region']));
    }
    assert.deepEqual([...seen], ['uae-dubai']);
    // Special-category data of EU subjects has nowhere to go: 451, never the UAE.
    const special = await chat('My doctor says my diabetes is worse.', { ip: IP.FR });
    assert.equal(special.status, 451);
    // The suspended region's ledger and the home regions of affected jurisdictions hold the trigger;
    // the EU home region recorded the transfer to the UAE.
    const eu = await ledgerEntries('eu-frankfurt');
    assert.ok(eu.some((e) => e.entry.kind === 'trigger' && e.entry.action === 'suspend' && e.entry.region === 'eu-frankfurt'));
    assert.ok(eu.some((e) => e.entry.kind === 'decision' && e.entry.outcome === 'transfer' && e.entry.region === 'uae-dubai'));
    const sg = await ledgerEntries('sg-singapore');
    assert.ok(sg.some((e) => e.entry.kind === 'trigger' && e.entry.region === 'eu-paris'));

    for (const region of ['eu-frankfurt', 'eu-paris']) {
      const r = await admin(`/sovereign/admin/regions/${region}/resume`, { reason: 'order lifted' });
      assert.equal(r.status, 200);
    }
    const back = await chat('Please write to me at jane.doe@example.com', { ip: IP.FR });
    assert.equal(back.headers['x-sovereign-region'], 'eu-frankfurt');
  });
});
