// One body, one truth, through the running system: what the gateway judged is what the region
// processes. Each test is an attack that used to pass: a duplicate key, content parts that join
// into a word, a tensor nested deeper than the gateway read, a double-encoded ledger path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startCluster, type Cluster } from '../helpers/cluster.ts';

let c: Cluster;

before(async () => {
  c = await startCluster();
});
after(async () => {
  await c?.stop();
});

async function post(p: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }> {
  const res = await request(`${c.gateway}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE', ...headers }, body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
}

const errorOf = (b: Record<string, unknown>): { type: string; message: string; code?: string } => b.error as { type: string; message: string; code?: string };

describe('the body is read one way', () => {
  test('a duplicate key is refused with 400, escaped or not, at any depth', async () => {
    const bodies = [
      '{"model":"text-analysis","messages":[{"role":"user","content":"I have diabetes"}],"messages":[{"role":"user","content":"hello"}]}',
      '{"model":"text-analysis","messages":[{"role":"user","content":"I have diabetes","cont\\u0065nt":"hello"}]}',
    ];
    for (const b of bodies) {
      const a = await post('/v1/chat/completions', b);
      assert.equal(a.status, 400, JSON.stringify(a.body));
      assert.equal(errorOf(a.body).code, 'SOVEREIGN_JSON_DUPLICATE_KEY');
      assert.equal(a.headers['x-sovereign-region'], undefined);
    }
  });

  test('content parts are classified as the model reads them: joined', async () => {
    const body = { model: 'text-analysis', messages: [{ role: 'user', content: [{ type: 'text', text: 'I was diagnosed with dia' }, { type: 'text', text: 'betes last year' }] }] };
    const explained = await post('/sovereign/explain', JSON.stringify(body));
    assert.equal(explained.status, 200);
    assert.equal(explained.body.data_class, 'special');
    // With the EU regions suspended, the special-category data of an EU subject is served nowhere.
    const token = c.adminToken();
    for (const r of ['eu-frankfurt', 'eu-paris']) {
      const res = await request(`${c.gateway}/sovereign/admin/regions/${r}/suspend`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'test', ref: 'one-body' }) });
      assert.equal(res.statusCode, 200, await res.body.text());
    }
    try {
      const a = await post('/v1/chat/completions', JSON.stringify(body));
      assert.equal(a.status, 451, JSON.stringify(a.body));
      assert.equal(a.headers['x-sovereign-region'], undefined);
      const plain = await post('/v1/chat/completions', JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'What a nice day' }] }));
      assert.equal(plain.status, 200, 'public data of the same subject is still served (outside the EU)');
    } finally {
      for (const r of ['eu-frankfurt', 'eu-paris']) {
        await request(`${c.gateway}/sovereign/admin/regions/${r}/resume`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
      }
    }
  });

  test('a V2 tensor nested deep is classified whole; deeper than the one limit is 400', async () => {
    let data: unknown = ['My HIV test came back positive'];
    for (let i = 0; i < 40; i++) data = [data];
    const infer = (d: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }> =>
      post('/sovereign/explain?model=text-analysis', JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: d }] }));
    const deep = await infer(data);
    assert.equal(deep.status, 200, JSON.stringify(deep.body));
    assert.equal(deep.body.data_class, 'special');
    for (let i = 0; i < 40; i++) data = [data];
    const tooDeep = await post('/v2/models/text-analysis/infer', JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data }] }));
    assert.equal(tooDeep.status, 400);
    assert.equal(errorOf(tooDeep.body).code, 'SOVEREIGN_JSON_TOO_DEEP');
  });

  test('unknown fields are classified: a model server may read them', async () => {
    const a = await post('/sovereign/explain', JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hi' }], vendor_extension: { note: 'the patient is pregnant' } }));
    assert.equal(a.body.data_class, 'special');
  });
});

describe('the ledger proxy serves the C2SP static paths only', () => {
  test('double-encoded dot segments and other paths of the cell are refused', async () => {
    const bad = [
      '/sovereign/ledger/eu-paris/%252e%252e/%252e%252e/v1/models',
      '/sovereign/ledger/eu-paris/tile/%252e%252e/%252e%252e/v2/health/ready',
      '/sovereign/ledger/eu-paris/%2e%2e/%2e%2e/v2',
      '/sovereign/ledger/eu-paris/append',
      '/sovereign/ledger/eu-paris/proof/1%2f..%2f..%2fv1%2fmodels',
      '/sovereign/ledger/eu-paris/entries?from=0&to=5&x=..%2f',
      '/sovereign/ledger/eu-paris/tile/0/000.p/0',
    ];
    for (const p of bad) {
      const res = await request(`${c.gateway}${p}`);
      const text = await res.body.text();
      assert.ok(res.statusCode === 404 || res.statusCode === 400, `${p}: ${res.statusCode} ${text}`);
      assert.match(text, /^\{"error":\{"type":/, p);
      assert.doesNotMatch(text, /"object":"list"|"ready"|sovereign-cell/, p);
    }
  });

  test('checkpoint, key, entries, proof and tiles are served', async () => {
    const cp = await request(`${c.gateway}/sovereign/ledger/eu-paris/checkpoint`);
    assert.equal(cp.statusCode, 200);
    assert.match(await cp.body.text(), /^sovereign\.example\/ledger\/eu-paris\n\d+\n/);
    for (const p of ['key', 'entries?from=0&to=1', 'proof/0', 'tile/0/000.p/1', 'tile/entries/000.p/1']) {
      const res = await request(`${c.gateway}/sovereign/ledger/eu-paris/${p}`);
      await res.body.dump();
      assert.equal(res.statusCode, 200, p);
    }
  });
});
