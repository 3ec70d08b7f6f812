// A registry's content on disk: one OCI image layout (image-spec image-layout.md) per
// repository, <root>/repos/<name>/{oci-layout,index.json,blobs/sha256/<hex>}. Tags are the
// `org.opencontainers.image.ref.name` annotations of index.json's entries; untagged manifests
// that must stay (signatures, referrers) are listed without one.
//
// Nothing half-written becomes visible: a blob is written to <root>/uploads/ (a push, upload.ts)
// or <root>/partial/ (a replication, partial.ts), its digest checked, then fsynced and renamed
// into blobs/ (commitDurable); a manifest's blob is written before the
// index.json that names it (writeFileDurable, temp + rename). A blob in blobs/ that no index entry
// reaches is garbage, collected by gc().
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { commitDurable, fsyncDir, writeFileDurable } from '../common/index.ts';
import { IndexSchema, ManifestSchema, parseManifest, type Descriptor, type ImageIndex, type Manifest } from './artifact.ts';
import { checkDigest, hexOf, isDigest, sha256Digest } from './digest.ts';
import { RegistryError, storageError } from './errors.ts';
import { ANNOTATION_REF_NAME, OCI_INDEX, OCI_MANIFEST } from './media-types.ts';
import { checkName, checkTag } from './names.ts';
import { PartialBlobs } from './partial.ts';
import { Upload } from './upload.ts';

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: '1.0.0' });

export class LayoutStore {
  readonly root: string;
  /** Blobs being downloaded (replication), kept across cuts. */
  readonly partial: PartialBlobs;
  readonly #index = new Map<string, ImageIndex>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #uploads = new Map<string, Upload>();

  constructor(root: string) {
    this.root = root;
    mkdirSync(path.join(root, 'repos'), { recursive: true, mode: 0o700 });
    const uploads = path.join(root, 'uploads');
    // Upload sessions survive a restart: a client that was cut off (or killed) continues from
    // the session's Range (distribution-spec: GET the upload URL), and the bytes kept are hashed
    // again when the session is next used. Sessions untouched for a week are abandoned.
    mkdirSync(uploads, { recursive: true, mode: 0o700 });
    const stale = Date.now() - 7 * 24 * 3600_000;
    for (const f of readdirSync(uploads)) {
      const p = path.join(uploads, f);
      try {
        if (statSync(p).mtimeMs < stale) rmSync(p, { force: true });
      } catch {
        // gone meanwhile
      }
    }
    this.partial = new PartialBlobs(path.join(root, 'partial'));
  }

  repoDir(name: string): string {
    return path.join(this.root, 'repos', checkName(name));
  }

  blobPath(name: string, digest: string): string {
    return path.join(this.repoDir(name), 'blobs', 'sha256', hexOf(checkDigest(digest, 'blob digest')));
  }

  repositories(): string[] {
    return readdirSync(path.join(this.root, 'repos')).filter((n) => existsSync(path.join(this.root, 'repos', n, 'index.json'))).sort();
  }

