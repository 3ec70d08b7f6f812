// The identity rules other components render policies from: SPIFFE ID builders round-trip
// through the parser, and the exposure table allows exactly what the design says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { topologyFrom } from '../../src/config/index.ts';
import { CELL_ROUTES, EXPOSURE, allowedIds, callerMatches, parseSpiffeId, spiffeId, workloadOf } from '../../src/mesh/index.ts';

const t = topologyFrom({
  jurisdictions: { EU: ['FR', 'DE'], AE: ['AE'] },
  regions: [
    { id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'https://127.0.0.1:1' },
    { id: 'eu-frankfurt', jurisdiction: 'EU', country: 'DE', url: 'https://127.0.0.1:2' },
    { id: 'uae-dubai', jurisdiction: 'AE', country: 'AE', url: 'https://127.0.0.1:3' },
  ],
});
const TD = 'sovereign.internal';
const id = (s: string) => parseSpiffeId(s);

test('the builders make SPIFFE IDs the parser reads back as the same workload', () => {
  const seg = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
  fc.assert(
    fc.property(seg, seg, (region, replica) => {
      assert.deepEqual(workloadOf(id(spiffeId.cell(TD, region)) ?? assert.fail()), { kind: 'cell', region });
      assert.deepEqual(workloadOf(id(spiffeId.gateway(TD, replica)) ?? assert.fail()), { kind: 'gateway', replica });
    }),
  );
  for (const bad of ['http://sovereign.internal/gateway/x', 'spiffe://sovereign.internal', 'spiffe://sovereign.internal/', 'spiffe://Sovereign/x', 'spiffe://a/../b', 'spiffe://a/b?c']) assert.equal(id(bad), null, bad);
});

test('who may call a cell: gateways for inference, appends and health; only cells of other jurisdictions for cosigning', () => {
  const rule = (method: string, url: string) => CELL_ROUTES.find((r) => r.method === method && r.url === url)?.allow ?? [];
  const may = (caller: string, method: string, url: string, callee: string) => rule(method, url).some((c) => callerMatches(c, id(caller), t, callee));
  const gw = spiffeId.gateway(TD, 'a');
  const dubai = spiffeId.cell(TD, 'uae-dubai');
  const frankfurt = spiffeId.cell(TD, 'eu-frankfurt');
  for (const [m, u] of [['POST', '/v1/chat/completions'], ['POST', '/v2/models/:model/infer'], ['POST', '/sovereign/ledger/append'], ['GET', '/v2/health/ready']] as const) {
    assert.ok(may(gw, m, u, 'eu-paris'), `${m} ${u}`);
    assert.ok(!may(dubai, m, u, 'eu-paris'), `${m} ${u} from a cell`);
  }
  assert.ok(may(dubai, 'POST', '/sovereign/witness/add-checkpoint', 'eu-paris'));
  assert.ok(!may(frankfurt, 'POST', '/sovereign/witness/add-checkpoint', 'eu-paris'), 'same jurisdiction');
  assert.ok(!may(gw, 'POST', '/sovereign/witness/add-checkpoint', 'eu-paris'));
  assert.deepEqual(allowedIds('cell-other-jurisdiction', t, 'eu-paris'), [dubai]);
  assert.deepEqual(allowedIds('gateway', t), ['spiffe://sovereign.internal/gateway/*']);
  assert.deepEqual(EXPOSURE.map((e) => [e.component, e.protocol]), [['gateway', 'http'], ['cell', 'https-mtls'], ['postgres', 'postgres-tls'], ['golden-registry', 'https-mtls'], ['region-registry', 'https-mtls']]);
});
