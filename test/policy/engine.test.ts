// PolicyEngine: the table in force, refused changes keep it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyEngine, policyFilePath, DEFAULT_POLICY_PATH, type DecisionTable } from '../../src/policy/index.ts';
import { HEADER, defaultPolicyText, defaultTopology } from './helpers.ts';

const topo = defaultTopology();

test('before any policy set loads, everything is denied', () => {
  const e = new PolicyEngine(topo);
  assert.equal(e.loaded, false);
  assert.deepEqual(e.table.permitted(['EU'], 'public').regions, []);
  assert.match(e.table.cell('EU', 'public', 'eu-paris').errors[0]!, /no policy set loaded/);
});

test('a policy set that does not validate is refused and the previous table stays in force', () => {
  const e = new PolicyEngine(topo);
  const first = e.load(defaultPolicyText(), 'default.cedar');
  assert.ok(first.ok);
  const before = e.table;
  const r = e.load(`${HEADER('typo')}\npermit (principal == Jurisdiction::"SGP", action, resource);`, 'bad.cedar');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && /SGP/.test(r.error.message) && r.error.source === 'bad.cedar');
  assert.equal(e.table, before);
  assert.deepEqual(e.table.permitted(['EU'], 'personal').regions, ['eu-frankfurt', 'eu-paris', 'uae-dubai']);
});

test('a syntax error or missing file keeps the previous table too', () => {
  const e = new PolicyEngine(topo);
  e.load(defaultPolicyText());
  const before = e.table;
  assert.equal(e.load('permit (').ok, false);
  const missing = e.loadFile('/nonexistent/policies.cedar');
  assert.ok(!missing.ok && /cannot read the policy file/.test(missing.error.message));
  assert.equal(e.table, before);
});

test('setRegionState re-evaluates that region only, and clearing it restores the table', () => {
  const e = new PolicyEngine(topo);
  e.load(defaultPolicyText());
  const base = e.table;
  const r = e.setRegionState('uae-dubai', { suspendedFor: ['EU'] });
  assert.ok(r.ok);
  assert.notEqual(e.table.digest, base.digest);
  assert.deepEqual(e.table.permitted(['EU'], 'personal').regions, ['eu-frankfurt', 'eu-paris']);
  assert.deepEqual(e.table.permitted(['AE'], 'personal').regions, ['uae-dubai']);
  assert.deepEqual(e.table.cell('EU', 'personal', 'uae-dubai').policies.map((p) => p.id), ['suspended-region']);
  // Other regions' cells are the very same objects.
  const i = base.indexOf('EU', 'personal', 'eu-paris');
  assert.equal(e.table.cells[i], base.cells[i]);
  assert.deepEqual(e.regionState('uae-dubai'), { suspended: false, suspendedFor: ['EU'] });
  e.setRegionState('uae-dubai', { suspended: false, suspendedFor: [] });
  assert.equal(e.table.digest, base.digest);
  assert.equal(e.table.regionStates.size, 0);
});

test('region state survives a policy reload', () => {
  const e = new PolicyEngine(topo);
  e.load(defaultPolicyText());
  e.setRegionState('sg-singapore', { suspended: true });
  e.load(defaultPolicyText());
  assert.ok(!e.table.permitted(['SG'], 'public').regions.includes('sg-singapore'));
});

test('an unknown region or jurisdiction in a state change is refused; the table is unchanged', () => {
  const e = new PolicyEngine(topo);
  e.load(defaultPolicyText());
  const before = e.table;
  const a = e.setRegionState('eu-berlin', { suspended: true });
  assert.ok(!a.ok && /no region has id "eu-berlin"/.test(a.error.message));
  const b = e.setRegionState('eu-paris', { suspendedFor: ['EUROPE'] });
  assert.ok(!b.ok && /EUROPE not a jurisdiction/.test(b.error.message));
  assert.equal(e.table, before);
});

test('listeners see each new table, not refused ones', () => {
  const e = new PolicyEngine(topo);
  const seen: DecisionTable[] = [];
  const off = e.onChange((t) => seen.push(t));
  e.load(defaultPolicyText());
  e.load('nonsense');
  e.setRegionState('eu-paris', { suspended: true });
  off();
  e.setRegionState('eu-paris', { suspended: false });
  assert.equal(seen.length, 2);
});

test('the policy file defaults to policies/default.cedar', () => {
  assert.equal(policyFilePath(topo), DEFAULT_POLICY_PATH);
  const e = new PolicyEngine(topo);
  assert.ok(e.loadFile().ok);
});
