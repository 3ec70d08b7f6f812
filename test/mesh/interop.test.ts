// Issued SVIDs follow the SPIFFE X509-SVID profile and work with stock tools: `openssl verify`
// accepts the chain (also for a verifier whose clock is a few minutes behind), and curl reaches
// a cell with a gateway SVID and is refused without one. Needs openssl and curl: skipped with
// the reason when missing, except under CI=true, where that is a failure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startCell, type RunningCell } from '../../src/cell/index.ts';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { caPaths, initTrustDomain, issueFor, trustDomainPaths, x509 } from '../../src/mesh/index.ts';
import { meshClient, type MeshClient } from '../helpers/mesh.ts';
import { withShippedModel } from '../helpers/golden.ts';
import { freePort } from '../helpers/ports.ts';

const missing = ['openssl', 'curl'].filter((t) => spawnSync(t, ['--version']).error !== undefined);
const why = missing.length > 0 ? `${missing.join(' and ')} not installed; apt-get install ${missing.join(' ')}` : null;
if (why !== null && process.env.CI === 'true') test('openssl and curl are present (required under CI=true)', () => assert.fail(why));
const skip = why ?? false;

let topology: Topology;
let cell: RunningCell;
let golden: { close(): Promise<void> } | undefined;
let gw: MeshClient;
let dir: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sovereign-mesh-interop-'));
  topology = topologyFrom({ dataDir: dir, jurisdictions: { EU: ['FR'] }, regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: `https://127.0.0.1:${await freePort()}` }] });
  await initTrustDomain(topology);
  golden = await withShippedModel(topology);
  cell = await startCell({ topology, region: 'eu-paris', logger: pino({ level: 'silent' }) });
  await cell.ready;
  gw = await meshClient(topology);
});
after(async () => {
  await gw?.close();
  await cell?.close();
  await golden?.close();
});

