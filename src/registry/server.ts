// The OCI distribution API (distribution-spec v1.1, spec.md "Endpoints") over a LayoutStore:
// what Sovereign and stock clients (skopeo, oras, docker) use — blobs (HEAD/GET with ranges,
// monolithic and chunked uploads, mounts), manifests (HEAD/GET/PUT/DELETE by tag or digest),
// tags/list, referrers. On the mesh (mtls) every request was already authorized by the caller's
// SPIFFE ID (transport.ts, the exposure table); in plaintext mode writes need the registry's
// write token. A regional registry is read-only over HTTP either way (it is written only by its
// own replication from golden).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OCI_INDEX } from './media-types.ts';
import { HttpError, bearer, readUpTo, tokenMatches } from '../common/index.ts';
import { isDigest } from './digest.ts';
import { RegistryError } from './errors.ts';
import type { LayoutStore } from './layout.ts';
import { checkName } from './names.ts';
import { sendFileRange } from './send-file.ts';

/** distribution-spec: manifests up to at least 4 MiB must be accepted. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface DistributionOptions {
  store: LayoutStore;
  /** Bearer token that authorizes writes (plaintext mode); undefined: read-only unless `identity`. */
  writeToken?: string;
  /**
   * Callers were authorized by identity before the request got here (mTLS and the exposure
   * table): writes need no token, and stock clients are not sent to a token realm.
   */
  identity?: boolean;
  /** Why writes are refused when read-only (names the registry). */
  readOnlyReason?: string;
  /** Called after a manifest is stored or deleted (for logs and the caller's bookkeeping). */
  onChange?: (event: { kind: 'manifest-put' | 'manifest-delete'; name: string; reference: string; digest: string }) => void;
}

type Route =
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

/** Parses /v2/<name>/<endpoint>; <name> may have several components (spec: "Pulling manifests"). */
function route(url: string): Route | null {
  const p = url.split('?')[0] as string;
  const m = /^\/v2\/(.+?)\/(blobs\/uploads\/?([^/]*)|blobs\/([^/]+)|manifests\/([^/]+)|tags\/list|referrers\/([^/]+))$/.exec(p);
  if (!m) return null;
  const name = checkName(decodeURIComponent(m[1] as string));
  const [, , what, uploadId, blob, ref, refOf] = m;
  if (what?.startsWith('blobs/uploads')) return uploadId ? { kind: 'upload', name, id: uploadId } : { kind: 'uploads', name };
  if (blob !== undefined) return { kind: 'blob', name, digest: blob };
  if (ref !== undefined) return { kind: 'manifest', name, reference: decodeURIComponent(ref) };
  if (refOf !== undefined) return { kind: 'referrers', name, digest: refOf };
  return { kind: 'tags', name };
}

function need(r: Route | null, url: string): Route {
  if (!r) throw new RegistryError('NAME_UNKNOWN', `no distribution API endpoint at ${url.split('?')[0]}`);
  return r;
}

async function readAll(req: FastifyRequest, limit: number): Promise<Buffer> {
  const body = await readUpTo(req.raw, limit);
  if (body === null) throw new RegistryError('SIZE_INVALID', `the manifest is larger than ${limit} bytes`);
  return body;
}

function parseRange(h: string | undefined, size: number): { start: number; end: number } | null {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw new RegistryError('RANGE_INVALID', `Range "${h}" is not a single byte range`);
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw new RegistryError('RANGE_INVALID', `Range "${h}" is outside the blob's ${size} bytes`);
  return { start, end };
}

/** Where stock clients get a bearer token (docker token authentication, the realm of the challenge). */
const TOKEN_PATH = '/sovereign/registry/token';

