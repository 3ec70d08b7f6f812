// Publishing: a model directory becomes a signed artifact in a registry (golden). The blobs
// are pushed in chunks, the manifest is tagged with the version, and the publisher's DSSE
// signature over the manifest digest is pushed as a referrer of it (image-spec v1.1 `subject`).
import { createReadStream } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { buildModelArtifact, type Descriptor, type ModelConfig } from './artifact.ts';
import type { RegistryClient } from './client.ts';
import { sha256Digest } from './digest.ts';
import { signManifest } from './dsse.ts';
import { RegistryError } from './errors.ts';
import { DSSE_ENVELOPE, OCI_EMPTY, OCI_EMPTY_DIGEST, OCI_MANIFEST } from './media-types.ts';

export interface Published {
  name: string;
  version: string;
  digest: string;
  size: number;
  files: number;
}

/** The signature manifest: an artifact whose one layer is the DSSE envelope, whose subject is the model. */
export function signatureManifest(envelope: Buffer, subject: Descriptor): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: DSSE_ENVELOPE,
      config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 },
      layers: [{ mediaType: DSSE_ENVELOPE, digest: sha256Digest(envelope), size: envelope.length }],
      subject,
    }),
  );
}

/** Signs the manifest `digest` of name:version and pushes the signature as its referrer. */
export async function pushSignature(client: RegistryClient, key: KeyObject, name: string, version: string, subject: Descriptor): Promise<string> {
  const envelope = Buffer.from(JSON.stringify(signManifest(key, { name, version, digest: subject.digest })));
  const empty = Buffer.from('{}');
  await client.pushBlob(name, OCI_EMPTY_DIGEST, 2, async () => empty);
  await client.pushBlob(name, sha256Digest(envelope), envelope.length, async (s, e) => envelope.subarray(s, e + 1));
  const bytes = signatureManifest(envelope, subject);
  const d = sha256Digest(bytes);
  await client.putReferrer(name, bytes, { mediaType: OCI_MANIFEST, digest: d, size: bytes.length, artifactType: DSSE_ENVELOPE }, subject.digest);
  return d;
}

/** Publishes `dir` as name:version, signed with `key`. A version already published with other content is refused. */
export async function publishModel(client: RegistryClient, dir: string, config: ModelConfig, key: KeyObject, onProgress?: (done: number, total: number) => void): Promise<Published> {
  const art = await buildModelArtifact(dir, config);
  const existing = await client.hasManifest(config.name, config.version);
  if (existing !== null && existing !== art.digest) {
    // Same files, other creation time: the published one stands (versions are immutable).
    const prev = await client.manifest(config.name, config.version);
    const same = JSON.stringify({ ...JSON.parse(prev.bytes.toString('utf8')), annotations: undefined }) === JSON.stringify({ ...JSON.parse(art.manifest.toString('utf8')), annotations: undefined });
    if (!same) throw new RegistryError('DENIED', `${config.name}:${config.version} is already published with other content (${existing}); versions are immutable: publish a new version`);
    return { name: config.name, version: config.version, digest: existing, size: 0, files: art.blobs.length - 1 };
  }
  const total = art.blobs.reduce((n, b) => n + b.descriptor.size, 0);
  let done = 0;
  onProgress?.(0, total);
  for (const b of art.blobs) {
    const read = async (s: number, e: number) => (b.bytes ? b.bytes.subarray(s, e + 1) : createReadStream(b.file as string, { start: s, end: e, highWaterMark: 1 << 20 }));
    await client.pushBlob(config.name, b.descriptor.digest, b.descriptor.size, read, (n) => {
      done += n;
      onProgress?.(done, total);
    });
  }
  await client.putManifest(config.name, config.version, art.manifest);
  await pushSignature(client, key, config.name, config.version, { mediaType: OCI_MANIFEST, digest: art.digest, size: art.manifest.length });
  return { name: config.name, version: config.version, digest: art.digest, size: total, files: art.blobs.length - 1 };
}
