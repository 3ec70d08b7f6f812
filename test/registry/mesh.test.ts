// The registries on the mesh: golden and a region's registry serve mutual TLS with their own
// SPIFFE IDs and authorize every request by the caller's identity from the exposure table, deny
// by default: regions read golden and never write it, a cell reads only its own region's
// registry, the publisher (an operator) writes golden, orders come from operators (and golden's
// first-start promotion); everything else is 403 naming the identity and the endpoint, and a
// peer without an SVID does not get past the handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { request } from 'undici';
import fc from 'fast-check';
import { Mesh, authorizeByIdentity, callerMatches, GOLDEN_REGISTRY_ROUTES, REGION_REGISTRY_ROUTES, parseSpiffeId, readBundle, spiffeId, type RouteRule } from '../../src/mesh/index.ts';
import { createHttpServer } from '../../src/common/index.ts';
import { topologyFrom } from '../../src/config/index.ts';
import type { Ledger } from '../../src/ledger/index.ts';
import {
  LayoutStore,
  closeRegistryClients,
  goldenClient,
  layoutReader,
  materializeModel,
  publishModel,
  registerTransferRoute,
  registryDispatcher,
  registryId,
  replicateIntoLayout,
  startRegionRegistry,
  trustedPublishers,
  type RegionRegistry,
} from '../../src/registry/index.ts';
import { config, modelDir, silent, startTestGolden, tempDir, type TestGolden } from './helpers.ts';

const TD = 'sovereign.internal';

async function as(g: TestGolden, id: string): Promise<Mesh> {
  return Mesh.open(g.topology, id, silent);
}

/** One request to `url` as `mesh`'s identity, expecting the server to be `expectId`. */
async function call(mesh: Mesh, url: string, expectId: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE' = 'GET', body?: string): Promise<{ status: number; text: string }> {
  const res = await request(url, { method, dispatcher: registryDispatcher(mesh, url, expectId), ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}) });
  return { status: res.statusCode, text: await res.body.text() };
}

test('golden over mTLS: the publisher pushes, a region registry replicates; regions, cells and gateways cannot write, a peer without an SVID is refused', async (t) => {
  const g = await startTestGolden({}, { mtls: true });
  t.after(() => g.close());
  assert.match(g.golden.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const pub = await publishModel(g.client, modelDir({ 'package.json': '{}', 'w.bin': 200_000 }), config('demo', '1.0.0'), g.key);

  // The region's registry identity reads golden and replicates, digest and signature verified.
  const store = new LayoutStore(tempDir('region-'));
  const a = await replicateIntoLayout(store, { source: g.source, name: 'demo', version: '1.0.0', publishers: trustedPublishers(g.topology) });
  assert.equal(a.digest, pub.digest);
  await materializeModel(layoutReader(store), 'demo', '1.0.0', trustedPublishers(g.topology), tempDir('cache-'));

  const goldenId = registryId(g.topology, { kind: 'golden' });
  const upload = `${g.golden.url}/v2/demo/blobs/uploads/`;
  for (const id of [spiffeId.regionRegistry(TD, 'eu-frankfurt'), spiffeId.cell(TD, 'eu-frankfurt'), spiffeId.gateway(TD, 'a')]) {
    const m = await as(g, id);
    t.after(async () => {
      await closeRegistryClients(m);
      m.close();
    });
    const w = await call(m, upload, goldenId, 'POST');
    assert.equal(w.status, 403, `${id} may not write golden`);
    const err = (JSON.parse(w.text) as { errors: { code: string; message: string }[] }).errors[0];
    assert.equal(err?.code, 'DENIED');
    assert.ok(err?.message.includes(id) && err.message.includes('POST /v2/*') && err.message.includes('the golden registry'), err?.message);
  }
  // Reads: region registries yes; a cell or a gateway no (cells read their own region's registry only).
  const cell = await as(g, spiffeId.cell(TD, 'eu-frankfurt'));
  t.after(async () => {
    await closeRegistryClients(cell);
    cell.close();
  });
  assert.equal((await call(cell, `${g.golden.url}/v2/demo/tags/list`, goldenId)).status, 403);
  assert.equal((await call(g.regionMesh as Mesh, `${g.golden.url}/v2/demo/tags/list`, goldenId)).status, 200);

  // No client certificate: the handshake completes on the server's side only to be refused.
  const u = new URL(g.golden.url);
  const refused = await new Promise<string>((resolve) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca: readBundle(g.topology), servername: 'localhost', checkServerIdentity: () => undefined }, () => {
      s.write(`GET /v2/ HTTP/1.1\r\nhost: ${u.host}\r\n\r\n`);
    });
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString()));
    s.on('error', (e: Error) => resolve(`error ${e.message}`));
    s.on('close', () => resolve(got === '' ? 'closed without an answer' : got));
  });
  assert.doesNotMatch(refused, /^HTTP\/1\.1 200/, 'no answer to a peer without an SVID');

  // A client expecting golden refuses a server with another identity (here: the region's identity is expected).
  await assert.rejects(goldenClient(g.topology, g.operator as Mesh, g.golden.url).ping().then(async () => {
    const wrong = await call(g.operator as Mesh, `${g.golden.url}/v2/`, spiffeId.regionRegistry(TD, 'eu-frankfurt'));
    return wrong;
  }), /expected spiffe:\/\/sovereign\.internal\/region\/eu-frankfurt\/registry, the peer is spiffe:\/\/sovereign\.internal\/golden\/registry/);
});

