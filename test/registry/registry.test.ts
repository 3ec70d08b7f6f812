// The registry end to end in one process: publish to golden, replicate into a region's layout,
// load; and every fault the issue names refused with a clear error, nothing half-written visible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import {
  DSSE_ENVELOPE,
  LayoutStore,
  MODEL_ARTIFACT_TYPE,
  RegistryClient,
  RegistryError,
  buildModelArtifact,
  layoutReader,
  materializeModel,
  publishModel,
  publisherKey,
  replicateIntoLayout,
  sha256Digest,
  signManifest,
  signatureManifest,
  trustedPublishers,
  type ModelConfig,
} from '../../src/registry/index.ts';
import { OCI_MANIFEST } from '../../src/registry/media-types.ts';
import type { RawConnect } from '../../src/registry/blob-get.ts';
import { config, modelDir, otherKey, startTestGolden, tempDir, type TestGolden } from './helpers.ts';

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RegistryError, `expected a RegistryError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

/** Publishes with a signature made by `sign` instead of the publisher's (faults). */
async function publishSignedBy(g: TestGolden, dir: string, cfg: ModelConfig, envelope: (digest: string) => object): Promise<string> {
  const art = await buildModelArtifact(dir, cfg);
  for (const b of art.blobs) {
    const bytes = b.bytes ?? readFileSync(b.file as string);
    await g.client.pushBlob(cfg.name, b.descriptor.digest, b.descriptor.size, async (s, e) => bytes.subarray(s, e + 1));
  }
  await g.client.putManifest(cfg.name, cfg.version, art.manifest);
  const env = Buffer.from(JSON.stringify(envelope(art.digest)));
  await g.client.pushBlob(cfg.name, sha256Digest('{}'), 2, async () => Buffer.from('{}'));
  await g.client.pushBlob(cfg.name, sha256Digest(env), env.length, async () => env);
  const sig = signatureManifest(env, { mediaType: OCI_MANIFEST, digest: art.digest, size: art.manifest.length });
  await g.client.putReferrer(cfg.name, sig, { mediaType: OCI_MANIFEST, digest: sha256Digest(sig), size: sig.length, artifactType: DSSE_ENVELOPE }, art.digest);
  return art.digest;
}

function region(): LayoutStore {
  return new LayoutStore(tempDir('region-'));
}

function visibleBlobs(store: LayoutStore, name: string): string[] {
  const dir = path.join(store.root, 'repos', name, 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir) : [];
}

test('publish → golden serves a signed OCI artifact; a region replicates, verifies and loads exactly its files', async (t) => {
  const g = await startTestGolden();
  t.after(() => g.close());
  const dir = modelDir({ 'package.json': '{"name":"m"}', 'dist/model.bin': 300_000, 'README.md': 'hello' });
  const pub = await publishModel(g.client, dir, config('demo', '1.0.0'), g.key);
  assert.equal(pub.files, 3);

  // The artifact as the distribution API serves it (image-spec v1.1 artifact guidance).
  const res = await request(`${g.golden.url}/v2/demo/manifests/1.0.0`, { headers: { accept: OCI_MANIFEST } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['docker-content-digest'], pub.digest);
  const m = (await res.body.json()) as { artifactType: string; layers: { annotations: Record<string, string> }[] };
  assert.equal(m.artifactType, MODEL_ARTIFACT_TYPE);
  assert.deepEqual(m.layers.map((l) => l.annotations['org.opencontainers.image.title']).sort(), ['README.md', 'dist/model.bin', 'package.json']);
  const refs = await g.client.referrers('demo', pub.digest);
  assert.equal(refs.length, 1);
  assert.equal(refs[0]?.artifactType, DSSE_ENVELOPE);

  const store = region();
  const a = await replicateIntoLayout(store, { source: g.source, name: 'demo', version: '1.0.0', publishers: trustedPublishers(g.topology) });
  assert.equal(a.digest, pub.digest);
  assert.equal(store.resolve('demo', '1.0.0')?.digest, pub.digest);
  const loaded = await materializeModel(layoutReader(store), 'demo', '1.0.0', trustedPublishers(g.topology), tempDir('cache-'));
  assert.deepEqual(readFileSync(path.join(loaded.dir, 'dist/model.bin')), readFileSync(path.join(dir, 'dist/model.bin')));

  // A version is immutable: other content under the same version is refused.
  const other = modelDir({ 'package.json': '{"name":"other"}' });
  await rejectsWith(publishModel(g.client, other, config('demo', '1.0.0'), g.key), 'DENIED', /immutable/);
});

// Small blobs come through the client's pool; large ones from golden over mTLS off a connection
// of their own (blob-get.ts): both refuse a tampered blob.
for (const [how, size, mtls] of [['through the pool', 200_000, false], ['off a connection of its own (mTLS)', 9 * 1024 * 1024, true]] as const) {
  test(`a tampered blob at golden is refused by the region, ${how}: DIGEST_INVALID, no tag, no blob of it visible`, async (t) => {
    const g = await startTestGolden({}, { mtls });
    t.after(() => g.close());
    const pub = await publishModel(g.client, modelDir({ 'weights.bin': size, 'package.json': '{}' }), config('demo', '1.0.0'), g.key);
    const manifest = JSON.parse(g.golden.store.readBlob('demo', pub.digest).toString()) as { layers: { digest: string; size: number }[] };
    const big = manifest.layers.find((l) => l.size === size)!;
    const file = g.golden.store.blobPath('demo', big.digest);
    const bytes = readFileSync(file);
    bytes[size - 1234] = (bytes[size - 1234] as number) ^ 0xff;
    writeFileSync(file, bytes);

    const store = region();
    await rejectsWith(replicateIntoLayout(store, { source: g.source, name: 'demo', version: '1.0.0', publishers: trustedPublishers(g.topology) }), 'DIGEST_INVALID', /tampered|hashes to/);
    assert.equal(store.resolve('demo', '1.0.0'), null, 'no tag');
    assert.ok(!visibleBlobs(store, 'demo').includes(big.digest.slice(7)), 'the tampered blob is not in the region');
    assert.deepEqual(readdirSync(path.join(store.root, 'partial')), [], 'nothing half-written left');
  });
}

test('a bad signature, an unknown publisher key and a signature over another digest are each refused', async (t) => {
  const g = await startTestGolden();
  t.after(() => g.close());
  const trusted = trustedPublishers(g.topology);
  const dir = modelDir({ 'package.json': '{}', 'w.bin': 5000 });
  const src = g.source;

  // Bad signature: the publisher's envelope with one signature byte flipped.
  await publishSignedBy(g, dir, config('bad-sig', '1.0.0'), (digest) => {
    const env = signManifest(g.key, { name: 'bad-sig', version: '1.0.0', digest });
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    sig[3] = (sig[3] as number) ^ 1;
    return { ...env, signatures: [{ ...env.signatures[0], sig: sig.toString('base64') }] };
  });
  const s1 = region();
  await rejectsWith(replicateIntoLayout(s1, { source: src, name: 'bad-sig', version: '1.0.0', publishers: trusted }), 'SIGNATURE_INVALID', /does not verify/);
  assert.equal(s1.resolve('bad-sig', '1.0.0'), null);

  // Unknown publisher: a valid signature by a key the topology does not list (ECDSA P-256 here).
  const stranger = otherKey('p256');
  await publishSignedBy(g, dir, config('unknown-key', '1.0.0'), (digest) => signManifest(stranger, { name: 'unknown-key', version: '1.0.0', digest }));
  const s2 = region();
  await rejectsWith(replicateIntoLayout(s2, { source: src, name: 'unknown-key', version: '1.0.0', publishers: trusted }), 'PUBLISHER_UNKNOWN', /not a publisher key/);
  // ... and accepted once the topology lists that key (ECDSA P-256 verifies like Ed25519).
  const pem = (await import('node:crypto')).createPublicKey(stranger).export({ type: 'spki', format: 'pem' }).toString();
  const ok = await replicateIntoLayout(region(), { source: src, name: 'unknown-key', version: '1.0.0', publishers: [publisherKey(pem, 'test')] });
  assert.match(ok.digest, /^sha256:/);

  // A genuine signature for another manifest, attached to this one.
  await publishSignedBy(g, dir, config('other-digest', '1.0.0'), () => signManifest(g.key, { name: 'other-digest', version: '1.0.0', digest: sha256Digest('something else') }));
  await rejectsWith(replicateIntoLayout(region(), { source: src, name: 'other-digest', version: '1.0.0', publishers: trusted }), 'SIGNATURE_INVALID', /another manifest/);

  // No signature at all.
  const art = await buildModelArtifact(dir, config('unsigned', '1.0.0'));
  for (const b of art.blobs) {
    const bytes = b.bytes ?? readFileSync(b.file as string);
    await g.client.pushBlob('unsigned', b.descriptor.digest, b.descriptor.size, async (s, e) => bytes.subarray(s, e + 1));
  }
  await g.client.putManifest('unsigned', '1.0.0', art.manifest);
  await rejectsWith(replicateIntoLayout(region(), { source: src, name: 'unsigned', version: '1.0.0', publishers: trusted }), 'SIGNATURE_INVALID', /no signature/);
});

test('distribution API: digest mismatch, a manifest naming a missing blob, writes without the token, a read-only region', async (t) => {
  const g = await startTestGolden();
  t.after(() => g.close());
  const token = { authorization: `Bearer ${(await import('../../src/registry/index.ts')).registryToken(g.topology, false)}` };
  const body = Buffer.from('some bytes');
  const wrong = sha256Digest('other bytes');
  let res = await request(`${g.golden.url}/v2/demo/blobs/uploads/?digest=${wrong}`, { method: 'POST', headers: { ...token, 'content-type': 'application/octet-stream' }, body });
  assert.equal(res.statusCode, 400);
  assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]?.code, 'DIGEST_INVALID');
  res = await request(`${g.golden.url}/v2/demo/blobs/${wrong}`, { method: 'HEAD' });
  await res.body.dump();
  assert.equal(res.statusCode, 404, 'nothing stored under either digest');
  assert.equal(g.golden.store.blobSize('demo', sha256Digest(body)), null);

  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: wrong, size: 2 }, layers: [] }));
  res = await request(`${g.golden.url}/v2/demo/manifests/x`, { method: 'PUT', headers: { ...token, 'content-type': OCI_MANIFEST }, body: manifest });
  assert.equal(res.statusCode, 404);
  assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]?.code, 'MANIFEST_BLOB_UNKNOWN');

  // A manifest over 4 MiB is refused, naming the limit, and nothing of it is kept.
  res = await request(`${g.golden.url}/v2/demo/manifests/big`, { method: 'PUT', headers: { ...token, 'content-type': OCI_MANIFEST }, body: Buffer.alloc(4 * 1024 * 1024 + 1, 0x20) });
  assert.equal(res.statusCode, 400);
  const big = ((await res.body.json()) as { errors: { code: string; message: string }[] }).errors[0];
  assert.equal(big?.code, 'SIZE_INVALID');
  assert.match(big?.message ?? '', /larger than 4194304 bytes/);

  res = await request(`${g.golden.url}/v2/demo/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.statusCode, 401);
  assert.equal(((await res.body.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
});

/** Sends a PATCH announcing `announced` bytes but only `sent`, then cuts the connection. */
function cutPatch(url: string, token: string, bytes: Buffer, announced: number): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname, () => {
      s.write(`PATCH ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/octet-stream\r\ncontent-range: 0-${announced - 1}\r\ncontent-length: ${announced}\r\n\r\n`);
      s.write(bytes, () => setTimeout(() => s.destroy(), 200));
    });
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
}

