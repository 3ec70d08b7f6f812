// The one place where registry traffic gets its transport: the server every embedded registry
// (golden, regional) listens with, and the dispatcher every registry client connects with.
//
// Under mesh.mode mtls (the default) both embedded registries are on the mesh: each has its own
// X.509-SVID, takes only peers with an SVID of the trust domain, and authorizes every request by
// the caller's SPIFFE ID against the exposure table (src/mesh/exposure.ts, deny by default); the
// registry token is not used. Clients present their process's SVID and expect the registry's
// SPIFFE ID (SPIFFE X509-SVID §5.2: the peer is named by its ID, not by a host name).
//
// Identities:
//   spiffe://<td>/region/<region>/registry  a region's registry, signed by the region's CA: it is
//       part of the region (cutting the region off by revoking its CA cuts off its registry too).
//   spiffe://<td>/golden/registry           golden, signed by the control-plane CA: golden belongs
//       to no region. Signed by the CA of the region hosting it, that region's CA could stand in
//       for the source of every region's models, and revoking that one region would cut every
//       region off its releases.
//   spiffe://<td>/operator/<name>           the `sovereign model ...` CLI, signed by the
//       control-plane CA at each invocation (in memory, 15 minutes, recorded like any issuance).
//
// Under plaintext (benchmarks and development) registries speak plain HTTP, and writes and
// orders need the registry token, as before the mesh. A real OCI registry (`registry.url` with
// kind external) is not on the mesh: it is reached over its own http(s), with a bearer token from
// the variable named by registry.tokenEnv when it needs one.
import { userInfo } from 'node:os';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import { Agent, type Dispatcher } from 'undici';
import type { RawConnect } from './blob-get.ts';
import { createHttpServer, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { GOLDEN_REGISTRY_ROUTES, Mesh, REGION_REGISTRY_ROUTES, authorizeByIdentity, spiffeId } from '../mesh/index.ts';

export type RegistryRole = { kind: 'golden' } | { kind: 'region'; region: string };

/** Lifetime of an operator's SVID: one CLI run (a 1 GiB push renews it at half-life). */
export const OPERATOR_SVID_TTL_SECONDS = 15 * 60;

/** The scheme embedded registries are served with. */
export function registryScheme(t: Topology): 'https' | 'http' {
  return t.data.mesh.mode === 'mtls' ? 'https' : 'http';
}

/** The SPIFFE ID of an embedded registry. */
export function registryId(t: Topology, role: RegistryRole): string {
  const td = t.data.mesh.trustDomain;
  return role.kind === 'golden' ? spiffeId.golden(td) : spiffeId.regionRegistry(td, role.region);
}

/** A registry's place in the mesh: its SVID (with `host` as an IP/DNS SAN, for skopeo and curl), renewed. */
export function openRegistryMesh(t: Topology, role: RegistryRole, logger: Logger, host: string): Promise<Mesh> {
  return Mesh.open(t, registryId(t, role), logger, { hosts: [host] });
}

/**
 * An operator's identity for one CLI run: spiffe://<td>/operator/<name> (name: --as, else
 * SOVEREIGN_OPERATOR, else the login name), issued by the control-plane CA in memory.
 */
export function openOperatorMesh(t: Topology, logger: Logger, name?: string): Promise<Mesh> {
  const raw = name ?? process.env.SOVEREIGN_OPERATOR ?? safeUser();
  const clean = raw.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.]+/, '') || 'operator';
  return Mesh.open(t, spiffeId.operator(t.data.mesh.trustDomain, clean), logger, { ttlSeconds: OPERATOR_SVID_TTL_SECONDS, by: 'operator-cli' });
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'operator';
  }
}

/** A registry's HTTP(S) server (body limit for JSON admin bodies; blobs are streamed, not limited). */
export function registryHttpServer(logger: Logger, mesh: Mesh, role: RegistryRole): FastifyInstance {
  const app = createHttpServer({ bodyLimit: 4 * 1024 * 1024, logger, https: mesh.serverTls() });
  if (mesh.mode === 'mtls') {
    mesh.guardServer(app.server as HttpsServer);
    const where = role.kind === 'golden' ? 'the golden registry' : `the registry of ${role.region}`;
    authorizeByIdentity(app, mesh, role.kind === 'region' ? role.region : '', logger, role.kind === 'golden' ? GOLDEN_REGISTRY_ROUTES : REGION_REGISTRY_ROUTES, where);
  }
  return app;
}

// Long bodies (1 GiB blobs) flow in chunks; a stall of two minutes between chunks is a cut.
const TIMEOUTS = { bodyTimeout: 120_000, headersTimeout: 60_000, keepAliveTimeout: 30_000 };
/**
 * Registry clients prefer AES-128-GCM (TLS 1.3, RFC 8446 §9.1's mandatory suite): on bulk
 * transfers of model weights it costs noticeably less CPU per byte than the default first
 * choice, AES-256-GCM, with the same AEAD construction. The server takes the client's order.
 */
const REGISTRY_CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
let plain: Agent | undefined;
const pools = new WeakMap<Mesh, Map<string, Dispatcher>>();

/**
 * The dispatcher for requests to `url`: a pooled mTLS client expecting `expectId` when the
 * registry is on the mesh (an https URL, mesh mode mtls), else plain HTTP(S) (an external
 * registry, or plaintext mode).
 */
export function registryDispatcher(mesh?: Mesh, url?: string, expectId?: string): Dispatcher {
  if (mesh && mesh.mode === 'mtls' && url && expectId && new URL(url).protocol === 'https:') {
    let m = pools.get(mesh);
    if (!m) pools.set(mesh, (m = new Map<string, Dispatcher>()));
    const origin = new URL(url).origin;
    const key = `${origin} ${expectId}`;
    let p = m.get(key);
    if (!p) m.set(key, (p = mesh.pool(origin, expectId, { connections: 8, ciphers: REGISTRY_CIPHERS, ...TIMEOUTS })));
    return p;
  }
  plain ??= new Agent({ connections: 8, ...TIMEOUTS });
  return plain;
}

/**
 * A connection of its own to an embedded registry at `url`, for bulk blob downloads that read
 * the socket directly (blob-get.ts): the mesh's identity check, session resumption and
 * revocation tracking as for the dispatcher's connections (mtls), plain TCP in plaintext mode.
 */
export function registryConnect(mesh: Mesh, url: string, expectId: string): RawConnect | undefined {
  const u = new URL(url);
  if (u.protocol !== (mesh.mode === 'mtls' ? 'https:' : 'http:')) return undefined;
  return (onread) => mesh.connect(u.origin, expectId, { ciphers: REGISTRY_CIPHERS, timeout: 30_000, onread });
}

/** Closes the mTLS pools a mesh identity opened to registries (so a CLI run can end). */
export async function closeRegistryClients(mesh: Mesh): Promise<void> {
  const m = pools.get(mesh);
  pools.delete(mesh);
  await Promise.all([...(m?.values() ?? [])].map((p) => p.close()));
}
