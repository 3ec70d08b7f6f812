// A model as an OCI artifact (image-spec v1.1): an image manifest whose artifactType is
// MODEL_ARTIFACT_TYPE, whose config blob describes the model (name, version, licence,
// training-data provenance, runtime) and whose layers are the model's files, one per file,
// each titled with its path. Addressed by the manifest's digest.
import { createReadStream, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DATA_CLASSES } from '../common/index.ts';
import { checkDigest, newHash, sha256Digest } from './digest.ts';
import { RegistryError } from './errors.ts';
import { ANNOTATION_CREATED, ANNOTATION_LICENSES, ANNOTATION_TITLE, ANNOTATION_VERSION, MODEL_ARTIFACT_TYPE, MODEL_CONFIG, MODEL_FILE, OCI_MANIFEST } from './media-types.ts';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected a sha256 digest');
/** distribution-spec "Pulling manifests": <name> components; Sovereign uses one component per model. */
export const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
/** distribution-spec: a tag is [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. */
export const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export const DescriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest,
  size: z.number().int().nonnegative(),
  artifactType: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

/** image-spec manifest.md (only what Sovereign reads; other members are kept as stored bytes). */
export const ManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_MANIFEST).optional(),
  artifactType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** image-spec image-index.md. */
export const IndexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(DescriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageIndex = z.infer<typeof IndexSchema>;

const jurisdiction = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, 'expected a jurisdiction name such as "EU"');

/** The model's config blob: what the promotion policy and the cell read. */
export const ModelConfigSchema = z
  .strictObject({
  name: z.string().regex(REPOSITORY_NAME, 'expected a lower-case model name such as "text-analysis"'),
  version: z.string().regex(TAG, 'expected a version usable as an OCI tag, e.g. "1.8.1"'),
  /** SPDX licence expression. */
  licence: z.string().min(1).max(200),
  trainingData: z.strictObject({
    /** Most sensitive class of data the model was trained or fine-tuned on. */
    dataClass: z.enum(DATA_CLASSES),
    /** Jurisdictions of the data subjects whose data was used (empty for public data). */
    jurisdictions: z.array(jurisdiction).max(64),
    /** Free-text provenance (datasets, versions); no personal data. */
    sources: z.array(z.string().min(1).max(200)).max(64),
  }),
  runtime: z.strictObject({
    /** The runtime that loads the files (e.g. "wink-nlp"). */
    kind: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,63}$/),
    /** Semver range of the runtime it needs. */
    version: z.string().max(64).optional(),
  }),
  })
  .refine((c) => c.trainingData.dataClass === 'public' || c.trainingData.dataClass === 'internal' || c.trainingData.jurisdictions.length > 0, {
    path: ['trainingData', 'jurisdictions'],
    message: 'a model trained on personal or special data must name the jurisdictions of its data subjects (the promotion policies decide by them)',
  });
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** A built artifact: the manifest's bytes and every blob it refers to, with where the bytes are. */
export interface BuiltArtifact {
  manifest: Buffer;
  digest: string;
  config: ModelConfig;
  blobs: { descriptor: Descriptor; file?: string; bytes?: Buffer }[];
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      if (name === 'node_modules' || name === '.git') continue;
      out.push(...listFiles(p, base));
    } else if (st.isFile()) out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out;
}

async function fileDigest(file: string): Promise<{ digest: string; size: number }> {
  const h = newHash();
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/** Parses a model config, naming the field at fault. */
export function parseModelConfig(value: unknown, what: string): ModelConfig {
  const r = ModelConfigSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RegistryError('MANIFEST_INVALID', `${what}: ${i ? `${i.path.join('.') || '(config)'}: ${i.message}` : 'invalid model config'}`);
  }
  return r.data;
}

/** Parses manifest bytes (image-spec manifest.md), naming what is wrong. */
export function parseManifest(bytes: Uint8Array, what: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new RegistryError('MANIFEST_INVALID', `${what}: not JSON (${(err as Error).message})`);
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RegistryError('MANIFEST_INVALID', `${what}: ${i ? `${i.path.join('.') || '(manifest)'}: ${i.message}` : 'not an OCI image manifest'}`);
  }
  return r.data;
}

/** Builds the artifact of a model directory: every regular file a layer (node_modules and .git left out). */
export async function buildModelArtifact(dir: string, config: ModelConfig, created = new Date()): Promise<BuiltArtifact> {
  const files = listFiles(dir);
  if (files.length === 0) throw new RegistryError('MANIFEST_INVALID', `${dir}: no files to publish; give the directory holding the model's files`);
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDesc: Descriptor = { mediaType: MODEL_CONFIG, digest: sha256Digest(configBytes), size: configBytes.length };
  const blobs: BuiltArtifact['blobs'] = [{ descriptor: configDesc, bytes: configBytes }];
  const layers: Descriptor[] = [];
  for (const rel of files) {
    const file = path.join(dir, rel);
    const { digest: d, size } = await fileDigest(file);
    const desc: Descriptor = { mediaType: MODEL_FILE, digest: d, size, annotations: { [ANNOTATION_TITLE]: rel } };
    layers.push(desc);
    blobs.push({ descriptor: desc, file });
  }
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: MODEL_ARTIFACT_TYPE,
    config: configDesc,
    layers,
    annotations: { [ANNOTATION_VERSION]: config.version, [ANNOTATION_LICENSES]: config.licence, [ANNOTATION_CREATED]: created.toISOString() },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { manifest: bytes, digest: sha256Digest(bytes), config, blobs };
}

/** The layers of a model manifest as (path, descriptor), refusing paths that would leave the model directory. */
export function modelFiles(m: Manifest, what: string): { path: string; descriptor: Descriptor }[] {
  if (m.artifactType !== MODEL_ARTIFACT_TYPE) throw new RegistryError('MANIFEST_INVALID', `${what}: artifactType is ${m.artifactType ?? '(none)'}, not ${MODEL_ARTIFACT_TYPE}`);
  if (m.config.mediaType !== MODEL_CONFIG) throw new RegistryError('MANIFEST_INVALID', `${what}: config mediaType is ${m.config.mediaType}, not ${MODEL_CONFIG}`);
  const seen = new Set<string>();
  return m.layers.map((l, i) => {
    checkDigest(l.digest, `${what}: layers[${i}].digest`);
    const p = l.annotations?.[ANNOTATION_TITLE];
    if (l.mediaType !== MODEL_FILE || p === undefined) throw new RegistryError('MANIFEST_INVALID', `${what}: layers[${i}] is not a model file (mediaType ${MODEL_FILE} with a ${ANNOTATION_TITLE} annotation)`);
    const norm = path.posix.normalize(p);
    if (norm.startsWith('../') || norm === '..' || path.posix.isAbsolute(norm) || norm !== p || seen.has(norm)) {
      throw new RegistryError('MANIFEST_INVALID', `${what}: layers[${i}] has the path "${p.slice(0, 100)}", which is not a distinct relative path inside the model`);
    }
    seen.add(norm);
    return { path: norm, descriptor: l };
  });
}
