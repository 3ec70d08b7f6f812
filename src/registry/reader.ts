// What replication and loading read an artifact from: a registry over HTTP (RegistryClient) or
// the region's own layout on disk. One interface, two implementations.
import type { Readable } from 'node:stream';
import type { Descriptor } from './artifact.ts';
import type { RegistryClient } from './client.ts';
import { RegistryError } from './errors.ts';
import type { LayoutStore } from './layout.ts';

export interface ArtifactReader {
  /** Where the artifact is read from, for messages. */
  readonly where: string;
  manifest(name: string, reference: string): Promise<{ bytes: Buffer; digest: string }>;
  referrers(name: string, digest: string, artifactType?: string): Promise<Descriptor[]>;
  blobBytes(name: string, digest: string): Promise<Buffer>;
  /** The blob's bytes from `offset` on. */
  blobFrom(name: string, digest: string, offset: number): Promise<Readable>;
  /** The blob's file when it is on this machine's disk (a layout), so it can be linked, not copied. */
  blobFile?(name: string, digest: string): string | null;
}

export function clientReader(c: RegistryClient): ArtifactReader {
  return {
    where: c.url,
    manifest: (n, r) => c.manifest(n, r),
    referrers: (n, d, t) => c.referrers(n, d, t),
    blobBytes: (n, d) => c.blobBytes(n, d),
    blobFrom: (n, d, o) => c.blobFrom(n, d, o),
  };
}

export function layoutReader(s: LayoutStore): ArtifactReader {
  return {
    where: s.root,
    async manifest(n, r) {
      const { descriptor, bytes } = s.manifest(n, r);
      return { bytes, digest: descriptor.digest };
    },
    async referrers(n, d, t) {
      return s.repositories().includes(n) ? s.referrers(n, d, t) : [];
    },
    async blobBytes(n, d) {
      return s.readBlob(n, d);
    },
    blobFile(n, d) {
      return s.blobSize(n, d) === null ? null : s.blobPath(n, d);
    },
    async blobFrom(n, d, o) {
      const size = s.blobSize(n, d);
      if (size === null) throw new RegistryError('BLOB_UNKNOWN', `blob ${d} is not in ${n} (${s.root})`);
      return s.blobStream(n, d, o > 0 ? { start: o, end: size - 1 } : undefined);
    },
  };
}
