// A cell takes only peers with a valid SVID of its trust domain: each kind of bad certificate is
// refused (with a log line naming the reason), a valid identity on an endpoint it may not call
// gets 403, and a revocation closes even the connections already open, within a second.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { startCell, type RunningCell } from '../../src/cell/index.ts';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { createRootCa, initTrustDomain, issueSvid, privateKeyPem, x509, loadSigningCa, readBundle, trustDomainPaths, writeRevocations, type IssuedSvid } from '../../src/mesh/index.ts';
import { webcrypto } from 'node:crypto';
import { meshClient } from '../helpers/mesh.ts';
import { withShippedModel } from '../helpers/golden.ts';
import { freePort } from '../helpers/ports.ts';

const TD = 'sovereign.internal';
const GW = `spiffe://${TD}/gateway/test`;
let topology: Topology;
let cell: RunningCell;
let golden: { close(): Promise<void> } | undefined;
const logs: string[] = [];

function topo(dir: string, port: number, td = TD): Topology {
  return topologyFrom({
    dataDir: dir,
    jurisdictions: { EU: ['FR'], AE: ['AE'] },
    regions: [
      { id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: `https://127.0.0.1:${port}` },
      { id: 'uae-dubai', jurisdiction: 'AE', country: 'AE', url: `https://127.0.0.1:${port + 1}` },
    ],
    mesh: { trustDomain: td },
  });
}

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-mesh-'));
  topology = topo(dir, await freePort());
  await initTrustDomain(topology);
  golden = await withShippedModel(topology);
  cell = await startCell({ topology, region: 'eu-paris', logger: pino({ level: 'info' }, { write: (s: string) => void logs.push(s) }) });
  await cell.ready;
});
after(async () => {
  await cell?.close();
  await golden?.close();
});

/** GET /v2/health/ready presenting `svid`; the status, or the error's text when the connection failed. */
async function readyWith(svid: Pick<IssuedSvid, 'chainPem' | 'keyPem'> | null): Promise<number | string> {
  const agent = new Agent({ connect: { ca: readBundle(topology), ...(svid ? { cert: svid.chainPem, key: svid.keyPem } : {}) } });
  try {
    const res = await request(`${cell.url}/v2/health/ready`, { dispatcher: agent, signal: AbortSignal.timeout(5000) });
    await res.body.dump();
    return res.statusCode;
  } catch (err) {
    return `${(err as Error).message} ${String((err as { code?: string }).code ?? '')}`;
  } finally {
    await agent.close();
  }
}

async function logged(re: RegExp): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const line = logs.find((l) => re.test(l));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`no log line matching ${re}; last lines:\n${logs.slice(-5).join('')}`);
}

const control = () => loadSigningCa(topology, { kind: 'control' });

test('a gateway SVID of the trust domain is served', async () => {
  assert.equal(await readyWith(await issueSvid(control(), GW, 60)), 200);
});

test('no client certificate: the handshake fails and the cell logs why', async () => {
  assert.equal(typeof (await readyWith(null)), 'string');
  await logged(/"reason":"no client certificate".*mTLS handshake refused/);
});

test('an expired SVID is refused', async () => {
  const old = await issueSvid(control(), GW, 60, Date.now() - 2 * 3600_000);
  assert.equal(typeof (await readyWith(old)), 'string');
  await logged(/"reason":"CERT_HAS_EXPIRED.*mTLS handshake refused/);
});

test('an SVID that is not valid yet is refused', async () => {
  const future = await issueSvid(control(), GW, 3600, Date.now() + 2 * 3600_000);
  assert.equal(typeof (await readyWith(future)), 'string');
  await logged(/"reason":"CERT_NOT_YET_VALID.*mTLS handshake refused/);
});

test('a self-signed certificate is refused', async () => {
  // A leaf SVID for a gateway identity that signs itself.
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'O=sovereign.internal',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: GW }], true),
    ],
  });
  assert.equal(typeof (await readyWith({ chainPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) })), 'string');
  await logged(/"reason":"DEPTH_ZERO_SELF_SIGNED_CERT.*mTLS handshake refused/);
  // A leaf of a CA that is not in the trust bundle.
  const leaf = await issueSvid(await createRootCa(TD), GW, 60);
  assert.equal(typeof (await readyWith({ chainPem: leaf.certPem, keyPem: leaf.keyPem })), 'string');
  await logged(/"reason":"UNABLE_TO_VERIFY_LEAF_SIGNATURE.*mTLS handshake refused/);
});

