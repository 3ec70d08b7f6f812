// Checks an artifact before anyone relies on it: the manifest is a Sovereign model, its config
// names the same model and version, and a DSSE signature referrer verifies under a publisher
// key of the topology for exactly this manifest digest.
import { modelFiles, parseManifest, parseModelConfig, type Descriptor, type Manifest, type ModelConfig } from './artifact.ts';
import { verifyEnvelope, type PublisherKey } from './dsse.ts';
import { RegistryError } from './errors.ts';
import { DSSE_ENVELOPE } from './media-types.ts';
import type { ArtifactReader } from './reader.ts';

export interface VerifiedArtifact {
  name: string;
  version: string;
  digest: string;
  manifestBytes: Buffer;
  manifest: Manifest;
  config: ModelConfig;
  files: { path: string; descriptor: Descriptor }[];
  /** Signature manifests (referrers) with their bytes, and the publisher key that verified. */
  signatures: { descriptor: Descriptor; bytes: Buffer; manifest: Manifest }[];
  signer: string;
}

export async function verifyArtifact(src: ArtifactReader, name: string, reference: string, publishers: readonly PublisherKey[]): Promise<VerifiedArtifact> {
  const what = `${name}:${reference} from ${src.where}`;
  const { bytes, digest } = await src.manifest(name, reference);
  const manifest = parseManifest(bytes, what);
  const files = modelFiles(manifest, what);
  const config = parseModelConfig(JSON.parse((await src.blobBytes(name, manifest.config.digest)).toString('utf8')), `${what}: config`);
  if (config.name !== name) throw new RegistryError('MANIFEST_INVALID', `${what}: the config names model "${config.name}", not "${name}"`);
  if (!reference.startsWith('sha256:') && config.version !== reference) throw new RegistryError('MANIFEST_INVALID', `${what}: the config says version ${config.version}, the tag ${reference}`);
  const refs = await src.referrers(name, digest, DSSE_ENVELOPE);
  if (refs.length === 0) throw new RegistryError('SIGNATURE_INVALID', `${what} (${digest}) has no signature (no ${DSSE_ENVELOPE} referrer): refused; publish it with \`sovereign model push\`, which signs`);
  const signatures: VerifiedArtifact['signatures'] = [];
  let signer: string | undefined;
  let firstError: unknown;
  for (const d of refs) {
    try {
      const sig = await src.manifest(name, d.digest);
      const m = parseManifest(sig.bytes, `${what}: signature ${d.digest}`);
      const layer = m.layers.find((l) => l.mediaType === DSSE_ENVELOPE);
      if (!layer || m.subject?.digest !== digest) throw new RegistryError('SIGNATURE_INVALID', `${what}: referrer ${d.digest} is not a DSSE signature of ${digest}`);
      const env = await src.blobBytes(name, layer.digest);
      const v = verifyEnvelope(env, digest, publishers, what);
      signer ??= v.keyId;
      signatures.push({ descriptor: { ...d, mediaType: d.mediaType }, bytes: sig.bytes, manifest: m });
    } catch (err) {
      firstError ??= err;
    }
  }
  if (signer === undefined) throw firstError as Error;
  return { name, version: config.version, digest, manifestBytes: bytes, manifest, config, files, signatures, signer };
}