/** Registers the distribution API on `app` (an encapsulated context: its own body handling). */
export function registerDistribution(app: FastifyInstance, opts: DistributionOptions): void {
  // The realm: with Basic credentials whose password is the registry token, that token (writes);
  // otherwise an anonymous one (reads are open; writes refused).
  if (!opts.identity) app.get(TOKEN_PATH, async (req) => {
    const h = req.headers.authorization ?? '';
    const basic = /^basic\s+(.+)$/i.exec(h);
    const password = basic ? Buffer.from(basic[1] as string, 'base64').toString('utf8').split(':').slice(1).join(':') : '';
    const token = opts.writeToken !== undefined && password !== '' && tokenMatches(password, opts.writeToken) ? opts.writeToken : 'anonymous';
    return { token, access_token: token, expires_in: 3600 };
  });
  void app.register(
    async (api: FastifyInstance) => {
      const { store } = opts;
      // Blob bodies are streamed to disk, never buffered: the handlers read request.raw.
      api.removeAllContentTypeParsers();
      api.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

      api.setErrorHandler((err, _req, reply) => {
        // A refusal by identity (the exposure table) in the distribution-spec error shape.
        const refused = err instanceof HttpError && err.statusCode === 403;
        const e = err instanceof RegistryError ? err : refused ? new RegistryError('DENIED', err.message) : new RegistryError('UNAVAILABLE', (err as Error).message);
        if (!(err instanceof RegistryError) && !refused) api.log.error({ err }, 'registry request failed');
        if (reply.raw.headersSent) return;
        void reply.code(e.status).type('application/json').send(e.body());
      });
      api.setNotFoundHandler((req, reply) => {
        void reply.code(404).send(new RegistryError('NAME_UNKNOWN', `no distribution API endpoint at ${req.method} ${req.url.split('?')[0]}`).body());
      });

      api.addHook('onRequest', async (req, reply) => {
        void reply.header('docker-distribution-api-version', 'registry/2.0');
        if (req.method === 'GET' || req.method === 'HEAD') return;
        if (opts.identity && opts.writeToken === undefined && opts.readOnlyReason === undefined) return;
        if (opts.writeToken === undefined) throw new RegistryError('DENIED', opts.readOnlyReason ?? 'this registry is read-only');
        if (!tokenMatches(bearer(req.headers.authorization), opts.writeToken)) {
          void reply.header('www-authenticate', 'Bearer realm="sovereign"');
          throw new RegistryError('UNAUTHORIZED', 'writes need "Authorization: Bearer <registry token>" (the token in <dataDir>/registry-token or SOVEREIGN_REGISTRY_TOKEN)');
        }
      });

      // end-1: API version check. Stock clients (containers/image, docker) decide here whether
      // to authenticate at all: without credentials they get the Bearer challenge (distribution
      // "token authentication"), fetch a token from the realm, and send it from then on.
      api.get('/', { exposeHeadRoute: true }, async (req, reply) => {
        if (req.headers.authorization === undefined && !opts.identity) {
          const realm = `${req.protocol}://${req.headers.host ?? req.hostname}${TOKEN_PATH}`;
          void reply.header('www-authenticate', `Bearer realm="${realm}",service="sovereign"`);
          return reply.code(401).send(new RegistryError('UNAUTHORIZED', 'authenticate with the token from the realm (anonymous: read-only)').body());
        }
        return {};
      });

      const headOrGet = async (req: FastifyRequest, reply: FastifyReply, head: boolean): Promise<unknown> => {
        const r = need(route(req.url), req.url);
        if (r.kind === 'blob') {
          const size = store.blobSize(r.name, r.digest);
          if (size === null) throw new RegistryError('BLOB_UNKNOWN', `blob ${r.digest.slice(0, 80)} is not in ${r.name}`);
          void reply.header('docker-content-digest', r.digest).header('accept-ranges', 'bytes').type('application/octet-stream');
          const range = head ? null : parseRange(req.headers.range, size);
          if (head) return reply.header('content-length', size).send();
          if (range) {
            void reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1);
            return sendFileRange(reply, store.blobPath(r.name, r.digest), range.start, range.end);
          }
          void reply.header('content-length', size);
          return sendFileRange(reply, store.blobPath(r.name, r.digest), 0, size - 1);
        }
        if (r.kind === 'manifest') {
          const { descriptor, bytes } = store.manifest(r.name, r.reference);
          void reply.type(descriptor.mediaType).header('docker-content-digest', descriptor.digest).header('content-length', bytes.length);
          return head ? reply.send() : reply.send(bytes);
        }
        if (head) throw new RegistryError('UNSUPPORTED', `HEAD is not defined for ${req.url.split('?')[0]}`);
        if (r.kind === 'tags') {
          if (!store.repositories().includes(r.name)) throw new RegistryError('NAME_UNKNOWN', `repository ${r.name} is not in this registry`);
          const q = req.query as { n?: string; last?: string };
          let tags = store.tags(r.name);
          if (q.last) tags = tags.filter((t) => t > (q.last as string));
          if (q.n !== undefined) {
            const n = Number(q.n);
            if (tags.length > n) void reply.header('link', `</v2/${r.name}/tags/list?n=${n}&last=${encodeURIComponent(tags[n - 1] as string)}>; rel="next"`);
            tags = tags.slice(0, n);
          }
          return { name: r.name, tags };
        }
        if (r.kind === 'referrers') {
          if (!isDigest(r.digest)) throw new RegistryError('DIGEST_INVALID', `referrers: "${r.digest.slice(0, 80)}" is not a digest`);
          const type = (req.query as { artifactType?: string }).artifactType;
          if (type) void reply.header('oci-filters-applied', 'artifactType');
          const manifests = store.repositories().includes(r.name) ? store.referrers(r.name, r.digest, type) : [];
          return reply.type(OCI_INDEX).send({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
        }
        if (r.kind === 'upload') {
          const u = store.upload(r.name, r.id);
          return reply.code(204).header('location', `/v2/${r.name}/blobs/uploads/${u.id}`).header('range', `0-${Math.max(0, u.offset - 1)}`).header('docker-upload-uuid', u.id).send();
        }
        throw new RegistryError('UNSUPPORTED', `GET is not defined for ${req.url.split('?')[0]}`);
      };
      api.head('/*', async (req, reply) => headOrGet(req, reply, true));
      api.get('/*', { exposeHeadRoute: false }, async (req, reply) => headOrGet(req, reply, false));

      // Pushing blobs: POST (session, monolithic, mount), PATCH (chunk), PUT (close), DELETE (cancel).
      api.post('/*', async (req, reply) => {
        const r = need(route(req.url), req.url);
        if (r.kind !== 'uploads') throw new RegistryError('UNSUPPORTED', `POST is not defined for ${req.url.split('?')[0]}`);
        const q = req.query as { digest?: string; mount?: string; from?: string };
        if (q.mount && q.from) {
          const from = checkName(q.from);
          if (store.repositories().includes(from) && store.blobSize(from, q.mount) !== null) {
            await store.putBlobBytes(r.name, store.readBlob(from, q.mount), q.mount);
            return reply.code(201).header('location', `/v2/${r.name}/blobs/${q.mount}`).header('docker-content-digest', q.mount).send();
          }
        }
        const u = store.startUpload(r.name);
        if (q.digest) {
          await u.append(req.raw);
          await store.finishUpload(r.name, u.id, q.digest);
          return reply.code(201).header('location', `/v2/${r.name}/blobs/${q.digest}`).header('docker-content-digest', q.digest).send();
        }
        return reply.code(202).header('location', `/v2/${r.name}/blobs/uploads/${u.id}`).header('range', '0-0').header('docker-upload-uuid', u.id).send();
      });

      api.patch('/*', async (req, reply) => {
        const r = need(route(req.url), req.url);
        if (r.kind !== 'upload') throw new RegistryError('UNSUPPORTED', `PATCH is not defined for ${req.url.split('?')[0]}`);
        const u = store.upload(r.name, r.id);
        const cr = req.headers['content-range'];
        if (cr !== undefined) {
          const m = /^(\d+)-(\d+)$/.exec(cr);
          if (!m || Number(m[1]) !== u.offset) {
            return reply.code(416).header('location', `/v2/${r.name}/blobs/uploads/${u.id}`).header('range', `0-${Math.max(0, u.offset - 1)}`).send(new RegistryError('BLOB_UPLOAD_INVALID', `chunk ${cr} does not start at ${u.offset}, where the upload stands`).body());
          }
        }
        await u.append(req.raw);
        return reply.code(202).header('location', `/v2/${r.name}/blobs/uploads/${u.id}`).header('range', `0-${Math.max(0, u.offset - 1)}`).header('docker-upload-uuid', u.id).send();
      });

      api.put('/*', async (req, reply) => {
        const r = need(route(req.url), req.url);
        if (r.kind === 'upload') {
          const digest = (req.query as { digest?: string }).digest;
          if (!digest) throw new RegistryError('DIGEST_INVALID', 'closing an upload needs ?digest=<digest>');
          const u = store.upload(r.name, r.id);
          await u.append(req.raw);
          await store.finishUpload(r.name, r.id, digest);
          return reply.code(201).header('location', `/v2/${r.name}/blobs/${digest}`).header('docker-content-digest', digest).send();
        }
        if (r.kind !== 'manifest') throw new RegistryError('UNSUPPORTED', `PUT is not defined for ${req.url.split('?')[0]}`);
        const bytes = await readAll(req, MAX_MANIFEST_BYTES);
        const type = String(req.headers['content-type'] ?? '').split(';')[0];
        if (type === OCI_INDEX) throw new RegistryError('UNSUPPORTED', 'image indexes are not stored by this registry; push the model manifest itself');
        const { digest, manifest } = await store.putManifest(r.name, bytes, r.reference);
        opts.onChange?.({ kind: 'manifest-put', name: r.name, reference: r.reference, digest });
        void reply.code(201).header('location', `/v2/${r.name}/manifests/${digest}`).header('docker-content-digest', digest);
        if (manifest.subject) void reply.header('oci-subject', manifest.subject.digest);
        return reply.send();
      });

      api.delete('/*', async (req, reply) => {
        const r = need(route(req.url), req.url);
        if (r.kind === 'upload') {
          await store.cancelUpload(r.name, r.id);
          return reply.code(204).send();
        }
        if (r.kind === 'manifest') {
          const removed = await store.deleteManifest(r.name, r.reference);
          for (const d of removed) opts.onChange?.({ kind: 'manifest-delete', name: r.name, reference: r.reference, digest: d });
          return reply.code(202).send();
        }
        throw new RegistryError('UNSUPPORTED', `DELETE of ${r.kind} is not supported; delete the manifest and let garbage collection remove unreferenced blobs`);
      });
    },
    { prefix: '/v2' },
  );
}