test('another trust domain is refused: its own CA at the handshake, our CA naming another domain after it', async () => {
  const other = topo(mkdtempSync(path.join(tmpdir(), 'sovereign-mesh-other-')), await freePort(), 'other.example');
  await initTrustDomain(other);
  const foreign = await issueSvid(loadSigningCa(other, { kind: 'control' }), 'spiffe://other.example/gateway/test', 60);
  assert.equal(typeof (await readyWith(foreign)), 'string');
  const misnamed = await issueSvid(control(), 'spiffe://other.example/gateway/test', 60);
  assert.equal(typeof (await readyWith(misnamed)), 'string');
  await logged(/"reason":"UNABLE_TO_GET_ISSUER_CERT_LOCALLY: .*gateway\/test.*mTLS handshake refused/);
  // Our own CA's name constraints (SPIFFE X509-SVID §4.2) already fail the chain; the log names the domain.
  await logged(/is of trust domain other\.example, not sovereign\.internal.*mTLS handshake refused/);
});

test('a region CA cannot sign a gateway identity', async () => {
  const forged = await issueSvid(loadSigningCa(topology, { kind: 'region', region: 'uae-dubai' }), GW, 60);
  assert.equal(typeof (await readyWith(forged)), 'string');
  await logged(/only \\"Sovereign control plane CA\\" may sign for it/);
});

test('a valid identity on an endpoint it may not call gets 403 naming the identity and the endpoint', async () => {
  const gw = await meshClient(topology);
  try {
    const res = await gw.request(`${cell.url}/sovereign/witness/add-checkpoint`, { method: 'POST', body: 'x' });
    assert.equal(res.statusCode, 403);
    const body = (await res.body.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.type, 'permission_denied');
    assert.match(body.error.message, /spiffe:\/\/sovereign\.internal\/gateway\/test may not call POST \/sovereign\/witness\/add-checkpoint/);
    // An endpoint that no rule names is refused too (deny by default).
    const unknown = await gw.request(`${cell.url}/no/such/endpoint`);
    assert.equal(unknown.statusCode, 403);
    await unknown.body.dump();
    await logged(/"endpoint":"POST \/sovereign\/witness\/add-checkpoint".*mTLS caller not authorized/);
  } finally {
    await gw.close();
  }
});

test('a revoked identity is refused within a second, and its open connections are closed', async () => {
  const victim = await meshClient(topology, `spiffe://${TD}/gateway/revoked-one`);
  const bystander = await meshClient(topology);
  try {
    const first = await victim.request(`${cell.url}/v2/health/ready`);
    await first.body.dump();
    assert.equal(first.statusCode, 200);
    let closed = false;
    // The victim's pooled connection is open now; watch it being closed.
    const started = Date.now();
    await writeRevocations(trustDomainPaths(topology).revoked, { version: 1, revoked: [{ spiffe_id: victim.id, time: new Date().toISOString(), reason: 'test' }] });
    for (;;) {
      const r = await victim.request(`${cell.url}/v2/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
        async (res) => (await res.body.dump(), res.statusCode),
        () => 'refused',
      );
      if (r === 'refused') {
        closed = true;
        break;
      }
      if (Date.now() - started > 1000) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(closed, 'the revoked identity was still served after 1 s');
    assert.ok(Date.now() - started <= 1000 + 250, `took ${Date.now() - started} ms`);
    await logged(/identity spiffe:\/\/sovereign\.internal\/gateway\/revoked-one revoked/);
    // Other identities are unaffected.
    const ok = await bystander.request(`${cell.url}/v2/health/ready`);
    await ok.body.dump();
    assert.equal(ok.statusCode, 200);
  } finally {
    await writeRevocations(trustDomainPaths(topology).revoked, { version: 2, revoked: [] });
    await victim.close();
    await bystander.close();
  }
});

test('a private key that cannot be read stops start-up, naming the file and the fix', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-mesh-badkey-'));
  const t = topo(dir, await freePort());
  await initTrustDomain(t);
  const keyFile = path.join(t.regionDataDir('eu-paris'), 'mesh', 'ca.key');
  writeFileSync(keyFile, 'not a key\n', { mode: 0o600 });
  await assert.rejects(startCell({ topology: t, region: 'eu-paris', logger: pino({ level: 'silent' }) }), (err: Error) => {
    assert.ok(err.message.includes(keyFile), err.message);
    assert.match(err.message, /sovereign mesh init/);
    return true;
  });
});
