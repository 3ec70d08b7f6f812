import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadTopology, parseTopology, topologyFrom } from '../../src/config/index.ts';

test('the shipped topology has the four default regions', () => {
  const t = loadTopology();
  assert.deepEqual(
    t.regions.map((r) => [r.id, r.jurisdiction, r.country]),
    [
      ['eu-frankfurt', 'EU', 'DE'],
      ['eu-paris', 'EU', 'FR'],
      ['uae-dubai', 'AE', 'AE'],
      ['sg-singapore', 'SG', 'SG'],
    ],
  );
  // EU = 27 member states + IS, LI, NO (EEA).
  assert.equal(t.data.jurisdictions.EU?.length, 30);
});

test('declared values resolve by jurisdiction name or country code, and typos are refused', () => {
  const t = loadTopology();
  assert.deepEqual(t.resolveJurisdiction('eu'), { ok: true, jurisdiction: 'EU' });
  assert.deepEqual(t.resolveJurisdiction('NO'), { ok: true, jurisdiction: 'EU', country: 'NO' });
  assert.deepEqual(t.resolveJurisdiction('AE'), { ok: true, jurisdiction: 'AE' });
  assert.deepEqual(t.resolveJurisdiction('us'), { ok: true, jurisdiction: 'US', country: 'US' });
  assert.equal(t.resolveJurisdiction('EUROPE').ok, false);
  assert.equal(t.resolveJurisdiction('XX').ok, false);
});

test('a bad file names the file, the key path, its line and what was expected', () => {
  const text = [
    'jurisdictions: { EU: [DE] }',
    'regions:',
    '  - id: eu-one',
    '    jurisdiction: EU',
    '    country: FR',
    '    url: http://127.0.0.1:1',
    '    runtime: { kind: gpu }',
  ].join('\n');
  assert.throws(
    () => parseTopology(text, '/etc/sovereign/bad.yaml'),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^\/etc\/sovereign\/bad\.yaml: invalid configuration/);
      assert.match(err.message, /regions\[0\]\.runtime\.kind \(line 7\): expected runtime\.kind to be "embedded" or "upstream"/);
      return true;
    },
  );
  assert.throws(
    () => parseTopology(text.replace('gpu', 'embedded'), 'x.yaml'),
    /regions\[0\]\.country: FR is not one of jurisdiction EU's countries/,
  );
});

test('a missing file says so and what to do', () => {
  assert.throws(() => loadTopology('/nonexistent/sovereign.yaml'), /file not found; pass an existing file with --config/);
});

test('a cell runs inference at once by its runtime unless cell.maxConcurrentInference says otherwise', () => {
  const regions = [
    { id: 'eu-a', jurisdiction: 'EU', country: 'DE', url: 'http://127.0.0.1:9001' },
    { id: 'eu-b', jurisdiction: 'EU', country: 'FR', url: 'http://127.0.0.1:9002', runtime: { kind: 'upstream', url: 'http://127.0.0.1:8000' } },
  ];
  const byRuntime = topologyFrom({ jurisdictions: { EU: ['DE', 'FR'] }, regions });
  // The embedded model's worker threads; a model server batches what it is sent at once.
  assert.deepEqual([byRuntime.inferenceConcurrency('eu-a'), byRuntime.inferenceConcurrency('eu-b')], [2, 64]);
  const set = topologyFrom({ jurisdictions: { EU: ['DE', 'FR'] }, regions, cell: { maxConcurrentInference: 8 } });
  assert.deepEqual([set.inferenceConcurrency('eu-a'), set.inferenceConcurrency('eu-b')], [8, 8]);
  assert.throws(() => topologyFrom({ jurisdictions: { EU: ['DE', 'FR'] }, regions, cell: { maxConcurrentInference: 0 } }), /maxConcurrentInference/);
});
