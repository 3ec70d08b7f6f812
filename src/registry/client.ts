// A client of the OCI distribution API (distribution-spec v1.1), for Sovereign's own registries
// and any conformant one (CNCF distribution, Harbor, ...): manifests, blobs (ranged reads, so a
// cut download resumes where it stopped), chunked uploads (resumed from the registry's Range),
// tags, and referrers with the spec's tag-schema fallback for registries without the API.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { IndexSchema, type Descriptor } from './artifact.ts';
import { rawGet, type RawConnect, type RawResponse } from './blob-get.ts';
import { sha256Digest } from './digest.ts';
import { drainInto, type WriteBatch } from './drain.ts';
import { RegistryError } from './errors.ts';
import { OCI_INDEX, OCI_MANIFEST } from './media-types.ts';
import { registryDispatcher } from './transport.ts';

const ACCEPT = [OCI_MANIFEST, OCI_INDEX, 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');
/** Chunk size of pushed uploads (distribution-spec: chunked upload, PATCH with Content-Range). */
const CHUNK = 16 * 1024 * 1024;
/** Blob downloads of at least this many bytes read a connection of their own (blob-get.ts). */
const OWN_CONNECTION_MIN = 8 * 1024 * 1024;
/** Blobs up to this size go in one POST. */
const MONOLITHIC_MAX = 1024 * 1024;

export interface ClientOptions {
  /** Bearer token for writes to a Sovereign registry (never logged). */
  token?: string;
  dispatcher?: Dispatcher;
  /** How many times a cut transfer is resumed before giving up. */
  retries?: number;
  /**
   * Where upload sessions are remembered across runs: a push killed mid-blob continues on the
   * next run from the bytes the registry kept (the session's Range) instead of from byte 0.
   */
  sessionDir?: string;
  /** Told when a push resumes a blob from an earlier run's session. */
  onResume?: (digest: string, offset: number, size: number) => void;
  /**
   * A connection of its own to the registry (one of Sovereign's embedded registries): blob
   * downloads read it directly (blob-get.ts) instead of through the dispatcher's body stream.
   */
  connect?: RawConnect;
}

type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export class RegistryClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #dispatcher: Dispatcher;
  readonly retries: number;
  readonly #sessionDir: string | undefined;
  readonly #onResume: ClientOptions['onResume'];
  readonly #connect: RawConnect | undefined;

  constructor(url: string, opts: ClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#dispatcher = opts.dispatcher ?? registryDispatcher();
    this.retries = opts.retries ?? 5;
    this.#sessionDir = opts.sessionDir;
    this.#onResume = opts.onResume;
    this.#connect = opts.connect;
  }

  /** The file remembering the upload session of `digest` into `name` at this registry. */
  #sessionFile(name: string, digest: string): string | null {
    if (!this.#sessionDir) return null;
    const key = createHash('sha256').update(`${this.url}\n${name}\n${digest}`).digest('hex').slice(0, 32);
    return path.join(this.#sessionDir, `${key}.json`);
  }

  #savedSession(name: string, digest: string, size: number): string | null {
    const f = this.#sessionFile(name, digest);
    if (!f) return null;
    try {
      const s = JSON.parse(readFileSync(f, 'utf8')) as { location?: string; size?: number };
      return typeof s.location === 'string' && s.size === size ? s.location : null;
    } catch {
      return null;
    }
  }

  #saveSession(name: string, digest: string, size: number, location: string): void {
    const f = this.#sessionFile(name, digest);
    if (!f) return;
    mkdirSync(path.dirname(f), { recursive: true, mode: 0o700 });
    // Only the session URL: an upload id, no credentials.
    writeFileSync(f, JSON.stringify({ registry: this.url, name, digest, size, location }), { mode: 0o600 });
  }

  #dropSession(name: string, digest: string): void {
    const f = this.#sessionFile(name, digest);
    if (f) rmSync(f, { force: true });
  }

  /** Where an upload session stands (its Location and the next byte), or null when the registry no longer knows it. */
  async #sessionStatus(location: string): Promise<{ location: string; next: number } | null> {
    const st = await this.#req('GET', location);
    await st.body.dump();
    if (st.statusCode !== 204) return null;
    // distribution-spec: Range "0-<last byte kept>"; "0-0" also stands for nothing kept, so
    // it is read as 0 (at worst one byte is sent again and refused, and the push starts over).
    const kept = /^0-(\d+)$/.exec(String(st.headers.range ?? ''));
    const last = kept ? Number(kept[1]) : 0;
    return { location: this.#abs(String(st.headers.location ?? location)), next: last > 0 ? last + 1 : 0 };
  }

  async #req(method: Method, p: string, opts: { headers?: Record<string, string>; body?: Buffer | Readable | AsyncIterable<Uint8Array>; signal?: AbortSignal; highWaterMark?: number } = {}): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const url = p.startsWith('http') ? p : `${this.url}${p}`;
    try {
      return await request(url, { method, headers, dispatcher: this.#dispatcher, ...(opts.body !== undefined ? { body: opts.body as Buffer } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.highWaterMark ? { highWaterMark: opts.highWaterMark } : {}) });
    } catch (err) {
      throw new RegistryError('UNAVAILABLE', `registry ${this.url}: ${method} ${p.split('?')[0]} failed: ${(err as Error).message}`);
    }
  }

  async #fail(res: Dispatcher.ResponseData, what: string): Promise<never> {
    return this.#failWith(res.statusCode, await res.body.text().catch(() => ''), what);
  }

  #failWith(status: number, text: string, what: string): never {
    let code: string | undefined;
    let message = text.slice(0, 300);
    try {
      const j = JSON.parse(text) as { errors?: { code: string; message: string }[] };
      code = j.errors?.[0]?.code;
      message = j.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') ?? message;
    } catch {
      // not a distribution-spec error body
    }
    const known = code as ConstructorParameters<typeof RegistryError>[0] | undefined;
    throw new RegistryError(known ?? (status === 404 ? 'MANIFEST_UNKNOWN' : status === 401 ? 'UNAUTHORIZED' : 'UNAVAILABLE'), `registry ${this.url}: ${what}: HTTP ${status}${message ? ` ${message}` : ''}`);
  }

  /** GET /v2/: is this an OCI registry that lets us in? */
  async ping(): Promise<void> {
    const res = await this.#req('GET', '/v2/');
    await res.body.dump();
    if (res.statusCode !== 200) throw new RegistryError('UNAVAILABLE', `registry ${this.url}: GET /v2/ answered ${res.statusCode}; is this an OCI registry?`);
  }

  async manifest(name: string, reference: string): Promise<{ bytes: Buffer; digest: string; mediaType: string }> {
    const res = await this.#req('GET', `/v2/${name}/manifests/${reference}`, { headers: { accept: ACCEPT } });
    if (res.statusCode !== 200) return this.#fail(res, `manifest ${name}:${reference}`);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const digest = sha256Digest(bytes);
    // distribution-spec "Pulling manifests": a client SHOULD verify the returned content.
    if (reference.startsWith('sha256:') && digest !== reference) throw new RegistryError('DIGEST_INVALID', `registry ${this.url}: manifest ${name}@${reference} arrived hashing to ${digest}: refused (tampered or corrupted)`);
    return { bytes, digest, mediaType: String(res.headers['content-type'] ?? OCI_MANIFEST).split(';')[0] as string };
  }

  async hasManifest(name: string, reference: string): Promise<string | null> {
    const res = await this.#req('HEAD', `/v2/${name}/manifests/${reference}`, { headers: { accept: ACCEPT } });
    await res.body.dump();
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw new RegistryError('UNAVAILABLE', `registry ${this.url}: HEAD manifest ${name}:${reference}: HTTP ${res.statusCode}`);
    return String(res.headers['docker-content-digest'] ?? '') || null;
  }

  async putManifest(name: string, reference: string, bytes: Buffer, mediaType = OCI_MANIFEST): Promise<{ digest: string; subjectHeader: string | null }> {
    const res = await this.#req('PUT', `/v2/${name}/manifests/${reference}`, { headers: { 'content-type': mediaType }, body: bytes });
    if (res.statusCode !== 201 && res.statusCode !== 200) return this.#fail(res, `PUT manifest ${name}:${reference}`);
    await res.body.dump();
    const subject = res.headers['oci-subject'];
    return { digest: sha256Digest(bytes), subjectHeader: typeof subject === 'string' ? subject : null };
  }

  async deleteManifest(name: string, reference: string): Promise<void> {
    const res = await this.#req('DELETE', `/v2/${name}/manifests/${reference}`);
    if (res.statusCode !== 202 && res.statusCode !== 200) return this.#fail(res, `DELETE manifest ${name}:${reference}`);
    await res.body.dump();
  }

  async tags(name: string): Promise<string[]> {
    const res = await this.#req('GET', `/v2/${name}/tags/list`);
    if (res.statusCode === 404) {
      await res.body.dump();
      return [];
    }
    if (res.statusCode !== 200) return this.#fail(res, `tags of ${name}`);
    return (((await res.body.json()) as { tags?: string[] | null }).tags ?? []).slice();
  }

  async blobSize(name: string, digest: string): Promise<number | null> {
    const res = await this.#req('HEAD', `/v2/${name}/blobs/${digest}`);
    await res.body.dump();
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw new RegistryError('UNAVAILABLE', `registry ${this.url}: HEAD blob ${digest}: HTTP ${res.statusCode}`);
    return Number(res.headers['content-length']);
  }

  async blobBytes(name: string, digest: string): Promise<Buffer> {
    const res = await this.#req('GET', `/v2/${name}/blobs/${digest}`);
    if (res.statusCode !== 200) return this.#fail(res, `blob ${digest}`);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    if (sha256Digest(bytes) !== digest) throw new RegistryError('DIGEST_INVALID', `registry ${this.url}: blob ${digest} of ${name} arrived hashing to ${sha256Digest(bytes)}: refused (tampered or corrupted)`);
    return bytes;
  }

  /**
   * The blob's bytes from `offset` on (a Range request past 0), streamed; the caller hashes
   * what it stores. Resuming after a cut connection is the caller's loop (see replicate).
   */
  async blobFrom(name: string, digest: string, offset: number, end?: number): Promise<Readable> {
    const ranged = offset > 0 || end !== undefined;
    // Large reads: a 1 MiB body buffer (undici's default 64 KiB costs a hop per 64 KiB).
    const res = await this.#req('GET', `/v2/${name}/blobs/${digest}`, { headers: ranged ? { range: `bytes=${offset}-${end ?? ''}` } : {}, highWaterMark: 1 << 20 });
    if (ranged && res.statusCode === 206) return res.body;
    if (!ranged && res.statusCode === 200) return res.body;
    if (offset > 0 && res.statusCode === 200) {
      // No range support: skip what we have.
      await res.body.dump();
      throw new RegistryError('UNSUPPORTED', `registry ${this.url} does not serve byte ranges; cannot resume blob ${digest}`);
    }
    return this.#fail(res, `blob ${digest}`);
  }

  /**
   * Writes the blob's bytes from `offset` on (of `size` in all) with `write`, in batches (the bytes of a batch are
   * the writer's until its promise resolves). After a cut, what arrived is written and the
   * promise rejects (UNAVAILABLE): the caller resumes from what it has (see replicate).
   */
  async blobInto(name: string, digest: string, offset: number, size: number, write: WriteBatch): Promise<void> {
    // Small blobs (configs, manifests' files) go through the pool: a connection of their own
    // would cost a TLS handshake each for a few bytes.
    if (!this.#connect || size - offset < OWN_CONNECTION_MIN) return drainInto(await this.blobFrom(name, digest, offset), write);
    const p = `/v2/${name}/blobs/${digest}`;
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const expect = offset > 0 ? 206 : 200;
    // A ranged answer must start where asked (RFC 9110 §14.4), else the bytes would land in the wrong place.
    const validate = (r: RawResponse): void => {
      if (offset > 0 && !new RegExp(`^bytes ${offset}-`).test(r.headers['content-range'] ?? '')) throw new RegistryError('UNAVAILABLE', `registry ${this.url}: blob ${digest}: asked from byte ${offset}, got Content-Range "${r.headers['content-range'] ?? ''}"`);
    };
    let res: RawResponse;
    try {
      res = await rawGet(this.#connect, { host: new URL(this.url).host, path: new URL(`${this.url}${p}`).pathname, headers, expect, validate }, write);
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw new RegistryError('UNAVAILABLE', `registry ${this.url}: GET ${p} failed: ${(err as Error).message}`);
    }
    if (res.status === expect) return;
    if (offset > 0 && res.status === 200) throw new RegistryError('UNSUPPORTED', `registry ${this.url} does not serve byte ranges; cannot resume blob ${digest}`);
    return this.#failWith(res.status, res.errorText, `blob ${digest}`);
  }

  /**
   * Pushes a blob (distribution-spec "Pushing a blob in chunks"): POST for a session, PATCH
   * chunks with Content-Range, PUT ?digest= to close. After a cut connection the session's
   * Range (GET on the upload URL) says where to continue. `read(start, end)` gives the bytes.
   */
  async pushBlob(name: string, digest: string, size: number, read: (start: number, end: number) => Promise<Readable | Buffer>, onBytes?: (n: number) => void): Promise<void> {
    if ((await this.blobSize(name, digest)) === size) {
      onBytes?.(size);
      return;
    }
    if (size <= MONOLITHIC_MAX) {
      // distribution-spec "Single POST": one request for a small blob.
      const res = await this.#req('POST', `/v2/${name}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: size === 0 ? Buffer.alloc(0) : await read(0, size - 1),
      });
      if (res.statusCode === 201) {
        await res.body.dump();
        onBytes?.(size);
        return;
      }
      // 202: the registry does not take single-POST uploads; it opened a session instead.
      if (res.statusCode !== 202) return this.#fail(res, `upload of ${digest}`);
      await res.body.dump();
    }
    let location = '';
    let offset = 0;
    const saved = this.#savedSession(name, digest, size);
    if (saved) {
      // An earlier run was cut off in this blob: continue from what the registry kept.
      const st = await this.#sessionStatus(saved).catch(() => null);
      if (st) {
        location = st.location;
        offset = st.next;
        if (offset > 0) {
          this.#onResume?.(digest, offset, size);
          onBytes?.(offset);
        }
      } else this.#dropSession(name, digest);
    }
    if (location === '') {
      const post = await this.#req('POST', `/v2/${name}/blobs/uploads/`, { headers: { 'content-length': '0' } });
      if (post.statusCode !== 202) return this.#fail(post, `start upload of ${digest}`);
      await post.body.dump();
      location = this.#abs(String(post.headers.location ?? ''));
      this.#saveSession(name, digest, size, location);
    }
    let failures = 0;
    try {
      while (offset < size) {
        const end = Math.min(size, offset + CHUNK) - 1;
        try {
          const res = await this.#req('PATCH', location, {
            headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${end}`, 'content-length': String(end - offset + 1) },
            body: await read(offset, end),
          });
          if (res.statusCode !== 202) return await this.#fail(res, `upload chunk ${offset}-${end} of ${digest}`);
          await res.body.dump();
          location = this.#abs(String(res.headers.location ?? location));
          onBytes?.(end - offset + 1);
          offset = end + 1;
        } catch (err) {
          if (!(err instanceof RegistryError) || err.code !== 'UNAVAILABLE' || ++failures > this.retries) throw err;
          // Cut connection: ask the registry how much it kept and continue from there.
          const st = await this.#sessionStatus(location);
          if (!st) throw err;
          onBytes?.(st.next - offset);
          offset = st.next;
          location = st.location;
        }
      }
      const sep = location.includes('?') ? '&' : '?';
      const put = await this.#req('PUT', `${location}${sep}digest=${encodeURIComponent(digest)}`, { headers: { 'content-length': '0' } });
      if (put.statusCode !== 201) return await this.#fail(put, `finish upload of ${digest}`);
      await put.body.dump();
    } catch (err) {
      // A cut (the registry still holds the session) is resumed by the next run; anything else
      // (refused, corrupted) starts over.
      if (!(err instanceof RegistryError && err.code === 'UNAVAILABLE')) this.#dropSession(name, digest);
      throw err;
    }
    this.#dropSession(name, digest);
  }

  #abs(location: string): string {
    if (location === '') throw new RegistryError('BLOB_UPLOAD_INVALID', `registry ${this.url} gave no upload Location`);
    return location.startsWith('http') ? location : `${this.url}${location.startsWith('/') ? '' : '/'}${location}`;
  }

  /**
   * Referrers of `digest` (distribution-spec "Listing Referrers"); registries without the API
   * (404) are read through the referrers tag schema: the index tagged "sha256-<hex>".
   */
  async referrers(name: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    const q = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const res = await this.#req('GET', `/v2/${name}/referrers/${digest}${q}`, { headers: { accept: OCI_INDEX } });
    let list: Descriptor[];
    if (res.statusCode === 200) {
      list = IndexSchema.parse(await res.body.json()).manifests;
    } else if (res.statusCode === 404) {
      await res.body.dump();
      list = (await this.#fallbackIndex(name, digest))?.manifests ?? [];
    } else return this.#fail(res, `referrers of ${digest}`);
    return artifactType ? list.filter((d) => d.artifactType === artifactType) : list;
  }

  async #fallbackIndex(name: string, digest: string): Promise<{ manifests: Descriptor[] } | null> {
    const tag = referrersTag(digest);
    const res = await this.#req('GET', `/v2/${name}/manifests/${tag}`, { headers: { accept: OCI_INDEX } });
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200) return this.#fail(res, `referrers tag ${tag}`);
    return IndexSchema.parse(await res.body.json());
  }

  /**
   * Pushes a manifest that has a subject; when the registry does not process subjects (no
   * OCI-Subject header in its answer), updates the referrers tag schema index as the spec asks.
   */
  async putReferrer(name: string, bytes: Buffer, descriptor: Descriptor, subjectDigest: string): Promise<void> {
    const { subjectHeader } = await this.putManifest(name, descriptor.digest, bytes);
    if (subjectHeader === subjectDigest) return;
    const current = (await this.#fallbackIndex(name, subjectDigest))?.manifests ?? [];
    if (current.some((d) => d.digest === descriptor.digest)) return;
    const idx = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...current, descriptor] };
    await this.putManifest(name, referrersTag(subjectDigest), Buffer.from(JSON.stringify(idx)), OCI_INDEX);
  }
}

/** distribution-spec "Referrers Tag Schema": <alg>-<ref>, the digest's ':' replaced by '-'. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-').slice(0, 128);
}
