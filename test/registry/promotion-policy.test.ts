// The promotion policies (policies/models.cedar) as the law they state, for any model: weights
// trained on EU personal data never leave the EU; non-personal training data goes anywhere;
// special-category training data stays in the jurisdiction of its subjects; every refusal names
// a policy or says why. Property-based over the model's attributes and the shipped topology.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadTopology } from '../../src/config/index.ts';
import { PromotionPolicy, type ModelAttributes } from '../../src/policy/index.ts';
import { checkOwnRegistry } from '../../src/registry/index.ts';
import { topologyFrom } from '../../src/config/index.ts';

const topology = loadTopology();
const policy = PromotionPolicy.load(topology);
const regions = topology.regions.map((r) => r.id);
const jurisdictionOf = (id: string): string => topology.region(id)!.jurisdiction;

const model = fc.record({
  name: fc.constantFrom('text-analysis', 'llm'),
  version: fc.stringMatching(/^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}$/),
  licence: fc.constantFrom('MIT', 'Apache-2.0', 'proprietary'),
  runtime: fc.constantFrom('wink-nlp', 'vllm'),
  trainingDataClass: fc.constantFrom('public', 'internal', 'personal', 'special'),
  trainingJurisdictions: fc.uniqueArray(fc.constantFrom('EU', 'AE', 'SG', 'DE', 'FR', 'US', 'unknown'), { maxLength: 3 }),
}) as fc.Arbitrary<ModelAttributes>;

const resolve = (j: string): string => (['DE', 'FR'].includes(j) ? 'EU' : j === 'US' ? 'third_country' : j);

test('weights trained on EU personal or special data are never promoted outside the EU', () => {
  fc.assert(
    fc.property(model, fc.constantFrom(...regions), (m, r) => {
      const personal = m.trainingDataClass === 'personal' || m.trainingDataClass === 'special';
      const eu = m.trainingJurisdictions.map(resolve).includes('EU');
      const v = policy.verdict(m, r);
      if (personal && eu && jurisdictionOf(r) !== 'EU') {
        assert.equal(v.allowed, false);
        assert.ok(v.policies.some((p) => p.id === 'model-eu-personal-training-stays-in-eu'), 'the refusal names the EU rule');
      }
    }),
    { numRuns: 400 },
  );
});

test('non-personal training data is promoted anywhere; personal data only where all its (declared) subjects are at home', () => {
  fc.assert(
    fc.property(model, fc.constantFrom(...regions), (m, r) => {
      const v = policy.verdict(m, r);
      const js = [...new Set(m.trainingJurisdictions.map(resolve))];
      if (m.trainingDataClass === 'public' || m.trainingDataClass === 'internal') assert.equal(v.allowed, true, JSON.stringify(m));
      else assert.equal(v.allowed, js.length > 0 && js.every((j) => j === jurisdictionOf(r)), `${JSON.stringify(m)} → ${r}`);
      if (!v.allowed) assert.ok(v.policies.length > 0 || v.cause === 'default-deny', 'a refusal names its policy or is the default deny');
    }),
    { numRuns: 400 },
  );
});

test('an unknown region is refused, not guessed', () => {
  const v = policy.verdict({ name: 'm', version: '1', licence: 'MIT', runtime: 'x', trainingDataClass: 'public', trainingJurisdictions: [] }, 'mars-1');
  assert.equal(v.allowed, false);
  assert.match(v.errors.join(), /no region "mars-1"/);
});

test("a cell configured with another region's registry, or with golden, refuses to start", () => {
  const base = {
    jurisdictions: { EU: ['DE'], SG: ['SG'] },
    regions: [
      { id: 'eu-frankfurt', jurisdiction: 'EU', country: 'DE', url: 'http://127.0.0.1:1', registry: { url: 'http://127.0.0.1:7001' } },
      { id: 'sg-singapore', jurisdiction: 'SG', country: 'SG', url: 'http://127.0.0.1:2', registry: { url: 'http://127.0.0.1:7001/' } },
    ],
  };
  assert.throws(() => checkOwnRegistry(topologyFrom(base), 'sg-singapore'), /is the registry of region eu-frankfurt; a cell loads models from its own region's registry only/);
  const golden = { ...base, regions: [base.regions[0]], registry: { golden: { url: 'http://127.0.0.1:7001' } } };
  assert.throws(() => checkOwnRegistry(topologyFrom(golden), 'eu-frankfurt'), /is the golden registry/);
  checkOwnRegistry(topologyFrom({ ...base, regions: [base.regions[0]] }), 'eu-frankfurt');
});
