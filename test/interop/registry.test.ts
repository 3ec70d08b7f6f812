// Interop of the model registries with independent implementations from Debian's packages:
// skopeo (containers/image) inspects and copies artifacts from Sovereign's embedded registry and
// pushes into it; replication runs into and out of a real CNCF distribution registry
// (docker-registry), which has no referrers API, so signatures travel through the spec's
// referrers tag schema. Without the tools the tests skip with the reason, except under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  LayoutStore,
  RegistryClient,
  clientReader,
  closeRegistryClients,
  materializeModel,
  openRegistryMesh,
  publishModel,
  referrersTag,
  replicateIntoLayout,
  replicateIntoRegistry,
  sha256Digest,
  startRegionRegistry,
  trustedPublishers,
  verifyArtifact,
} from '../../src/registry/index.ts';
import { freePort } from '../helpers/ports.ts';
import { pino } from 'pino';
import { shippedModel } from '../../src/cell/index.ts';
import { bootstrapShippedModel } from '../../src/cli/model-bootstrap.ts';
import { topologyFrom } from '../../src/config/index.ts';
import type { Ledger } from '../../src/ledger/index.ts';
import { initTrustDomain, issueFor, readBundle } from '../../src/mesh/index.ts';
import { config, modelDir, startTestGolden, tempDir, type TestGolden } from '../registry/helpers.ts';

const silent = pino({ level: 'silent' });

function missing(cmd: string, pkg: string): string | null {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.error !== undefined ? `${cmd} is not installed (${r.error.message}); apt-get install ${pkg}` : null;
}
const DISTRIBUTION = '/usr/bin/docker-registry';
const noSkopeo = missing('skopeo', 'skopeo');
const noDistribution = existsSync(DISTRIBUTION) ? null : `${DISTRIBUTION} is not installed; apt-get install docker-registry`;
if (process.env.CI === 'true') {
  for (const why of [noSkopeo, noDistribution]) if (why !== null) test(`registry interop tool present (required under CI=true): ${why}`, () => assert.fail(why));
}

/** Runs skopeo without blocking this process (the registry it talks to runs here). */
function skopeo(args: string[]): Promise<{ ok: boolean; out: string; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn('skopeo', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('close', (code) => resolve({ ok: code === 0, out: `${stdout}${stderr}`, stdout }));
  });
}

/**
 * A certificate directory for skopeo (containers/image "certs.d" layout: *.crt are CA roots,
 * a *.cert with its *.key the client certificate) from an SVID as `sovereign mesh issue` writes
 * it (svid.pem, svid.key, bundle.pem).
 */
async function certDir(g: TestGolden, id: string): Promise<string> {
  const s = await issueFor(g.topology, id, { by: 'operator' });
  const dir = tempDir('certs-');
  writeFileSync(path.join(dir, 'svid.cert'), s.chainPem);
  writeFileSync(path.join(dir, 'svid.key'), s.keyPem, { mode: 0o600 });
  writeFileSync(path.join(dir, 'bundle.crt'), readBundle(g.topology));
  return dir;
}