test('a truncated upload is refused at close (nothing stored); the upload resumes from the Range the registry kept', async (t) => {
  const g = await startTestGolden();
  t.after(() => g.close());
  const token = (await import('../../src/registry/index.ts')).registryToken(g.topology, false) as string;
  const blob = Buffer.alloc(100_000, 7);
  const digest = sha256Digest(blob);
  const post = await request(`${g.golden.url}/v2/demo/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  await post.body.dump();
  const location = `${g.golden.url}${String(post.headers.location)}`;
  await cutPatch(location, token, blob.subarray(0, 40_000), blob.length);
  await new Promise((r) => setTimeout(r, 200));

  const status = await request(location, { headers: { authorization: `Bearer ${token}` } });
  await status.body.dump();
  assert.equal(status.statusCode, 204);
  const kept = Number(/^0-(\d+)$/.exec(String(status.headers.range))?.[1]) + 1;
  assert.ok(kept > 0 && kept <= 40_000, `kept ${kept} bytes`);

  // Closing now (truncated) is refused and stores nothing.
  const early = await request(`${location}?digest=${digest}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` } });
  assert.equal(early.statusCode, 400);
  assert.equal(((await early.body.json()) as { errors: { code: string }[] }).errors[0]?.code, 'DIGEST_INVALID');
  assert.equal(g.golden.store.blobSize('demo', digest), null);

  // A fresh session resumed after a cut: the client asks for the Range and continues.
  const post2 = await request(`${g.golden.url}/v2/demo/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  await post2.body.dump();
  const loc2 = `${g.golden.url}${String(post2.headers.location)}`;
  await cutPatch(loc2, token, blob.subarray(0, 30_000), blob.length);
  await new Promise((r) => setTimeout(r, 200));
  const st2 = await request(loc2, { headers: { authorization: `Bearer ${token}` } });
  await st2.body.dump();
  const from = Number(/^0-(\d+)$/.exec(String(st2.headers.range))?.[1]) + 1;
  const patch = await request(loc2, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-range': `${from}-${blob.length - 1}` }, body: blob.subarray(from) });
  await patch.body.dump();
  assert.equal(patch.statusCode, 202);
  const put = await request(`${loc2}?digest=${digest}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` } });
  await put.body.dump();
  assert.equal(put.statusCode, 201);
  assert.deepEqual(g.golden.store.readBlob('demo', digest), blob);
});

