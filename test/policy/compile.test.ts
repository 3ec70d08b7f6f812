// Validation, fail-closed evaluation and the table's lookups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { topologyFrom } from '../../src/config/index.ts';
import {
  PolicyError,
  compilePolicies,
  jurisdictionResolver,
  preparePolicies,
  readAnswer,
  schemaFor,
  type DecisionTable,
} from '../../src/policy/index.ts';
import { HEADER, defaultPolicyText, defaultTopology } from './helpers.ts';

const topo = defaultTopology();
const PERMIT_HOME = `${HEADER('home')}\npermit (principal, action == Action::"process", resource) when { resource.jurisdiction == principal };`;

function refused(text: string): PolicyError {
  try {
    compilePolicies(topo, text, { source: 'test.cedar' });
  } catch (err) {
    assert.ok(err instanceof PolicyError, String(err));
    return err;
  }
  assert.fail('expected the policy set to be refused');
}

test('a typo in a jurisdiction is a validation error naming the valid values', () => {
  const e = refused(`${HEADER('typo')}\npermit (principal == Jurisdiction::"EUU", action, resource);`);
  assert.equal(e.code, 'SOVEREIGN_POLICY_INVALID');
  assert.match(e.message, /test\.cedar/);
  assert.match(e.problems.join('\n'), /@id\("typo"\).*"EUU".*not declared.*"EU", "AE", "SG", "unknown", "third_country"/s);
});

test('a typo in a data class, an attribute or an action is a validation error', () => {
  assert.match(refused(`${HEADER('c')}\npermit (principal, action, resource) when { context.dataClass == DataClass::"personel" };`).message, /personel/);
  assert.match(refused(`${HEADER('a')}\npermit (principal, action, resource) when { resource.jurisdictoin == principal };`).message, /jurisdictoin/);
  assert.match(refused(`${HEADER('x')}\npermit (principal, action == Action::"proces", resource);`).message, /proces/);
});

test('@id, @rationale and @legal_ref are required and @id is unique', () => {
  assert.match(refused('permit (principal, action, resource);').message, /missing @id\("…"\), @rationale\("…"\), @legal_ref\("…"\)/);
  assert.match(refused('@id("a") @rationale("r")\npermit (principal, action, resource);').message, /missing @legal_ref/);
  assert.match(refused(`${PERMIT_HOME}\n${PERMIT_HOME}`).message, /duplicate @id\("home"\)/);
  assert.match(refused('@id("bad id") @rationale("r") @legal_ref("l")\npermit (principal, action, resource);').message, /must be letters/);
});

test('syntax errors, templates and an empty set are refused', () => {
  assert.match(refused(`${HEADER('s')}\npermit (principal, action, resource) when { ;`).message, /line \d+:\d+/);
  assert.match(refused(`${HEADER('t')}\npermit (principal == ?principal, action, resource);`).message, /templates are not supported/);
  assert.match(refused('// nothing here\n').message, /no policies/);
});

test('@id is the policy id Cedar reports (policies are passed keyed by @id)', () => {
  const table = compilePolicies(topo, PERMIT_HOME);
  assert.deepEqual(table.cell('EU', 'personal', 'eu-paris').policies.map((p) => p.id), ['home']);
});

