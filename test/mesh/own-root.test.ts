// An operator's own root CA (made with openssl, named in the topology): the signing CAs are
// issued under it, no root key is generated, SVIDs verify against it, and Sovereign refuses to
// rotate a root it does not own. Needs openssl: skipped with the reason when missing, except
// under CI=true, where that is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { topologyFrom } from '../../src/config/index.ts';
import { initTrustDomain, issueFor, readBundle, rotateRoot } from '../../src/mesh/index.ts';

const why = spawnSync('openssl', ['version']).error ? 'openssl is not installed; apt-get install openssl' : null;
if (why !== null && process.env.CI === 'true') test('openssl is present (required under CI=true)', () => assert.fail(why));

test("an operator's root (files or a variable) signs the trust domain's CAs", { skip: why ?? false }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-own-root-'));
  const key = path.join(dir, 'op-root.key');
  const crt = path.join(dir, 'op-root.crt');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '3650', '-subj', '/O=sovereign.internal/CN=Operator root',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const base = { jurisdictions: { EU: ['FR'] }, regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: 'https://127.0.0.1:1' }] };

  const fromFile = topologyFrom({ ...base, dataDir: path.join(dir, 'a'), mesh: { rootCertFile: crt, rootKeyFile: key } });
  await initTrustDomain(fromFile);
  assert.ok(!existsSync(path.join(dir, 'a', 'mesh', 'root.key')), 'no root key of our own');
  assert.equal(readBundle(fromFile).trim(), readFileSync(crt, 'utf8').trim());
  const svid = await issueFor(fromFile, 'spiffe://sovereign.internal/gateway/a', { by: 'test' });
  writeFileSync(path.join(dir, 'chain.pem'), svid.chainPem);
  const v = spawnSync('openssl', ['verify', '-CAfile', crt, '-untrusted', path.join(dir, 'chain.pem'), path.join(dir, 'chain.pem')], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr + v.stdout);
  await assert.rejects(rotateRoot(fromFile, { settleMs: 0 }), /operator's own/);

  process.env.SOVEREIGN_TEST_ROOT_KEY = readFileSync(key, 'utf8');
  const fromEnv = topologyFrom({ ...base, dataDir: path.join(dir, 'b'), mesh: { rootCertFile: crt, rootKeyEnv: 'SOVEREIGN_TEST_ROOT_KEY' } });
  await initTrustDomain(fromEnv);
  assert.ok((await issueFor(fromEnv, 'spiffe://sovereign.internal/region/eu-paris/cell', { by: 'test' })).chainPem.includes('BEGIN CERTIFICATE'));
  delete process.env.SOVEREIGN_TEST_ROOT_KEY;
  // A variable that is named but not set stops with what to do.
  const unset = topologyFrom({ ...base, dataDir: path.join(dir, 'c'), mesh: { rootCertFile: crt, rootKeyEnv: 'SOVEREIGN_TEST_ROOT_KEY' } });
  await assert.rejects(initTrustDomain(unset), /SOVEREIGN_TEST_ROOT_KEY \(mesh\.rootKeyEnv\), which is not set/);
});
