// `sovereign mesh init|issue|status|revoke|rotate` as an operator runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { MAIN, ROOT } from '../helpers/cluster.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-mesh-cli-'));
const config = path.join(dir, 'sovereign.yaml');
writeFileSync(
  config,
  stringify({
    dataDir: './data',
    jurisdictions: { EU: ['FR'], AE: ['AE'] },
    regions: [
      { id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'https://127.0.0.1:20901' },
      { id: 'uae-dubai', jurisdiction: 'AE', country: 'AE', url: 'https://127.0.0.1:20902' },
    ],
  }),
);

function sovereign(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, '--config', config, 'mesh', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('mesh init creates the root and a signing CA per region and for the control plane, once', () => {
  const first = sovereign('init');
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /created +root CA/);
  assert.match(first.out, /created +Sovereign region eu-paris CA/);
  assert.match(first.out, /created +Sovereign control plane CA/);
  assert.equal(statSync(path.join(dir, 'data/mesh/root.key')).mode & 0o777, 0o600);
  const again = sovereign('init');
  assert.equal(again.code, 0);
  assert.doesNotMatch(again.out, /created/);
});

test('mesh issue writes an SVID, its key (0600) and the bundle, and records it; status lists it; revoke marks it', () => {
  const out = path.join(dir, 'debug');
  const r = sovereign('issue', 'spiffe://sovereign.internal/gateway/debug', '--out', out, '--ttl', '600');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /curl --cert .*svid\.pem --key .*svid\.key --cacert .*bundle\.pem https:\/\/127\.0\.0\.1:20901/);
  assert.equal(statSync(path.join(out, 'svid.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(path.join(out, 'svid.pem'), 'utf8'), /BEGIN CERTIFICATE[\s\S]+BEGIN CERTIFICATE/);
  const status = JSON.parse(sovereign('status', '--json').out) as { identities: { spiffe_id: string; state: string; by: string }[] };
  assert.deepEqual(
    status.identities.find((i) => i.spiffe_id === 'spiffe://sovereign.internal/gateway/debug'),
    { ...status.identities.find((i) => i.spiffe_id === 'spiffe://sovereign.internal/gateway/debug'), state: 'valid', by: 'operator' },
  );
  assert.equal(sovereign('revoke', 'spiffe://sovereign.internal/gateway/debug', '--reason', 'laptop lost').code, 0);
  const after = JSON.parse(sovereign('status', '--json').out) as { identities: { spiffe_id: string; state: string }[]; revoked: { reason: string }[] };
  assert.equal(after.identities.find((i) => i.spiffe_id === 'spiffe://sovereign.internal/gateway/debug')?.state, 'revoked');
  assert.equal(after.revoked[0]?.reason, 'laptop lost');
});

test('mesh issue --host names a server by address too (a PostgreSQL server checked with sslmode=verify-full)', () => {
  const out = path.join(dir, 'db');
  const r = sovereign('issue', 'spiffe://sovereign.internal/postgres/main', '--out', out, '--host', '127.0.0.1', '--host', 'db.internal');
  assert.equal(r.code, 0, r.err);
  const leaf = new X509Certificate(readFileSync(path.join(out, 'svid.pem'), 'utf8'));
  assert.equal(leaf.subjectAltName, 'URI:spiffe://sovereign.internal/postgres/main, IP Address:127.0.0.1, DNS:db.internal');
  assert.ok(leaf.checkIP('127.0.0.1') !== undefined && leaf.checkHost('db.internal') === 'db.internal');
  const bad = sovereign('issue', 'spiffe://sovereign.internal/postgres/x', '--out', path.join(dir, 'y'), '--host', 'a b');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--host: expected a DNS name or an IP address, got "a b"/);
});

test('bad input is refused with what to do', () => {
  const wrongDomain = sovereign('issue', 'spiffe://other.example/gateway/x', '--out', path.join(dir, 'x'));
  assert.equal(wrongDomain.code, 2);
  assert.match(wrongDomain.err, /trust domain other\.example, not sovereign\.internal/);
  const notAnId = sovereign('revoke', 'gateway');
  assert.equal(notAnId.code, 2);
  assert.match(notAnId.err, /not a SPIFFE ID/);
  const noRegion = sovereign('rotate', '--region', 'mars');
  assert.equal(noRegion.code, 2);
  assert.match(noRegion.err, /no region "mars"/);
});

test("mesh rotate --region replaces that region's signing CA only", () => {
  const ca = (r: string): string => readFileSync(path.join(dir, `data/regions/${r}/mesh/ca.crt`), 'utf8');
  const before = { paris: ca('eu-paris'), dubai: ca('uae-dubai') };
  const r = sovereign('rotate', '--region', 'eu-paris');
  assert.equal(r.code, 0, r.err);
  assert.notEqual(ca('eu-paris'), before.paris);
  assert.equal(ca('uae-dubai'), before.dubai);
});