// Through the pool (undici's body stream) for a small blob, and off a connection of its own
// (blob-get.ts, plain TCP here) for a large one: a cut mid-blob resumes from the bytes on disk.
for (const [how, size, own] of [['through the pool', 3_000_000, false], ['off a connection of its own', 12 * 1024 * 1024, true]] as const) {
  test(`a replication cut mid-blob resumes with a Range request and stores the verified blob, ${how}`, async (t) => {
    const g = await startTestGolden();
    t.after(() => g.close());
    await publishModel(g.client, modelDir({ 'package.json': '{}', 'big.bin': size }), config('demo', '1.0.0'), g.key);
    const target = new URL(g.golden.url);
    let cut = false;
    const ranges: string[] = [];
    // A proxy that cuts the first download of the big blob after a third of it.
    const proxy = createServer((req, res) => {
      if (req.headers.range) ranges.push(req.headers.range);
      const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        let sent = 0;
        ur.on('data', (c: Buffer) => {
          sent += c.length;
          res.write(c);
          if (!cut && Number(ur.headers['content-length']) === size && sent > size / 3) {
            cut = true;
            res.socket?.destroy();
            ur.destroy();
          }
        });
        ur.on('end', () => res.end());
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    t.after(() => proxy.close());
    const addr = proxy.address() as { port: number };
    const store = region();
    const ownConnection: RawConnect = (onread) =>
      new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: addr.port, onread }, () => resolve(s));
        s.once('error', reject);
      });
    const source = new RegistryClient(`http://127.0.0.1:${addr.port}`, own ? { connect: ownConnection } : {});
    const a = await replicateIntoLayout(store, { source, name: 'demo', version: '1.0.0', publishers: trustedPublishers(g.topology) });
    assert.ok(cut, 'the connection was cut');
    assert.ok(ranges.some((r) => /^bytes=[1-9]\d*-$/.test(r)), `resumed with a Range request (${ranges.join(', ')})`);
    assert.equal(store.resolve('demo', '1.0.0')?.digest, a.digest);
    await materializeModel(layoutReader(store), 'demo', '1.0.0', trustedPublishers(g.topology), tempDir('cache-'));
  });
}

