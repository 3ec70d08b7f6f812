// Classification through the running gateway, as the law uses it: a German user's health
// statement in German is special-category data; with the EU regions suspended it has nowhere to
// go (451, never the UAE), while the same user's ordinary text is served in the UAE. Obfuscated
// identifiers and values split across messages are personal in /sovereign/explain.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startCluster, type Cluster } from '../helpers/cluster.ts';

const PROXY = '127.0.0.2';
const DE = '193.99.144.80';

let c: Cluster;
let adminToken: string;

before(async () => {
  c = await startCluster({ gateway: { trustedProxies: [PROXY] }, classify: { uninspectable: { default: 'personal', tenants: {} } } });
  adminToken = readFileSync(path.join(c.dir, 'data/gateway/admin-token'), 'utf8').trim();
});
after(async () => {
  await c?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

function post(p: string, body: unknown, ip = DE): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${c.gateway}${p}`,
      { method: 'POST', localAddress: PROXY, headers: { 'content-type': 'application/json', 'x-forwarded-for': ip } },
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

const chat = (...contents: string[]): { model: string; messages: { role: string; content: string }[] } => ({
  model: 'text-analysis',
  messages: contents.map((content) => ({ role: 'user', content })),
});

async function admin(p: string, body: unknown): Promise<number> {
  const res = await request(`${c.gateway}${p}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.body.dump();
  return res.statusCode;
}

const HEALTH_DE = 'Ich habe Diabetes und mein Hausarzt hat mir Insulin verschrieben.';

test('POST /sovereign/classify: a German health statement is special', async () => {
  const a = await post('/sovereign/classify', { text: HEALTH_DE });
  assert.equal(a.body.class, 'special');
  assert.ok((a.body.detections as { type: string }[]).some((d) => d.type === 'HEALTH'));
  assert.ok(!JSON.stringify(a.body).includes('Diabetes'), 'values are never returned');
});

test('/sovereign/explain: obfuscated identifiers and split values are personal', async () => {
  for (const body of [chat('meine IBAN: de89-3704-0044-0532-0130-00'), chat('Karte ٤١١١ ١١١١ ١١١١ ١١١١'), chat('my card is 4111 1111', '1111 1111'), chat('mail jane[at]example.com')]) {
    const a = await post('/sovereign/explain', body);
    assert.equal(a.body.data_class, 'personal', JSON.stringify(body));
  }
  const img = await post('/sovereign/explain', chat('was ist auf data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=='));
  assert.equal(img.body.data_class, 'personal');
  assert.deepEqual(img.body.detected_types, ['UNINSPECTABLE']);
});

test('with the EU regions suspended, a German health statement gets 451, never the UAE', async () => {
  for (const region of ['eu-frankfurt', 'eu-paris']) {
    assert.equal(await admin(`/sovereign/admin/regions/${region}/suspend`, { reason: 'Injunction pending appeal', ref: `Order 11/26 ${region}`, mode: 'cut' }), 200);
  }
  try {
    const special = await post('/v1/chat/completions', chat(HEALTH_DE));
    assert.equal(special.status, 451, JSON.stringify(special.body));
    const arabic = await post('/v1/chat/completions', chat('أنا مصاب بالسكري'));
    assert.equal(arabic.status, 451, 'an Arabic health statement of an EU subject is special too');
    const plain = await post('/v1/chat/completions', chat('Wie funktioniert ein B-Baum-Index?'));
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    assert.equal(plain.headers['x-sovereign-region'], 'uae-dubai');
  } finally {
    for (const region of ['eu-frankfurt', 'eu-paris']) await admin(`/sovereign/admin/regions/${region}/resume`, { reason: 'order lifted' });
  }
});
