// Each rule of policies/default.cedar, through the shipped cases file and direct table lookups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { loadTopology } from '../../src/config/index.ts';
import { PolicyEngine, compilePolicies, readCases, runCases, schemaFor } from '../../src/policy/index.ts';
import { defaultPolicyText, defaultTopology } from './helpers.ts';

const CASES = fileURLToPath(new URL('../../policies/tests/default.yaml', import.meta.url));
const SCHEMA = fileURLToPath(new URL('../../policies/schema.cedarschema', import.meta.url));

const engine = new PolicyEngine(defaultTopology());
const loaded = engine.loadFile();

test('the default policy set loads without warnings', () => {
  assert.equal(loaded.ok, true, loaded.ok ? '' : loaded.error.message);
  assert.deepEqual(engine.table.warnings, []);
  assert.equal(engine.table.policies.length, 11);
});

for (const c of readCases(CASES)) {
  test(`default rule: ${c.name}`, () => {
    const [r] = runCases(engine, [c]);
    assert.ok(r?.ok, r?.problems.join('\n'));
  });
}

test('cases restore region state afterwards', () => {
  runCases(engine, readCases(CASES));
  assert.equal(engine.table.regionStates.size, 0);
});

test('a wrong expectation is reported with the actual outcome', () => {
  const [r] = runCases(engine, [{ name: 'wrong', jurisdictions: ['EU'], class: 'special', expect: ['sg-singapore'] }]);
  assert.equal(r?.ok, false);
  assert.match(r.problems[0]!, /expected \[sg-singapore\], got \[eu-frankfurt, eu-paris\]/);
});

test('every policy of the default set decides at least one case', () => {
  const used = new Set<string>();
  for (const row of engine.table.rows()) for (const { cell } of row.cells) for (const p of cell.policies) used.add(p.id);
  const e2 = new PolicyEngine(defaultTopology());
  e2.loadFile();
  e2.setRegionState('uae-dubai', { suspended: true });
  for (const row of e2.table.rows()) for (const { cell } of row.cells) for (const p of cell.policies) used.add(p.id);
  assert.deepEqual([...used].sort(), engine.table.policies.map((p) => p.id).sort());
});

test('determining policies carry rationale and legal reference, sorted by id', () => {
  const cell = engine.table.cell('EU', 'special', 'uae-dubai');
  assert.equal(cell.allowed, false);
  assert.equal(cell.cause, 'forbid');
  assert.deepEqual(cell.policies.map((p) => p.id), ['eu-personal-stays-in-eu', 'special-stays-home']);
  assert.match(cell.policies[0]!.legalRef, /GDPR/);
  assert.ok(cell.policies.every((p) => p.rationale.length > 10));
});

test('without contract lines for SG, Singapore personal data stays in Singapore', () => {
  const table = compilePolicies(defaultTopology(false), defaultPolicyText());
  assert.deepEqual(table.permitted(['SG'], 'personal').regions, ['sg-singapore']);
  assert.deepEqual(table.permitted(['EU'], 'personal').regions, ['eu-frankfurt', 'eu-paris', 'uae-dubai']);
});

test('policies/schema.cedarschema is the schema generated from sovereign.yaml', () => {
  assert.equal(readFileSync(SCHEMA, 'utf8'), schemaFor(loadTopology()));
});
