// One-way replication of a signed model from a source registry (golden) into a destination:
// the region's own layout (embedded registry) or another registry over HTTP (a real OCI
// registry as the region's). Order matters: the manifest and signature are verified first, every
// blob is stored and its digest checked, then `beforeCommit` (the ledger's transfer and arrival
// entries) runs, and only then does the tag appear. A failure anywhere leaves no tag: nothing a
// cell could load.
import type { Readable } from 'node:stream';
import type { Descriptor } from './artifact.ts';
import type { RegistryClient } from './client.ts';
import type { PublisherKey } from './dsse.ts';
import { RegistryError } from './errors.ts';
import { THREAD_HASH_MIN, blobHash, warmHashThread } from './hash-thread.ts';
import type { LayoutStore } from './layout.ts';
import { OCI_EMPTY, OCI_EMPTY_DIGEST } from './media-types.ts';
import { clientReader } from './reader.ts';
import { verifyArtifact, type VerifiedArtifact } from './verify.ts';

export interface ReplicateOptions {
  source: RegistryClient;
  name: string;
  version: string;
  publishers: readonly PublisherKey[];
  onProgress?: (done: number, total: number) => void;
  /** Runs once the manifest and signature verified, before any blob is copied; throwing refuses the artifact. */
  admit?: (a: VerifiedArtifact) => Promise<void>;
  /** Runs once everything is stored and verified, before the tag becomes visible; throwing aborts. */
  beforeCommit?: (a: VerifiedArtifact) => Promise<void>;
}

function blobsOf(a: VerifiedArtifact): Descriptor[] {
  const all = [a.manifest.config, ...a.manifest.layers, ...a.signatures.flatMap((s) => [s.manifest.config, ...s.manifest.layers])];
  const seen = new Set<string>();
  return all.filter((d) => (seen.has(d.digest) ? false : (seen.add(d.digest), true)));
}

/** Copies into the region's layout, resuming a blob cut off earlier (kept in <root>/partial/). */
export async function replicateIntoLayout(store: LayoutStore, o: ReplicateOptions): Promise<VerifiedArtifact> {
  const a = await verifyArtifact(clientReader(o.source), o.name, o.version, o.publishers);
  await o.admit?.(a);
  const missing = blobsOf(a).filter((d) => store.blobSize(o.name, d.digest) !== d.size);
  const total = missing.reduce((n, d) => n + d.size, 0);
  let done = 0;
  if (missing.some((d) => d.size >= THREAD_HASH_MIN)) warmHashThread();
  o.onProgress?.(0, total);
  for (const d of missing) {
    if (d.digest === OCI_EMPTY_DIGEST && d.mediaType === OCI_EMPTY) {
      await store.putBlobBytes(o.name, Buffer.from('{}'), d.digest);
      done += d.size;
      continue;
    }
    let have = store.partial.size(d.digest);
    if (have > d.size) {
      await store.partial.discard(d.digest);
      have = 0;
    }
    // The digest is computed as the bytes are written (one pass; a large blob's on the hash
    // thread, hash-thread.ts); a resumed blob hashes its kept prefix first.
    const hash = blobHash(d.size);
    try {
      await store.partial.hashInto(d.digest, hash, have);
      done += have;
      for (let attempt = 0; ; attempt++) {
        if (have >= d.size) break;
        try {
          const from = have;
          await store.partial.append(d.digest, hash, (write) => o.source.blobInto(o.name, d.digest, from, d.size, write), (n) => {
            done += n;
            o.onProgress?.(done, total);
          });
          have = store.partial.size(d.digest);
          if (have < d.size) throw new RegistryError('UNAVAILABLE', `blob ${d.digest}: the source ended after ${have} of ${d.size} bytes`);
        } catch (err) {
          if (err instanceof RegistryError && err.code !== 'UNAVAILABLE') throw err;
          if (attempt >= o.source.retries) throw new RegistryError('UNAVAILABLE', `blob ${d.digest} of ${o.name}: the transfer was cut ${attempt + 1} times (${(err as Error).message}); run the promotion again to resume from byte ${store.partial.size(d.digest)}`);
          // Resume where the bytes on disk end (distribution-spec: GET with a Range).
          have = store.partial.size(d.digest);
        }
      }
      // The digest is checked before the blob is moved where anything could see it.
      await store.commitPartial(o.name, d.digest, d.size, await hash.digest(), false);
    } finally {
      hash.drop();
    }
  }
  // One directory fsync for all the blobs, before any manifest names them.
  if (missing.length > 0) await store.syncBlobs(o.name);
  for (const s of a.signatures) await store.putManifest(o.name, s.bytes, s.descriptor.digest);
  // The model manifest by digest (untagged: no cell resolves it) so the signatures' subject exists.
  await store.putManifest(o.name, a.manifestBytes, a.digest);
  await o.beforeCommit?.(a);
  await store.putManifest(o.name, a.manifestBytes, a.version);
  return a;
}

/** Copies into another registry over the distribution API (chunked, resumable pushes). */
export async function replicateIntoRegistry(dest: RegistryClient, o: ReplicateOptions): Promise<VerifiedArtifact> {
  const a = await verifyArtifact(clientReader(o.source), o.name, o.version, o.publishers);
  await o.admit?.(a);
  const blobs = blobsOf(a);
  const total = blobs.reduce((n, d) => n + d.size, 0);
  let done = 0;
  o.onProgress?.(0, total);
  for (const d of blobs) {
    const read = async (start: number, end: number): Promise<Readable | Buffer> => (d.size === 0 ? Buffer.alloc(0) : o.source.blobFrom(o.name, d.digest, start, end));
    await dest.pushBlob(o.name, d.digest, d.size, read, (n) => {
      done += n;
      o.onProgress?.(done, total);
    });
  }
  await dest.putManifest(o.name, a.digest, a.manifestBytes);
  for (const s of a.signatures) await dest.putReferrer(o.name, s.bytes, { ...s.descriptor, artifactType: s.manifest.artifactType ?? s.descriptor.artifactType }, a.digest);
  await o.beforeCommit?.(a);
  await dest.putManifest(o.name, a.version, a.manifestBytes);
  return a;
}