test('a leaf SVID has exactly one URI SAN, cA=false, critical digitalSignature only, serverAuth+clientAuth (SPIFFE X509-SVID §2, §4)', () => {
  const leaf = new x509.X509Certificate(gw.svid.certPem);
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  assert.ok(san?.critical, 'URI SAN critical: the subject is empty (§3.1)');
  assert.deepEqual(
    san.names.items.filter((n) => n.type === 'url').map((n) => n.value),
    ['spiffe://sovereign.internal/gateway/test'],
  );
  assert.equal(leaf.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  const ku = leaf.getExtension(x509.KeyUsagesExtension);
  assert.ok(ku?.critical);
  assert.equal(ku.usages, x509.KeyUsageFlags.digitalSignature);
  assert.deepEqual([...(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  // One hour by default (X.509 times have whole seconds).
  assert.ok(Math.abs(leaf.notAfter.getTime() - gw.svid.issuedAt.getTime() - 3600_000) < 1000);
});

test('signing CAs have cA=true, keyCertSign+cRLSign, the trust domain as SPIFFE ID and URI name constraint (§3.2, §4.1-4.3); keys are 0600', async () => {
  for (const file of [trustDomainPaths(topology).rootCert, caPaths(topology, { kind: 'control' }).cert, caPaths(topology, { kind: 'region', region: 'eu-paris' }).cert]) {
    const ca = new x509.X509Certificate(readFileSync(file, 'utf8'));
    assert.equal(ca.getExtension(x509.BasicConstraintsExtension)?.ca, true, file);
    assert.equal(ca.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, file);
    assert.deepEqual(ca.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => n.value), ['spiffe://sovereign.internal']);
    assert.ok(ca.getExtension('2.5.29.30')?.critical, `${file}: name constraints`);
  }
  const { statSync } = await import('node:fs');
  for (const key of [trustDomainPaths(topology).rootKey, caPaths(topology, { kind: 'control' }).key, caPaths(topology, { kind: 'region', region: 'eu-paris' }).key]) {
    assert.equal(statSync(key).mode & 0o777, 0o600, key);
  }
});

function opensslVerify(leafPem: string, chainPem: string, extra: string[] = []): { ok: boolean; out: string } {
  const d = mkdtempSync(path.join(dir, 'verify-'));
  const intermediate = chainPem.slice(chainPem.indexOf('-----BEGIN CERTIFICATE-----', 10));
  writeFileSync(path.join(d, 'leaf.pem'), leafPem);
  writeFileSync(path.join(d, 'intermediate.pem'), intermediate);
  const r = spawnSync('openssl', ['verify', '-CAfile', trustDomainPaths(topology).bundle, '-untrusted', path.join(d, 'intermediate.pem'), ...extra, path.join(d, 'leaf.pem')], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

test('openssl verify accepts the chain of a gateway and of a cell SVID, for TLS client and server use', { skip }, async () => {
  for (const purpose of ['sslclient', 'sslserver']) {
    const g = opensslVerify(gw.svid.certPem, gw.svid.chainPem, ['-purpose', purpose]);
    assert.ok(g.ok, g.out);
  }
  const c = await issueFor(topology, 'spiffe://sovereign.internal/region/eu-paris/cell', { by: 'test' });
  const r = opensslVerify(c.certPem, c.chainPem);
  assert.ok(r.ok, r.out);
  // The chain is not accepted against another trust bundle.
  const other = mkdtempSync(path.join(dir, 'other-'));
  const t2 = topologyFrom({ dataDir: other, jurisdictions: { EU: ['FR'] }, regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'https://127.0.0.1:1' }] });
  await initTrustDomain(t2);
  const d = mkdtempSync(path.join(dir, 'foreign-'));
  writeFileSync(path.join(d, 'leaf.pem'), c.certPem);
  writeFileSync(path.join(d, 'intermediate.pem'), c.chainPem.slice(c.chainPem.indexOf('-----BEGIN CERTIFICATE-----', 10)));
  const foreign = spawnSync('openssl', ['verify', '-CAfile', trustDomainPaths(t2).bundle, '-untrusted', path.join(d, 'intermediate.pem'), path.join(d, 'leaf.pem')], { encoding: 'utf8' });
  assert.notEqual(foreign.status, 0, 'verifies against another trust bundle');
});

test('clock skew: a verifier 3 minutes behind accepts a fresh SVID; 10 minutes behind is beyond the allowance', { skip }, async () => {
  const fresh = await issueFor(topology, 'spiffe://sovereign.internal/gateway/skew', { by: 'test', ttlSeconds: 60 });
  const now = Math.floor(Date.now() / 1000);
  const behind3 = opensslVerify(fresh.certPem, fresh.chainPem, ['-attime', String(now - 180)]);
  assert.ok(behind3.ok, behind3.out);
  const behind10 = opensslVerify(fresh.certPem, fresh.chainPem, ['-attime', String(now - 600)]);
  assert.ok(!behind10.ok, 'the back-dating allowance is bounded');
  assert.match(behind10.out, /not yet valid/);
});

/** Runs curl without blocking this process (the cell answers from it). */
function curl(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('curl', ['-sS', '--max-time', '10', ...args]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('curl reaches a cell with a gateway SVID and is refused without one', { skip }, async () => {
  const url = `${cell.url}/v2/health/ready`;
  const ok = await curl(['--cert', gw.files.cert, '--key', gw.files.key, '--cacert', gw.files.bundle, url]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { ready: true, region: 'eu-paris', models: ['text-analysis'] });
  const refused = await curl(['--cacert', gw.files.bundle, url]);
  assert.notEqual(refused.status, 0, `curl without a certificate got: ${refused.stdout}`);
  // Plain HTTP finds nothing there either.
  const plain = await curl(['-o', '/dev/null', '-w', '%{http_code}', url.replace('https:', 'http:')]);
  assert.notEqual(plain.stdout, '200');
});