test('deleting a version collects the blobs only it referenced; the other version still verifies', async (t) => {
  const g = await startTestGolden();
  t.after(() => g.close());
  const shared = 'shared file';
  await publishModel(g.client, modelDir({ 'package.json': shared, 'v1.bin': 10_000 }), config('demo', '1.0.0'), g.key);
  await publishModel(g.client, modelDir({ 'package.json': shared, 'v2.bin': 10_000 }), config('demo', '2.0.0'), g.key);
  const store = region();
  const src = g.source;
  const pubs = trustedPublishers(g.topology);
  const v1 = await replicateIntoLayout(store, { source: src, name: 'demo', version: '1.0.0', publishers: pubs });
  await replicateIntoLayout(store, { source: src, name: 'demo', version: '2.0.0', publishers: pubs });
  const before = visibleBlobs(store, 'demo').length;
  const planned = await store.gc('demo', { without: [v1.digest] });
  assert.equal(visibleBlobs(store, 'demo').length, before, 'a planned collection removes nothing');
  await store.deleteManifest('demo', v1.digest);
  const removed = await store.gc('demo');
  assert.deepEqual(removed.map((r) => r.digest).sort(), planned.map((r) => r.digest).sort());
  const v1only = v1.files.find((f) => f.path === 'v1.bin')!.descriptor.digest;
  assert.ok(removed.some((r) => r.digest === v1only), 'v1.bin collected');
  assert.ok(removed.some((r) => r.digest === v1.digest), 'v1 manifest collected');
  assert.ok(!removed.some((r) => r.digest === v1.files.find((f) => f.path === 'package.json')!.descriptor.digest), 'the shared file stays');
  assert.equal(store.resolve('demo', '1.0.0'), null);
  await materializeModel(layoutReader(store), 'demo', '2.0.0', pubs, tempDir('cache-'));
});