  #ensureRepo(name: string): string {
    const dir = this.repoDir(name);
    if (!existsSync(path.join(dir, 'oci-layout'))) {
      mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
      // The oci-layout file is written once, before anything refers to the directory.
      mkdirSync(dir, { recursive: true });
    }
    return dir;
  }

  index(name: string): ImageIndex {
    const cached = this.#index.get(name);
    if (cached) return cached;
    const file = path.join(this.repoDir(name), 'index.json');
    let idx: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    if (existsSync(file)) idx = IndexSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    this.#index.set(name, idx);
    return idx;
  }

  /** Serializes changes to one repository's index. */
  async #locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    this.#locks.set(name, run.catch(() => undefined));
    return run;
  }

  async #writeIndex(name: string, idx: ImageIndex): Promise<void> {
    const dir = this.#ensureRepo(name);
    try {
      if (!existsSync(path.join(dir, 'oci-layout'))) await writeFileDurable(path.join(dir, 'oci-layout'), LAYOUT_FILE, { mode: 0o644, syncDir: false });
      await writeFileDurable(path.join(dir, 'index.json'), JSON.stringify(idx), { mode: 0o644, syncDir: false });
      await fsyncDir(dir);
    } catch (err) {
      throw storageError(err, `index of ${name}`);
    }
    this.#index.set(name, idx);
  }

  blobSize(name: string, digest: string): number | null {
    if (!isDigest(digest)) return null;
    try {
      return statSync(this.blobPath(name, digest)).size;
    } catch {
      return null;
    }
  }

  readBlob(name: string, digest: string): Buffer {
    try {
      return readFileSync(this.blobPath(name, digest));
    } catch {
      throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in ${name}`);
    }
  }

  blobStream(name: string, digest: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.blobPath(name, digest), range ? { start: range.start, end: range.end, highWaterMark: 1 << 20 } : { highWaterMark: 1 << 20 });
  }

  // ---- uploads (distribution-spec "Pushing blobs") -------------------------------------------

  /** Resolves once every upload's append under way has finished writing (a registry closing waits for it). */
  async uploadsIdle(): Promise<void> {
    await Promise.all([...this.#uploads.values()].map((u) => u.idle()));
  }

  startUpload(name: string): Upload {
    checkName(name);
    const id = randomUUID();
    const u = new Upload(id, path.join(this.root, 'uploads', id), name);
    // The session's repository, so the session can be taken up again after a restart.
    writeFileSync(path.join(this.root, 'uploads', `${id}.name`), name, { mode: 0o600 });
    this.#uploads.set(id, u);
    return u;
  }

  /** A session of before a restart, from its files (uploads/<id> and uploads/<id>.name). */
  #fromDisk(id: string): Upload | undefined {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const file = path.join(this.root, 'uploads', id);
    try {
      const name = readFileSync(`${file}.name`, 'utf8');
      const size = existsSync(file) ? statSync(file).size : 0;
      const u = new Upload(id, file, name, size);
      this.#uploads.set(id, u);
      return u;
    } catch {
      return undefined;
    }
  }

  upload(name: string, id: string): Upload {
    const u = this.#uploads.get(id) ?? this.#fromDisk(id);
    if (!u || u.name !== name || u.offset < 0) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id.slice(0, 64)} is unknown in ${name} (finished, cancelled, lost to a restart or a full disk); start the blob again`);
    return u;
  }

  async cancelUpload(name: string, id: string): Promise<void> {
    const u = this.upload(name, id);
    this.#uploads.delete(id);
    await unlink(u.file).catch(() => undefined);
    await unlink(`${u.file}.name`).catch(() => undefined);
  }

  /** Finishes an upload: its bytes must hash to `digest`, else nothing is stored. */
  async finishUpload(name: string, id: string, digest: string, size?: number): Promise<void> {
    const u = this.upload(name, id);
    await u.ready();
    this.#uploads.delete(id);
    await unlink(`${u.file}.name`).catch(() => undefined);
    try {
      checkDigest(digest, 'digest parameter');
      const actual = u.digest();
      if (actual !== digest) throw new RegistryError('DIGEST_INVALID', `the uploaded bytes of ${name} hash to ${actual}, not ${digest}: refused, nothing stored (upload corrupted or truncated; push again)`);
      if (size !== undefined && u.offset !== size) throw new RegistryError('SIZE_INVALID', `the upload of ${digest} has ${u.offset} bytes, the manifest says ${size}: refused, nothing stored`);
      await this.#commitBlobFile(name, u.file, digest);
    } catch (err) {
      await unlink(u.file).catch(() => undefined);
      throw err;
    }
  }

  async #commitBlobFile(name: string, file: string, digest: string, syncDir = true): Promise<void> {
    this.#ensureRepo(name);
    const target = this.blobPath(name, digest);
    if (existsSync(target)) {
      await unlink(file).catch(() => undefined);
      return;
    }
    try {
      await commitDurable(file, target, syncDir);
    } catch (err) {
      throw storageError(err, `blob ${digest} of ${name}`);
    }
  }

  /**
   * Moves a complete, verified partial file (see PartialBlobs.verified) into the repository.
   */
  async commitPartial(name: string, digest: string, size: number, hashed?: string, syncDir = true): Promise<void> {
    await this.#commitBlobFile(name, await this.partial.verified(name, digest, size, hashed), digest, syncDir);
  }

  /** fsync of a repository's blob directory (after commits made with syncDir false). */
  async syncBlobs(name: string): Promise<void> {
    try {
      await fsyncDir(path.join(this.repoDir(name), 'blobs', 'sha256'));
    } catch (err) {
      throw storageError(err, `blobs of ${name}`);
    }
  }

  async putBlobBytes(name: string, bytes: Uint8Array, digest = sha256Digest(bytes)): Promise<string> {
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new RegistryError('DIGEST_INVALID', `blob of ${name} hashes to ${actual}, not ${digest}: refused`);
    this.#ensureRepo(name);
    const target = this.blobPath(name, digest);
    if (existsSync(target)) return digest;
    try {
      await writeFileDurable(target, bytes, { mode: 0o644 });
    } catch (err) {
      throw storageError(err, `blob ${digest} of ${name}`);
    }
    return digest;
  }

  // ---- manifests and tags (distribution-spec "Pushing manifests", "Content discovery") ------

  /**
   * Stores a manifest (every blob it names must be here: MANIFEST_BLOB_UNKNOWN otherwise) and,
   * given a tag, points the tag at it. Returns the manifest's digest.
   */
  async putManifest(name: string, bytes: Buffer, reference: string): Promise<{ digest: string; manifest: Manifest }> {
    const digest = sha256Digest(bytes);
    const byDigest = isDigest(reference);
    if (byDigest && reference !== digest) throw new RegistryError('DIGEST_INVALID', `the manifest hashes to ${digest}, not ${reference}`);
    if (!byDigest) checkTag(reference);
    const m = parseManifest(bytes, `manifest for ${name}:${reference}`);
    for (const d of [m.config, ...m.layers]) {
      if (this.blobSize(name, d.digest) === null) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest for ${name}:${reference} names blob ${d.digest}, which is not in ${name}; push the blob first`, { digest: d.digest });
      if (this.blobSize(name, d.digest) !== d.size) throw new RegistryError('SIZE_INVALID', `manifest for ${name}:${reference} says blob ${d.digest} has ${d.size} bytes; it has ${this.blobSize(name, d.digest)}`);
    }
    await this.putBlobBytes(name, bytes, digest);
    await this.#locked(name, async () => {
      const idx = this.index(name);
      const desc: Descriptor = { mediaType: m.mediaType ?? OCI_MANIFEST, digest, size: bytes.length, ...(m.artifactType ? { artifactType: m.artifactType } : {}) };
      let manifests = idx.manifests;
      if (!byDigest) manifests = manifests.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] !== reference);
      const tagged = byDigest ? desc : { ...desc, annotations: { [ANNOTATION_REF_NAME]: reference } };
      const already = byDigest && manifests.some((d) => d.digest === digest);
      if (!already) manifests = [...manifests, tagged];
      await this.#writeIndex(name, { ...idx, manifests });
    });
    return { digest, manifest: m };
  }

  /** The descriptor a tag or digest resolves to in this repository, or null. */
  resolve(name: string, reference: string): Descriptor | null {
    if (!existsSync(path.join(this.repoDir(name), 'index.json')) && !this.#index.has(name)) return null;
    const idx = this.index(name);
    if (isDigest(reference)) {
      const hit = idx.manifests.find((d) => d.digest === reference);
      if (hit) return hit;
      // A manifest kept only as a blob (e.g. reached through a referrer) is still addressable.
      const size = this.blobSize(name, reference);
      return size === null ? null : { mediaType: OCI_MANIFEST, digest: reference, size };
    }
    return idx.manifests.find((d) => d.annotations?.[ANNOTATION_REF_NAME] === reference) ?? null;
  }

  manifest(name: string, reference: string): { descriptor: Descriptor; bytes: Buffer } {
    const d = this.resolve(name, reference);
    if (!d) throw new RegistryError('MANIFEST_UNKNOWN', `${name}:${reference} is not in this registry`);
    return { descriptor: d, bytes: this.readBlob(name, d.digest) };
  }

  tags(name: string): string[] {
    return [...new Set(this.index(name).manifests.map((d) => d.annotations?.[ANNOTATION_REF_NAME]).filter((t): t is string => t !== undefined))].sort();
  }

  /** image-spec/distribution-spec v1.1 referrers: manifests here whose subject is `digest`. */
  referrers(name: string, digest: string, artifactType?: string): Descriptor[] {
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const d of this.index(name).manifests) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      let m: Manifest;
      try {
        m = ManifestSchema.parse(JSON.parse(this.readBlob(name, d.digest).toString('utf8')));
      } catch {
        continue;
      }
      if (m.subject?.digest !== digest) continue;
      const type = m.artifactType ?? m.config.mediaType;
      if (artifactType !== undefined && type !== artifactType) continue;
      out.push({ mediaType: OCI_MANIFEST, digest: d.digest, size: d.size, artifactType: type, ...(m.annotations ? { annotations: m.annotations } : {}) });
    }
    return out;
  }

  /**
   * Deletes a tag, or a manifest by digest (every tag pointing at it and, with it, its
   * referrers). Blobs stay until gc(). Returns the digests of the manifests removed from the index.
   */
  async deleteManifest(name: string, reference: string): Promise<string[]> {
    return this.#locked(name, async () => {
      const idx = this.index(name);
      const gone = isDigest(reference) ? idx.manifests.filter((d) => d.digest === reference) : idx.manifests.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] === reference);
      if (gone.length === 0) throw new RegistryError('MANIFEST_UNKNOWN', `${name}:${reference} is not in this registry`);
      const removed = new Set(gone.map((d) => d.digest));
      let manifests = idx.manifests.filter((d) => !gone.includes(d));
      // A manifest no tag names any more takes its referrers (signatures) with it.
      const stillNamed = new Set(manifests.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] !== undefined).map((d) => d.digest));
      const orphaned = [...removed].filter((d) => !stillNamed.has(d));
      for (const d of orphaned) for (const r of this.referrers(name, d)) removed.add(r.digest);
      manifests = manifests.filter((d) => !(removed.has(d.digest) && !stillNamed.has(d.digest)));
      await this.#writeIndex(name, { ...idx, manifests });
      return [...removed];
    });
  }

  /**
   * Removes blobs no manifest in the index reaches (image-layout: blobs not reachable are
   * garbage). With `plan`, removes nothing and answers what would go if the manifests in
   * `without` (and their referrers) were gone too.
   */
  async gc(name: string, plan?: { without: readonly string[] }): Promise<{ digest: string; size: number }[]> {
    return this.#locked(name, async () => {
      const live = new Set<string>();
      const drop = new Set(plan?.without ?? []);
      for (const d of plan?.without ?? []) for (const r of this.referrers(name, d)) drop.add(r.digest);
      for (const d of this.index(name).manifests) {
        if (drop.has(d.digest)) continue;
        live.add(d.digest);
        try {
          const m = ManifestSchema.parse(JSON.parse(this.readBlob(name, d.digest).toString('utf8')));
          live.add(m.config.digest);
          for (const l of m.layers) live.add(l.digest);
        } catch {
          // An unreadable manifest keeps only itself; its blobs cannot be known.
        }
      }
      const dir = path.join(this.repoDir(name), 'blobs', 'sha256');
      const removed: { digest: string; size: number }[] = [];
      for (const hex of existsSync(dir) ? readdirSync(dir) : []) {
        const digest = `sha256:${hex}`;
        if (live.has(digest)) continue;
        const size = statSync(path.join(dir, hex)).size;
        if (!plan) await unlink(path.join(dir, hex));
        removed.push({ digest, size });
      }
      if (removed.length > 0 && !plan) await fsyncDir(dir);
      return removed;
    });
  }
}
