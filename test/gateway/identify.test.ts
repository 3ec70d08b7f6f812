// Property-based: whatever a request declares, identify() either refuses it at the edge with a
// 400 naming x-sovereign-jurisdiction (exactly when it declares more than the limit), or its
// jurisdictions fit in one decision entry of the ledger, with every source that applied kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HttpError, MAX_DECLARED_JURISDICTIONS } from '../../src/common/index.ts';
import { topologyFrom, type TenantConfig } from '../../src/config/index.ts';
import type { GeoResult } from '../../src/geo/index.ts';
import { JURISDICTION_HEADER, identify } from '../../src/gateway/identify.ts';
import { DecisionEntrySchema } from '../../src/ledger/index.ts';

// Twenty jurisdictions of one country each: more distinct jurisdictions than an entry holds.
const COUNTRIES = ['DE', 'FR', 'IT', 'ES', 'PT', 'NL', 'BE', 'AT', 'PL', 'SE', 'DK', 'FI', 'IE', 'GR', 'CZ', 'HU', 'RO', 'BG', 'HR', 'SK'];
const NAMES = COUNTRIES.map((_, i) => `J${i}`);
const topology = topologyFrom({
  jurisdictions: Object.fromEntries(NAMES.map((n, i) => [n, [COUNTRIES[i]]])),
  regions: [{ id: 'r0', jurisdiction: 'J0', country: 'DE', url: 'http://127.0.0.1:9' }],
});

const declaredValue = fc.oneof(fc.constantFrom(...NAMES), fc.constantFrom(...COUNTRIES), fc.constantFrom('US', 'BR', 'JP', 'j3', ' fr '));
const tenantArb: fc.Arbitrary<TenantConfig | undefined> = fc.option(
  fc.record({ name: fc.constant('acme'), apiKeySha256: fc.constant('0'.repeat(64)), jurisdiction: fc.option(fc.constantFrom(...NAMES), { nil: undefined }), mayDeclare: fc.constant(true) }),
  { nil: undefined },
);
const geoArb: fc.Arbitrary<GeoResult | null> = fc.option(
  fc.constantFrom(...COUNTRIES, 'US').map((c): GeoResult => ({ ip: '192.0.2.1', country: c, jurisdiction: topology.jurisdictionOfCountry(c), source: 'geoip' })),
  { nil: null },
);

function entryWith(jurisdictions: { jurisdiction: string; source: string }[]): unknown {
  return {
    v: 1, kind: 'decision', time: '2026-01-02T03:04:05.000Z', decision_id: 'd-1', request_hash: 'ab'.repeat(32), tenant: 'acme',
    jurisdictions, data_class: 'personal', detected_types: [], region: null, mode: 'legal-first', outcome: 'denied', attempts: [], policy_ids: [], model: 'm', model_digest: null,
  };
}

test('a declaration is refused at the edge exactly when it is over the limit; otherwise the decision fits in a ledger entry', () => {
  fc.assert(
    fc.property(fc.array(declaredValue, { minLength: 1, maxLength: 40, size: 'max' }), tenantArb, geoArb, (values, tenant, geo) => {
      const headers = { [JURISDICTION_HEADER]: values.join(',') };
      let out;
      try {
        out = identify(topology, tenant, headers, geo);
      } catch (err) {
        assert.ok(err instanceof HttpError);
        assert.equal(err.statusCode, 400);
        assert.equal(err.body().error.type, 'invalid_request_error');
        assert.match(err.message, new RegExp(`^${JURISDICTION_HEADER}: ${values.length} jurisdictions declared; at most ${MAX_DECLARED_JURISDICTIONS} `));
        assert.ok(values.length > MAX_DECLARED_JURISDICTIONS, 'only an over-long declaration is refused');
        return;
      }
      assert.ok(values.length <= MAX_DECLARED_JURISDICTIONS, 'an over-long declaration is never accepted');
      const parsed = DecisionEntrySchema.safeParse(entryWith(out.map((j) => ({ jurisdiction: j.jurisdiction, source: j.source }))));
      assert.ok(parsed.success, `${out.length} jurisdictions do not fit in an entry`);
      // Nothing that applied is lost: every declared value, the tenant's and the geo-IP one.
      for (const v of values) {
        const r = topology.resolveJurisdiction(v);
        assert.ok(r.ok && out.some((j) => j.source === 'declared' && j.jurisdiction === r.jurisdiction));
      }
      if (tenant?.jurisdiction) assert.ok(out.some((j) => j.source === 'tenant' && j.jurisdiction === tenant.jurisdiction));
      if (geo && geo.jurisdiction !== 'unknown') assert.ok(out.some((j) => j.source === 'geoip' && j.jurisdiction === geo.jurisdiction));
    }),
    { numRuns: 500 },
  );
});