test('distribution API reads: tags with pagination, HEAD, byte ranges, referrers filtered by artifactType, anonymous token realm', async (t) => {
  const g = await startTestGolden();
  t.after(() => g.close());
  const dir = modelDir({ 'package.json': '{}', 'w.bin': 50_000 });
  const pubs = [];
  for (const v of ['1.0.0', '1.1.0', '2.0.0']) pubs.push(await publishModel(g.client, dir, config('demo', v), g.key));
  let res = await request(`${g.golden.url}/v2/demo/tags/list?n=2`);
  assert.deepEqual(((await res.body.json()) as { tags: string[] }).tags, ['1.0.0', '1.1.0']);
  assert.match(String(res.headers.link), /last=1\.1\.0>; rel="next"/);
  res = await request(`${g.golden.url}/v2/demo/tags/list?n=2&last=1.1.0`);
  assert.deepEqual(((await res.body.json()) as { tags: string[] }).tags.filter((x) => !x.startsWith('sha256-')), ['2.0.0']);
  res = await request(`${g.golden.url}/v2/nothing/tags/list`);
  assert.equal(res.statusCode, 404);
  await res.body.dump();

  res = await request(`${g.golden.url}/v2/demo/manifests/2.0.0`, { method: 'HEAD' });
  await res.body.dump();
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['docker-content-digest'], pubs[2]!.digest);

  const m = JSON.parse(g.golden.store.readBlob('demo', pubs[0]!.digest).toString()) as { layers: { digest: string; size: number }[] };
  const layer = m.layers.find((l) => l.size === 50_000)!;
  res = await request(`${g.golden.url}/v2/demo/blobs/${layer.digest}`, { headers: { range: 'bytes=100-199' } });
  assert.equal(res.statusCode, 206);
  assert.equal(res.headers['content-range'], `bytes 100-199/50000`);
  assert.deepEqual(Buffer.from(await res.body.arrayBuffer()), readFileSync(path.join(dir, 'w.bin')).subarray(100, 200));
  res = await request(`${g.golden.url}/v2/demo/blobs/${layer.digest}`, { headers: { range: 'bytes=60000-' } });
  assert.equal(res.statusCode, 416);
  await res.body.dump();

  res = await request(`${g.golden.url}/v2/demo/referrers/${pubs[1]!.digest}?artifactType=${encodeURIComponent(DSSE_ENVELOPE)}`);
  assert.equal(res.headers['oci-filters-applied'], 'artifactType');
  assert.equal(((await res.body.json()) as { manifests: unknown[] }).manifests.length, 1);
  res = await request(`${g.golden.url}/v2/demo/referrers/${pubs[1]!.digest}?artifactType=application/x-other`);
  assert.equal(((await res.body.json()) as { manifests: unknown[] }).manifests.length, 0);

  // Stock clients: /v2/ challenges, the realm hands out an anonymous (read-only) token.
  res = await request(`${g.golden.url}/v2/`);
  await res.body.dump();
  assert.equal(res.statusCode, 401);
  assert.match(String(res.headers['www-authenticate']), /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/sovereign\/registry\/token"/);
  res = await request(`${g.golden.url}/sovereign/registry/token`);
  assert.equal(((await res.body.json()) as { token: string }).token, 'anonymous');
});