test('policies keep file order', () => {
  const text = Array.from({ length: 12 }, (_, i) => `${HEADER(`p${String(i).padStart(2, '0')}`)}\nforbid (principal, action, resource) when { context.classRank == ${i} };`).join('\n');
  const ids = compilePolicies(topo, `${PERMIT_HOME}\n${text}`).policies.map((p) => p.id);
  assert.deepEqual(ids, ['home', ...Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}`)]);
});

test('a forbid whose evaluation errors makes the cell a deny (Cedar alone would skip it and allow)', () => {
  // classRank >= 1 overflows; strict validation cannot see it.
  const table = compilePolicies(
    topo,
    `${PERMIT_HOME}\n${HEADER('overflow')}\nforbid (principal, action, resource) when { 9223372036854775807 + context.classRank > 0 };`,
  );
  const cell = table.cell('EU', 'personal', 'eu-paris');
  assert.equal(cell.allowed, false);
  assert.equal(cell.cause, 'error');
  assert.deepEqual(cell.policies.map((p) => p.id), ['overflow']);
  assert.match(cell.errors[0]!, /overflow/);
  // public has rank 0: no overflow, the forbid applies normally.
  assert.equal(table.cell('EU', 'public', 'eu-paris').cause, 'forbid');
});

test('a permit whose evaluation errors is a deny even if another permit applies', () => {
  const table = compilePolicies(topo, `${PERMIT_HOME}\n${HEADER('bad-permit')}\npermit (principal, action, resource) when { 9223372036854775807 + context.classRank > 0 };`);
  assert.equal(table.cell('EU', 'internal', 'eu-paris').allowed, false);
  assert.equal(table.cell('EU', 'public', 'eu-paris').allowed, true);
});

test('a failed Cedar call (missing attribute, unknown enumeration value) reads as deny', () => {
  const program = preparePolicies(topo, PERMIT_HOME);
  const call = (attrs: Record<string, unknown>, principal = 'EU') =>
    cedar.isAuthorized({
      principal: { type: 'Jurisdiction', id: principal },
      action: { type: 'Action', id: 'process' },
      resource: { type: 'Region', id: 'r' },
      context: { dataClass: { __entity: { type: 'DataClass', id: 'personal' } }, classRank: 2 },
      schema: schemaFor(topo),
      validateRequest: true,
      policies: { staticPolicies: program.parsed.textById },
      entities: [{ uid: { type: 'Region', id: 'r' }, attrs: attrs as never, parents: [] }],
    });
  const EU = { __entity: { type: 'Jurisdiction', id: 'EU' } };
  const full = { jurisdiction: EU, country: 'DE', adequacy: [], scc: [], contract: [], suspended: false, suspendedFor: [] };
  assert.equal(readAnswer(program.refs, call(full), false).allowed, true);
  const { country: _c, ...missing } = full;
  const cell = readAnswer(program.refs, call(missing), false);
  assert.equal(cell.allowed, false);
  assert.equal(cell.cause, 'error');
  assert.match(cell.errors.join(), /country/);
  assert.equal(readAnswer(program.refs, call(full, 'XX'), false).allowed, false);
  assert.equal(readAnswer(program.refs, call(full), true).cause, 'suspended');
});

test('a suspended region is denied even when the policies forget to forbid it', () => {
  const table = compilePolicies(topo, PERMIT_HOME, { regionStates: { 'eu-paris': { suspended: true, suspendedFor: [] }, 'eu-frankfurt': { suspended: false, suspendedFor: ['EU'] } } });
  assert.equal(table.cell('EU', 'personal', 'eu-paris').cause, 'suspended');
  assert.equal(table.cell('EU', 'personal', 'eu-frankfurt').cause, 'suspended');
  assert.equal(table.cell('AE', 'personal', 'uae-dubai').allowed, true);
  assert.deepEqual(table.permitted(['EU'], 'personal').regions, []);
});

test('an invalid region state is refused', () => {
  assert.throws(() => compilePolicies(topo, PERMIT_HOME, { regionStates: { nowhere: { suspended: true, suspendedFor: [] } } }), /no region has id "nowhere"/);
  assert.throws(() => compilePolicies(topo, PERMIT_HOME, { regionStates: { 'eu-paris': { suspended: false, suspendedFor: ['XX'] } } }), /XX not a jurisdiction/);
});

test('a topology jurisdiction named third_country is refused', () => {
  assert.throws(
    () =>
      topologyFrom({
        jurisdictions: { third_country: ['US'] },
        regions: [{ id: 'us-east', jurisdiction: 'third_country', country: 'US', url: 'http://127.0.0.1:1' }],
      }),
    /"third_country" is reserved/,
  );
});

test('jurisdictions resolve from names and country codes; anything else is third_country', () => {
  const r = jurisdictionResolver(topo);
  assert.deepEqual(['EU', 'eu', 'DE', 'de', 'AE', 'SG', 'unknown', 'US', 'XX', '', 'third_country'].map(r), [
    'EU', 'EU', 'EU', 'EU', 'AE', 'SG', 'unknown', 'third_country', 'third_country', 'third_country', 'third_country',
  ]);
});

test('lookups of names the table does not know deny', () => {
  const table = compilePolicies(topo, defaultPolicyText());
  assert.equal(table.isAllowed('EU', 'public', 'mars-1'), false);
  assert.equal(table.isAllowed('EU', 'secret', 'eu-paris'), false);
  assert.equal(table.isAllowed('DE', 'public', 'eu-paris'), false, 'cell() takes exact enumeration values');
  assert.equal(table.permitted(['DE'], 'public').regions.length, 4, 'permitted() resolves country codes');
});

test('permitted sets are cached per (jurisdiction set, class) and order-insensitive', () => {
  const table: DecisionTable = compilePolicies(topo, defaultPolicyText());
  const a = table.permitted(['EU', 'SG'], 'personal');
  assert.equal(table.permitted(['SG', 'EU', 'EU'], 'personal'), a);
  assert.equal(table.permitted(['DE', 'SG'], 'personal'), a);
  assert.deepEqual(a.jurisdictions, ['EU', 'SG']);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.regions));
  const d = a.denied.find((x) => x.region === 'sg-singapore');
  assert.deepEqual(d?.jurisdictions, ['EU']);
  assert.deepEqual(d?.policies.map((p) => p.id), ['eu-personal-stays-in-eu']);
});

test('the digest changes with policies and with region state, not otherwise', () => {
  const a = compilePolicies(topo, defaultPolicyText());
  const b = compilePolicies(topo, defaultPolicyText());
  const c = compilePolicies(topo, defaultPolicyText(), { regionStates: { 'eu-paris': { suspended: true, suspendedFor: [] } } });
  assert.equal(a.digest, b.digest);
  assert.notEqual(a.digest, c.digest);
  assert.equal(a.policyDigest, c.policyDigest);
});
