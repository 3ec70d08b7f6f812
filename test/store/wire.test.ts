// The gateway-to-cell context of a served request, and where a region's KEK comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { servedForHeaders, servedForOf } from '../../src/common/index.ts';
import { topologyFrom } from '../../src/config/index.ts';
import { loadKek } from '../../src/store/kek.ts';

test('property: what the gateway says about a request is what the cell reads, whatever the subject id', () => {
  const ctx = fc.record({
    decisionId: fc.uuid(),
    tenant: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
    subject: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }),
    dataClass: fc.constantFrom('public', 'internal', 'personal', 'special' as const),
    retentionDays: fc.nat(36_500),
    receipt: fc.option(fc.constantFrom('sovereign.example/ledger/eu-frankfurt 12'), { nil: null }),
  });
  fc.assert(
    fc.property(ctx, (c) => {
      const h = servedForHeaders(c);
      for (const v of Object.values(h)) assert.match(v, /^[\x20-\x7e]*$/, 'every header value is visible ASCII');
      assert.deepEqual(servedForOf(h), { ...c });
    }),
    { numRuns: 500 },
  );
});

test('a request without complete, well-formed context is not recorded', () => {
  const ok = servedForHeaders({ decisionId: 'd', tenant: 't', subject: 's', dataClass: 'public', retentionDays: 1, receipt: null });
  for (const drop of Object.keys(ok)) {
    const h = { ...ok };
    delete h[drop];
    assert.equal(servedForOf(h), null, `without ${drop}`);
  }
  assert.equal(servedForOf({ ...ok, 'x-sovereign-data-class': 'secret' }), null);
  assert.equal(servedForOf({ ...ok, 'x-sovereign-retention-days': '-1' }), null);
  assert.equal(servedForOf({ ...ok, 'x-sovereign-subject': '%E0%A4%A' }), null);
});

function topology(dir: string, store: Record<string, unknown> = {}): ReturnType<typeof topologyFrom> {
  return topologyFrom(
    {
      dataDir: dir,
      jurisdictions: { EU: ['DE'] },
      regions: [{ id: 'eu-frankfurt', jurisdiction: 'EU', country: 'DE', url: 'http://127.0.0.1:1' }],
      store,
    },
    path.join(dir, 'sovereign.yaml'),
  );
}

test("the KEK: generated 0600 in the region's key directory, else from a file a KMS agent writes, else from the region's variable", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kek-'));
  const gen = loadKek(topology(dir), 'eu-frankfurt');
  const file = path.join(dir, 'regions', 'eu-frankfurt', 'keys', 'store-kek.key');
  assert.equal(gen.source, file);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(loadKek(topology(dir), 'eu-frankfurt').key.export().toString('hex'), gen.key.export().toString('hex'), 'the same key on the next start');

  const kms = randomBytes(32);
  writeFileSync(path.join(dir, 'kek-eu-frankfurt.b64'), kms.toString('base64'));
  const fromFile = loadKek(topology(dir, { kekFile: 'kek-{region}.b64' }), 'eu-frankfurt');
  assert.deepEqual(fromFile.key.export(), kms);

  const env = randomBytes(32);
  process.env.SOVEREIGN_STORE_KEK_EU_FRANKFURT = env.toString('hex');
  try {
    const fromEnv = loadKek(topology(dir, { kekFile: 'kek-{region}.b64' }), 'eu-frankfurt');
    assert.deepEqual(fromEnv.key.export(), env);
    assert.equal(fromEnv.source, 'the environment variable SOVEREIGN_STORE_KEK_EU_FRANKFURT');
    process.env.SOVEREIGN_STORE_KEK_EU_FRANKFURT = 'c2hvcnQ=';
    assert.throws(() => loadKek(topology(dir), 'eu-frankfurt'), /SOVEREIGN_STORE_KEK_EU_FRANKFURT must be 32 bytes written as base64 \(44 characters\) or hex/);
  } finally {
    delete process.env.SOVEREIGN_STORE_KEK_EU_FRANKFURT;
  }
  assert.throws(() => loadKek(topology(dir, { kekFile: 'missing-{region}' }), 'eu-frankfurt'), /cannot read the store key-encryption key file .*missing-eu-frankfurt \(store.kekFile\)/);
});
