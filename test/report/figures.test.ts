// Report figures from ledger entries: what an auditor relies on when adding them up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LedgerEntry } from '../../src/ledger/index.ts';
import { computeRegion, type Period } from '../../src/report/figures.ts';
import { parsePeriod } from '../../src/report/index.ts';

const REGION = 'eu-frankfurt';
const BASE = Date.parse('2026-06-01T00:00:00Z');
const HOUR = 3600_000;

const time = fc.integer({ min: 0, max: 48 }).map((h) => new Date(BASE + h * HOUR).toISOString());
const jurisdiction = fc.constantFrom('EU', 'SG', 'AE', 'US');
const region = fc.constantFrom('eu-frankfurt', 'eu-paris', 'uae-dubai', 'sg-singapore');

const decision: fc.Arbitrary<LedgerEntry> = fc.record({
  v: fc.constant(1 as const),
  kind: fc.constant('decision' as const),
  time,
  decision_id: fc.uuid(),
  request_hash: fc.constant('0'.repeat(64)),
  tenant: fc.constant('anonymous'),
  jurisdictions: fc.array(
    fc.record({ jurisdiction, source: fc.constant('declared' as const), mechanism: fc.option(fc.constantFrom('adequacy' as const, 'scc' as const, 'contract' as const, 'none' as const), { nil: undefined }) }),
    { minLength: 1, maxLength: 2 },
  ),
  data_class: fc.constantFrom('public' as const, 'internal' as const, 'personal' as const, 'special' as const),
  detected_types: fc.constant([]),
  region: fc.option(region, { nil: null }),
  mode: fc.constant('legal-first' as const),
  outcome: fc.constantFrom('routed' as const, 'denied' as const, 'failed_over' as const, 'unavailable' as const, 'transfer' as const),
  attempts: fc.array(fc.record({ region, outcome: fc.constantFrom('ok' as const, 'connect_error' as const, 'skipped' as const) }), { maxLength: 2 }),
  policy_ids: fc.array(fc.constantFrom('home-jurisdiction', 'sg-transfer-contract', 'third-country-nothing'), { maxLength: 2 }),
  model: fc.constant('text-analysis'),
  model_digest: fc.option(fc.constantFrom(`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`), { nil: null }),
});
const trigger: fc.Arbitrary<LedgerEntry> = fc.record({
  v: fc.constant(1 as const),
  kind: fc.constant('trigger' as const),
  time,
  action: fc.constantFrom('suspend' as const, 'resume' as const),
  region,
  jurisdictions: fc.constant(['EU']),
  reason: fc.constant('order'),
  ref: fc.constant('REF-1'),
});
const arrival: fc.Arbitrary<LedgerEntry> = fc.record({
  v: fc.constant(1 as const),
  kind: fc.constant('model' as const),
  time,
  event: fc.constant('arrival' as const),
  name: fc.constant('text-analysis'),
  digest: fc.constantFrom(`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`),
  region: fc.constant(REGION),
});
const log = fc.array(fc.oneof({ weight: 6, arbitrary: decision }, { weight: 1, arbitrary: trigger }, { weight: 1, arbitrary: arrival }), { maxLength: 80 }).map((es) => es.map((entry, index) => ({ index, entry })));
const hours = fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 })).map((t) => t.sort((a, b) => a - b));
const at = (h: number): string => new Date(BASE + h * HOUR).toISOString();
const inPeriod = (e: LedgerEntry, p: Period): boolean => Date.parse(e.time) >= Date.parse(p.from) && Date.parse(e.time) < Date.parse(p.to);

test('each figure counts only entries of the period, and names real indexes of what it counts', () => {
  fc.assert(
    fc.property(log, hours, (entries, [a, , c]) => {
      const period = { from: at(a), to: at((c) + 1) };
      const r = computeRegion(REGION, entries, period);
      const counted = entries.filter((e) => inPeriod(e.entry, period));
      assert.equal(r.entries, counted.length);
      for (const f of r.figures) {
        assert.ok(r.indexes !== null && f.indexes.first >= r.indexes.first && f.indexes.last <= r.indexes.last);
        for (const i of [f.indexes.first, f.indexes.last]) assert.ok(inPeriod((entries[i] as { entry: LedgerEntry }).entry, period), `${f.id} names index ${i}, outside the period`);
      }
      // Requests processed here: exactly the routed and failed-over decisions for this region.
      const processed = counted.filter((e) => e.entry.kind === 'decision' && e.entry.region === REGION && (e.entry.outcome === 'routed' || e.entry.outcome === 'failed_over')).length;
      assert.equal(r.figures.filter((f) => f.section === 'requests').reduce((n, f) => n + f.count, 0), processed);
      // Every trigger of the period is cited, with its entry.
      assert.deepEqual(
        r.cited.filter((x) => x.kind === 'trigger').map((x) => x.index),
        counted.filter((e) => e.entry.kind === 'trigger').map((e) => e.index),
      );
    }),
    { numRuns: 300 },
  );
});

test('two consecutive periods add up to the period that spans them', () => {
  fc.assert(
    fc.property(log, hours, (entries, [a, b, c]) => {
      const whole = computeRegion(REGION, entries, { from: at(a), to: at(c) });
      const first = computeRegion(REGION, entries, { from: at(a), to: at(b) });
      const second = computeRegion(REGION, entries, { from: at(b), to: at(c) });
      const sum = new Map<string, number>();
      for (const f of [...first.figures, ...second.figures]) sum.set(f.id, (sum.get(f.id) ?? 0) + f.count);
      assert.deepEqual(new Map(whole.figures.map((f) => [f.id, f.count])), sum);
      assert.equal(whole.entries, first.entries + second.entries);
    }),
    { numRuns: 300 },
  );
});

test('entries outside the period change no figure, wherever they sit in the log', () => {
  fc.assert(
    fc.property(log, hours, (entries, [a, , c]) => {
      const period = { from: at(a), to: at(c) };
      const only = entries.filter((e) => inPeriod(e.entry, period));
      assert.deepEqual(computeRegion(REGION, only, period).figures, computeRegion(REGION, entries, period).figures);
    }),
    { numRuns: 300 },
  );
});

test('a period without entries is empty', () => {
  const r = computeRegion(REGION, [], { from: at(0), to: at(1) });
  assert.deepEqual([r.entries, r.indexes, r.figures, r.cited], [0, null, [], []]);
});

test('periods: dates or ISO date-times; anything else is refused naming the flag', () => {
  assert.deepEqual(parsePeriod('2026-01-01', '2026-02-01'), { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' });
  assert.deepEqual(parsePeriod('2026-01-01T10:00:00+02:00', '2026-01-01T10:30Z'), { from: '2026-01-01T08:00:00.000Z', to: '2026-01-01T10:30:00.000Z' });
  assert.throws(() => parsePeriod('yesterday', '2026-01-01'), /--from "yesterday" is not a date/);
  assert.throws(() => parsePeriod('2026-01-01', '2026-13-45'), /--to "2026-13-45" is not a date/);
  assert.throws(() => parsePeriod('2026-01-01', '01/02/2026'), /--to "01\/02\/2026" is not a date/);
  assert.throws(() => parsePeriod('2026-02-01', '2026-02-01'), /is not after --from/);
});