function stubLedger(entries: Record<string, unknown>[]): Ledger {
  return { append: async (e: Record<string, unknown>) => (entries.push(e), { index: entries.length - 1 }), origin: 'test' } as unknown as Ledger;
}

test("a region's registry over mTLS: its own cell reads it, other cells do not; operators and golden order a pull from golden, nobody writes it", async (t) => {
  const g = await startTestGolden({}, { mtls: true });
  t.after(() => g.close());
  await publishModel(g.client, modelDir({ 'package.json': '{}', 'w.bin': 50_000 }), config('text-analysis', '9.0.0'), g.key);
  const entries: Record<string, unknown>[] = [];
  const rr: RegionRegistry = await startRegionRegistry({
    topology: g.topology,
    region: 'eu-frankfurt',
    ledger: stubLedger(entries),
    logger: silent,
    sendTransfer: async (_from, e) => void entries.push(e),
    recordArrival: async (a) => void entries.push({ event: 'arrival', digest: a.digest }),
    activate: async () => {
      throw new Error('not in this test');
    },
    active: () => null,
  });
  t.after(() => rr.close());
  assert.match(rr.url, /^https:/);
  const me = registryId(g.topology, { kind: 'region', region: 'eu-frankfurt' });

  // An operator orders the pull; the region's registry pulls from golden with its own identity.
  const order = await call(g.operator as Mesh, `${rr.adminUrl}/sovereign/registry/pull`, me, 'POST', JSON.stringify({ name: 'text-analysis', version: '9.0.0' }));
  assert.equal(order.status, 200, order.text);
  assert.match(order.text, /"result":\{"region":"eu-frankfurt"/, order.text);
  assert.ok(entries.some((e) => e.event === 'arrival'));

  const ids = {
    ownCell: spiffeId.cell(TD, 'eu-frankfurt'),
    otherCell: spiffeId.cell(TD, 'uae-dubai'),
    otherRegistry: spiffeId.regionRegistry(TD, 'uae-dubai'),
    golden: spiffeId.golden(TD),
    gateway: spiffeId.gateway(TD, 'a'),
  };
  const meshes: Record<string, Mesh> = {};
  for (const [k, id] of Object.entries(ids)) meshes[k] = await as(g, id);
  t.after(async () => {
    for (const m of Object.values(meshes)) {
      await closeRegistryClients(m);
      m.close();
    }
  });
  const manifest = `${rr.url}/v2/text-analysis/manifests/9.0.0`;
  assert.equal((await call(meshes.ownCell as Mesh, manifest, me)).status, 200, 'the own cell reads');
  assert.equal((await call(g.operator as Mesh, manifest, me)).status, 200, 'an operator reads (skopeo, model list)');
  for (const k of ['otherCell', 'otherRegistry', 'golden', 'gateway']) {
    const r = await call(meshes[k] as Mesh, manifest, me);
    assert.equal(r.status, 403, `${k} may not read the registry of eu-frankfurt`);
    assert.ok(r.text.includes(ids[k as keyof typeof ids]) && r.text.includes('the registry of eu-frankfurt'), r.text);
  }
  // Nobody writes a region's registry over the network, not even an operator.
  const put = await call(g.operator as Mesh, `${rr.url}/v2/text-analysis/blobs/uploads/`, me, 'POST');
  assert.equal(put.status, 403, put.text);
  // Golden may ask what the region holds and order pulls (first start), not activate; other regions may not order.
  assert.equal((await call(meshes.golden as Mesh, `${rr.adminUrl}/sovereign/registry/status`, me)).status, 200);
  assert.equal((await call(meshes.golden as Mesh, `${rr.adminUrl}/sovereign/registry/activate`, me, 'POST', '{"name":"text-analysis","version":"9.0.0"}')).status, 403);
  assert.equal((await call(meshes.otherRegistry as Mesh, `${rr.adminUrl}/sovereign/registry/pull`, me, 'POST', '{"name":"text-analysis","version":"9.0.0"}')).status, 403);
});

test("golden's region records a model transfer only from the cell of the region the transfer went to", async (t) => {
  const g = await startTestGolden({}, { mtls: true });
  t.after(() => g.close());
  // The cell of golden's region (eu-frankfurt), with its mTLS, its authorization hook and the transfer route.
  const cell = await as(g, spiffeId.cell(TD, 'eu-frankfurt'));
  const app = createHttpServer({ bodyLimit: 1 << 20, logger: silent, https: cell.serverTls() });
  cell.guardServer(app.server as unknown as import('node:tls').Server);
  authorizeByIdentity(app, cell, 'eu-frankfurt', silent);
  const entries: Record<string, unknown>[] = [];
  registerTransferRoute(app, g.topology, 'eu-frankfurt', stubLedger(entries), cell);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `https://127.0.0.1:${(app.server.address() as { port: number }).port}/sovereign/registry/transfer`;
  const dubai = await as(g, spiffeId.cell(TD, 'uae-dubai'));
  const gateway = await as(g, spiffeId.gateway(TD, 'a'));
  t.after(async () => {
    for (const m of [dubai, gateway]) {
      await closeRegistryClients(m);
      m.close();
    }
    await app.close();
    cell.close();
  });
  const entry = (to: string): string => JSON.stringify({ kind: 'model', event: 'transfer', region: 'eu-frankfurt', to, name: 'demo', version: '1.0.0' });
  const me = spiffeId.cell(TD, 'eu-frankfurt');

  const own = await call(dubai, url, me, 'POST', entry('uae-dubai'));
  assert.equal(own.status, 200, own.text);
  assert.deepEqual(entries.map((e) => e.to), ['uae-dubai']);
  // Dubai's cell may not record a transfer on Singapore's behalf.
  const other = await call(dubai, url, me, 'POST', entry('sg-singapore'));
  assert.equal(other.status, 403, other.text);
  assert.match(other.text, /only the cell of sg-singapore records/);
  // A gateway is not a cell (the exposure table).
  assert.equal((await call(gateway, url, me, 'POST', entry('uae-dubai'))).status, 403);
  assert.equal(entries.length, 1, 'nothing refused reached the ledger');
});

test('the exposure table: no identity of a region ever writes golden or another region; a cell reads only its own region', () => {
  const t = topologyForTable();
  const regions = t.regions.map((r) => r.id);
  const writes = (rules: readonly RouteRule[]) => rules.filter((r) => r.method !== 'GET' && r.url.startsWith('/v2'));
  const may = (rules: readonly RouteRule[], id: string, self?: string) => rules.some((r) => r.allow.some((c) => callerMatches(c, parseSpiffeId(id), t, self)));
  const region = fc.constantFrom(...regions);
  fc.assert(
    fc.property(region, region, fc.constantFrom('cell', 'registry'), (mine, callee, kind) => {
      const id = kind === 'cell' ? spiffeId.cell(TD, mine) : spiffeId.regionRegistry(TD, mine);
      assert.ok(!may(writes(GOLDEN_REGISTRY_ROUTES), id), `${id} writes golden`);
      assert.ok(!may(writes(REGION_REGISTRY_ROUTES), id, callee), `${id} writes ${callee}`);
      const reads = REGION_REGISTRY_ROUTES.filter((r) => r.method === 'GET' && r.url.startsWith('/v2'));
      assert.equal(may(reads, id, callee), kind === 'cell' && mine === callee, `${id} reads the registry of ${callee}`);
      // Region registries read golden; cells do not.
      const goldenReads = GOLDEN_REGISTRY_ROUTES.filter((r) => r.method === 'GET' && r.url === '/v2/*');
      assert.equal(may(goldenReads, id), kind === 'registry');
    }),
  );
  // The publisher writes golden.
  assert.ok(may(writes(GOLDEN_REGISTRY_ROUTES), spiffeId.operator(TD, 'alice')));
  assert.ok(!may(writes(REGION_REGISTRY_ROUTES), spiffeId.operator(TD, 'alice'), 'eu-frankfurt'));
});

function topologyForTable() {
  return topologyFrom({
    jurisdictions: { EU: ['DE', 'FR'], AE: ['AE'], SG: ['SG'] },
    regions: [
      { id: 'eu-frankfurt', jurisdiction: 'EU', country: 'DE', url: 'https://127.0.0.1:1' },
      { id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'https://127.0.0.1:2' },
      { id: 'uae-dubai', jurisdiction: 'AE', country: 'AE', url: 'https://127.0.0.1:3' },
      { id: 'sg-singapore', jurisdiction: 'SG', country: 'SG', url: 'https://127.0.0.1:4' },
    ],
  });
}