test('skopeo inspects and copies a model from the embedded registry over mutual TLS with an SVID, and pushes one into it as the publisher', { skip: noSkopeo ?? false, timeout: 180_000 }, async (t) => {
  const g = await startTestGolden({}, { mtls: true });
  t.after(() => g.close());
  const pub = await publishModel(g.client, modelDir({ 'package.json': '{}', 'weights.bin': 2_500_000, 'vocab/words.txt': 'a\nb\n' }), config('demo', '1.0.0'), g.key);
  assert.match(g.golden.url, /^https:/);
  const host = new URL(g.golden.url).host;
  const operator = await certDir(g, 'spiffe://sovereign.internal/operator/skopeo-test');

  // TLS verified (the registry's SVID carries its address), the operator's SVID presented.
  const raw = await skopeo(['inspect', '--raw', '--cert-dir', operator, `docker://${host}/demo:1.0.0`]);
  assert.ok(raw.ok, raw.out);
  assert.equal(sha256Digest(raw.stdout), pub.digest, 'skopeo sees the manifest byte for byte');
  const cfg = await skopeo(['inspect', '--raw', '--config', '--cert-dir', operator, `docker://${host}/demo:1.0.0`]);
  assert.ok(cfg.ok, cfg.out);
  assert.equal((JSON.parse(cfg.stdout) as { name: string }).name, 'demo');

  const out = tempDir('skopeo-oci-');
  const copy = await skopeo(['copy', '--src-cert-dir', operator, `docker://${host}/demo:1.0.0`, `oci:${out}:1.0.0`]);
  assert.ok(copy.ok, copy.out);
  const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  assert.equal(index.manifests[0]?.digest, pub.digest, 'the OCI layout written by skopeo holds the same manifest');
  const manifest = JSON.parse(readFileSync(path.join(out, 'blobs/sha256', pub.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  for (const l of manifest.layers) assert.equal(sha256Digest(readFileSync(path.join(out, 'blobs/sha256', l.digest.slice(7)))), l.digest);

  // skopeo as the publisher (chunked upload and manifest PUT from containers/image).
  const push = await skopeo(['copy', '--dest-cert-dir', operator, `oci:${out}:1.0.0`, `docker://${host}/demo-copy:1.0.0`]);
  assert.ok(push.ok, push.out);
  assert.equal(g.golden.store.resolve('demo-copy', '1.0.0')?.digest, pub.digest);
  // A region's registry identity reads golden but may not write it.
  const region = await certDir(g, 'spiffe://sovereign.internal/region/eu-frankfurt/registry');
  assert.ok((await skopeo(['inspect', '--raw', '--cert-dir', region, `docker://${host}/demo:1.0.0`])).ok);
  const denied = await skopeo(['copy', '--dest-cert-dir', region, `oci:${out}:1.0.0`, `docker://${host}/demo-region:1.0.0`]);
  assert.equal(denied.ok, false);
  assert.match(denied.out, /denied|403/i);
  assert.equal(g.golden.store.resolve('demo-region', '1.0.0'), null);
  // Without a client certificate skopeo does not get an answer at all.
  const caOnly = tempDir('certs-');
  writeFileSync(path.join(caOnly, 'bundle.crt'), readBundle(g.topology));
  assert.equal((await skopeo(['inspect', '--raw', '--cert-dir', caOnly, `docker://${host}/demo:1.0.0`])).ok, false);
});

async function startDistribution(): Promise<{ url: string; proc: ChildProcess }> {
  const dir = tempDir('distribution-');
  const port = await freePort();
  const cfg = path.join(dir, 'config.yml');
  writeFileSync(
    cfg,
    `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${path.join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
`,
  );
  const proc = spawn(DISTRIBUTION, ['serve', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200) return { url, proc };
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`docker-registry did not start:\n${log}`);
}

test('replication into and out of a real CNCF distribution registry, signatures through the referrers tag schema', { skip: noDistribution ?? false, timeout: 180_000 }, async (t) => {
  const g = await startTestGolden({}, { mtls: true });
  t.after(() => g.close());
  const dist = await startDistribution();
  t.after(() => dist.proc.kill());
  const pub = await publishModel(g.client, modelDir({ 'package.json': '{}', 'weights.bin': 3_000_000 }), config('demo', '1.0.0'), g.key);
  const publishers = trustedPublishers(g.topology);
  // Golden over mTLS, read as a region's registry reads it.
  const golden = g.source;
  const distribution = new RegistryClient(dist.url);

  // Golden → distribution (a region running its own registry).
  const into = await replicateIntoRegistry(distribution, { source: golden, name: 'demo', version: '1.0.0', publishers });
  assert.equal(into.digest, pub.digest);
  assert.equal(await distribution.hasManifest('demo', '1.0.0'), pub.digest);
  assert.ok((await distribution.tags('demo')).includes(referrersTag(pub.digest)), 'the signature is listed under the referrers tag schema');
  const verified = await verifyArtifact(clientReader(distribution), 'demo', '1.0.0', publishers);
  assert.equal(verified.signer, into.signer);
  // A cell of that region loads from it.
  const loaded = await materializeModel(clientReader(distribution), 'demo', '1.0.0', publishers, tempDir('cache-'));
  assert.equal(readFileSync(path.join(loaded.dir, 'package.json'), 'utf8'), '{}');

  // Distribution → an embedded region registry (distribution as the source of a replication).
  const store = new LayoutStore(tempDir('region-'));
  const out = await replicateIntoLayout(store, { source: distribution, name: 'demo', version: '1.0.0', publishers });
  assert.equal(out.digest, pub.digest);
  assert.equal(store.resolve('demo', '1.0.0')?.digest, pub.digest);

  // A tampered copy in distribution (same tag, other manifest, re-used signature) is refused.
  const forged = JSON.parse((await distribution.manifest('demo', '1.0.0')).bytes.toString()) as Record<string, unknown>;
  forged.annotations = { ...(forged.annotations as Record<string, string>), 'org.opencontainers.image.version': 'forged' };
  const forgedBytes = Buffer.from(JSON.stringify(forged));
  await distribution.putManifest('demo', '1.0.0', forgedBytes);
  const forgedIndex = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: (await distribution.referrers('demo', pub.digest)) };
  await distribution.putManifest('demo', referrersTag(sha256Digest(forgedBytes)), Buffer.from(JSON.stringify(forgedIndex)), 'application/vnd.oci.image.index.v1+json');
  await assert.rejects(replicateIntoLayout(new LayoutStore(tempDir('region-')), { source: distribution, name: 'demo', version: '1.0.0', publishers }), /another manifest|is not a DSSE signature of/);
});

test('golden as an external docker-registry: the shipped model is published there at first start, and a region on the mesh pulls it from there', { skip: noDistribution ?? false, timeout: 180_000 }, async (t) => {
  const dist = await startDistribution();
  t.after(() => dist.proc.kill());
  const topology = topologyFrom({
    dataDir: tempDir('external-golden-'),
    jurisdictions: { EU: ['DE', 'FR'] },
    regions: [{ id: 'eu-frankfurt', jurisdiction: 'EU', country: 'DE', url: 'https://127.0.0.1:1' }],
    registry: { golden: { kind: 'external', url: dist.url } },
  });
  await initTrustDomain(topology);
  const { config: shipped } = shippedModel();
  // What `sovereign golden` runs when golden is external (sovereign up starts it either way).
  const goldenMesh = await openRegistryMesh(topology, { kind: 'golden' }, silent, '127.0.0.1');
  t.after(() => goldenMesh.close());
  const entries: Record<string, unknown>[] = [];
  const region = await startRegionRegistry({
    topology,
    region: 'eu-frankfurt',
    ledger: { append: async (e: Record<string, unknown>) => (entries.push(e), { index: entries.length - 1 }), origin: 'test' } as unknown as Ledger,
    logger: silent,
    sendTransfer: async () => undefined,
    recordArrival: async (a) => void entries.push({ event: 'arrival', digest: a.digest }),
    activate: async () => {
      throw new Error('not in this test');
    },
    active: () => null,
  });
  t.after(async () => {
    await closeRegistryClients(goldenMesh);
    await region.close();
  });
  await bootstrapShippedModel(topology, { mesh: goldenMesh }, silent);

  const distribution = new RegistryClient(dist.url);
  const publishers = trustedPublishers(topology);
  const a = await verifyArtifact(clientReader(distribution), shipped.name, shipped.version, publishers);
  assert.equal(a.config.name, 'text-analysis');
  // The region was ordered to pull (golden's identity, over mTLS) and pulled from docker-registry.
  const deadline = Date.now() + 60_000;
  while (!entries.some((e) => e.event === 'arrival') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(entries.find((e) => e.event === 'arrival'), { event: 'arrival', digest: a.digest });
  // A second start publishes nothing again (the release is there).
  await bootstrapShippedModel(topology, { mesh: goldenMesh }, silent);
  assert.equal(await distribution.hasManifest(shipped.name, shipped.version), a.digest);
});
