// The two-tier decision on the shipped topology and policies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyEngine } from '../../src/policy/index.ts';
import { Router, decide, routingOptionsFrom, type RegionStats, type RoutingOptions } from '../../src/routing/index.ts';
import { defaultTopology } from '../policy/helpers.ts';

const topo = defaultTopology();
const engine = new PolicyEngine(topo);
engine.loadFile();
const table = engine.table;
const legal = routingOptionsFrom(topo);
const stats = (m: Record<string, RegionStats>) => (id: string) => m[id];
const up = (latencyMs: number, inflight = 0): RegionStats => ({ healthy: true, latencyMs, inflight });
const down: RegionStats = { healthy: false, latencyMs: 1, inflight: 0 };

test('legal-first: the subject’s own jurisdiction first, then configured preference', () => {
  const d = decide(table, { jurisdictions: ['SG'], dataClass: 'personal' }, legal);
  assert.equal(d.outcome, 'route');
  assert.equal(d.status, 200);
  assert.deepEqual(d.candidates, ['sg-singapore', 'eu-frankfurt', 'eu-paris', 'uae-dubai']);
  assert.deepEqual(d.permitted, d.candidates);
  const rev = decide(table, { jurisdictions: ['EU'], dataClass: 'personal' }, { mode: 'legal-first', preference: ['uae-dubai', 'eu-paris'] });
  assert.deepEqual(rev.candidates, ['eu-paris', 'eu-frankfurt', 'uae-dubai']);
});

test('performance-first: lowest latency, then fewest in flight; never adds a region', () => {
  const opts: RoutingOptions = { ...legal, mode: 'performance-first' };
  const s = stats({ 'eu-frankfurt': up(40, 3), 'eu-paris': up(40, 1), 'uae-dubai': up(10), 'sg-singapore': up(1) });
  const d = decide(table, { jurisdictions: ['EU'], dataClass: 'personal' }, opts, s);
  assert.deepEqual(d.candidates, ['uae-dubai', 'eu-paris', 'eu-frankfurt']);
  assert.equal(d.mode, 'performance-first');
});

test('regions without stats count as healthy with unknown latency (after measured ones)', () => {
  const opts: RoutingOptions = { ...legal, mode: 'performance-first' };
  const d = decide(table, { jurisdictions: ['EU'], dataClass: 'personal' }, opts, stats({ 'uae-dubai': up(50) }));
  assert.deepEqual(d.candidates, ['uae-dubai', 'eu-frankfurt', 'eu-paris']);
});

test('unhealthy regions are dropped from candidates and last in permitted', () => {
  const d = decide(table, { jurisdictions: ['EU'], dataClass: 'personal' }, legal, stats({ 'eu-frankfurt': down, 'eu-paris': up(5), 'uae-dubai': up(5) }));
  assert.deepEqual(d.candidates, ['eu-paris', 'uae-dubai']);
  assert.deepEqual(d.permitted, ['eu-paris', 'uae-dubai', 'eu-frankfurt']);
  assert.deepEqual(d.unhealthy, ['eu-frankfurt']);
});

test('every permitted region down: 503, not 451', () => {
  const d = decide(table, { jurisdictions: ['AE'], dataClass: 'special' }, legal, stats({ 'uae-dubai': down }));
  assert.equal(d.outcome, 'unavailable');
  assert.equal(d.status, 503);
  assert.deepEqual(d.candidates, []);
  assert.deepEqual(d.permitted, ['uae-dubai']);
  assert.match(d.rationale, /unhealthy/);
});

test('no permitted region: 451 with the determining policies and their rationale', () => {
  const d = decide(table, { jurisdictions: ['EU', 'AE'], dataClass: 'special' }, legal);
  assert.equal(d.outcome, 'deny');
  assert.equal(d.status, 451);
  assert.deepEqual(d.candidates, []);
  assert.deepEqual(d.permitted, []);
  assert.deepEqual(d.denied.map((x) => x.region), ['eu-frankfurt', 'eu-paris', 'uae-dubai', 'sg-singapore']);
  assert.deepEqual(d.denied.find((x) => x.region === 'uae-dubai')?.policies.map((p) => p.id), ['eu-personal-stays-in-eu', 'special-stays-home']);
  assert.match(d.rationale, /special data of AE \+ EU subjects/);
  assert.match(d.rationale, /uae-health-stays-in-uae: UAE health data/);
  assert.match(d.rationale, /GDPR Art\. 9/);
});

test('a third-country subject: 451 naming third-country-nothing', () => {
  const d = decide(table, { jurisdictions: ['US'], dataClass: 'public' }, legal);
  assert.equal(d.status, 451);
  assert.deepEqual(d.jurisdictions, ['third_country']);
  assert.match(d.rationale, /third-country-nothing/);
});

test('perRegion explains each region for each jurisdiction', () => {
  const d = decide(table, { jurisdictions: ['EU', 'SG'], dataClass: 'personal' }, legal);
  const sg = d.perRegion.find((v) => v.region === 'sg-singapore')!;
  assert.equal(sg.allowed, false);
  assert.deepEqual(sg.byJurisdiction.map((v) => [v.jurisdiction, v.allowed, v.cause]), [['EU', false, 'forbid'], ['SG', true, 'permit']]);
  assert.deepEqual(sg.byJurisdiction[1]!.policies.map((p) => p.id), ['home-jurisdiction']);
  assert.equal(d.tableDigest, table.digest);
});

test('hybrid: the first matching rule picks the mode; no match is legal-first', () => {
  const router = new Router({
    mode: 'hybrid',
    preference: legal.preference,
    hybrid: [
      { dataClass: 'special', mode: 'legal-first' },
      { tenant: 'fast', mode: 'performance-first' },
    ],
  });
  const s = stats({ 'eu-frankfurt': up(90), 'eu-paris': up(80), 'uae-dubai': up(5), 'sg-singapore': up(1) });
  const fast = router.decide(table, { jurisdictions: ['EU'], dataClass: 'personal', tenant: 'fast' }, s);
  assert.deepEqual([fast.mode, fast.hybridRule, fast.candidates], ['performance-first', 1, ['uae-dubai', 'eu-paris', 'eu-frankfurt']]);
  const special = router.decide(table, { jurisdictions: ['EU'], dataClass: 'special', tenant: 'fast' }, s);
  assert.deepEqual([special.mode, special.hybridRule, special.candidates], ['legal-first', 0, ['eu-frankfurt', 'eu-paris']]);
  const other = router.decide(table, { jurisdictions: ['EU'], dataClass: 'personal', tenant: 'slow' }, s);
  assert.deepEqual([other.mode, other.hybridRule, other.configuredMode], ['legal-first', null, 'hybrid']);
});

test('a new table (region suspended) changes the decision at once', () => {
  const e = new PolicyEngine(topo);
  e.loadFile();
  e.setRegionState('uae-dubai', { suspendedFor: ['EU'] });
  const d = decide(e.table, { jurisdictions: ['EU'], dataClass: 'personal' }, legal);
  assert.deepEqual(d.candidates, ['eu-frankfurt', 'eu-paris']);
  assert.deepEqual(d.denied.find((x) => x.region === 'uae-dubai')?.policies.map((p) => p.id), ['suspended-region']);
});

