// Network exposure: which component listens where, over what, and which identities may call
// each endpoint. One table, read by the cells' authorization hook and by whatever renders
// network policies (Kubernetes NetworkPolicies, Istio AuthorizationPolicies) for a deployment.
import type { Topology } from '../config/index.ts';
import { spiffeId, workloadOf, type ParsedSpiffeId } from './spiffe-id.ts';

/**
 * Who may call: any gateway replica; any cell; a cell of a region in another jurisdiction than
 * the callee's (witness cosigning, learning keys); the cell of the callee's own region (a cell
 * reads its own region's registry only); any region's model registry (replicating from golden);
 * the golden registry (its first-start publication and promotion of the shipped model); an
 * operator through the CLI (publisher of releases, promotions, activations); anyone (public
 * ingress, no identity).
 */
export type Caller = 'gateway' | 'cell' | 'cell-other-jurisdiction' | 'cell-same-region' | 'registry' | 'golden' | 'operator' | 'anyone';

export interface RouteRule {
  /** HEAD is authorized as GET. */
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify route pattern. */
  url: string;
  allow: readonly Caller[];
  what: string;
  /** The route takes the request's decision record with it (RECORD_HEADER, one hop): recorded in the cell's log before the request is processed. */
  records?: true;
}

export interface ExposureRow {
  component: 'gateway' | 'cell' | 'postgres' | 'golden-registry' | 'region-registry';
  /** The topology key that sets the listening address. */
  port: string;
  /**
   * postgres-tls: PostgreSQL over TLS, each caller presenting its SVID as client certificate and
   * verifying the server, when the connection string (sslmode) or mesh.postgres.sslmode asks for
   * it (src/mesh/pg-tls.ts); the server's pg_hba.conf enforces it with `hostssl ... clientcert=verify-ca`.
   */
  protocol: 'http' | 'https-mtls' | 'postgres-tls';
  /** Where it listens in the single-machine default. */
  bind: string;
  callers: readonly Caller[];
  routes: readonly RouteRule[];
}

const G: readonly Caller[] = ['gateway'];

/**
 * Who may send a request that carries a decision record (x-sovereign-record) to a cell, on any
 * route: gateway identities only, whatever else the route allows. A record is a decision of
 * the law, and only a gateway takes those.
 */
export const RECORD_CALLERS: readonly Caller[] = G;

/** Every endpoint of a cell and who may call it; an endpoint not listed here answers 403. */
export const CELL_ROUTES: readonly RouteRule[] = [
  { method: 'GET', url: '/v2/health/live', allow: G, what: 'liveness' },
  { method: 'GET', url: '/v2/health/ready', allow: G, what: 'readiness probe' },
  { method: 'GET', url: '/v2', allow: G, what: 'server metadata' },
  { method: 'GET', url: '/v2/models/:model', allow: G, what: 'model metadata', records: true },
  { method: 'GET', url: '/v2/models/:model/ready', allow: G, what: 'model readiness' },
  { method: 'POST', url: '/v2/models/:model/infer', allow: G, what: 'inference (Open Inference Protocol V2)', records: true },
  { method: 'GET', url: '/v1/models', allow: G, what: 'model list' },
  { method: 'POST', url: '/v1/chat/completions', allow: G, what: 'inference (OpenAI chat)', records: true },
  { method: 'POST', url: '/v1/completions', allow: G, what: 'inference (OpenAI completions)', records: true },
  { method: 'POST', url: '/v1/embeddings', allow: G, what: 'inference (OpenAI embeddings)', records: true },
  { method: 'POST', url: '/v1/responses', allow: G, what: 'inference (OpenAI Responses API)', records: true },
  { method: 'POST', url: '/sovereign/ledger/append', allow: G, what: 'ledger append' },
  { method: 'GET', url: '/sovereign/ledger/:region/key', allow: ['gateway', 'cell-other-jurisdiction'], what: 'ledger and witness public keys' },
  { method: 'GET', url: '/sovereign/ledger/:region/proof/:index', allow: G, what: 'ledger receipt' },
  { method: 'GET', url: '/sovereign/ledger/:region/entries', allow: G, what: 'ledger entries' },
  { method: 'GET', url: '/sovereign/ledger/:region/checkpoint-at/:size', allow: G, what: 'archived checkpoints, for compliance reports (public through the gateway)' },
  { method: 'GET', url: '/sovereign/ledger/:region/*', allow: G, what: 'ledger tiles and checkpoint (public through the gateway)' },
  { method: 'POST', url: '/sovereign/witness/add-checkpoint', allow: ['cell-other-jurisdiction'], what: 'witness cosigning (C2SP tlog-witness)' },
  { method: 'GET', url: '/sovereign/store/status', allow: G, what: 'region store status' },
  { method: 'POST', url: '/sovereign/store/export', allow: G, what: "a data subject's records (export)" },
  { method: 'POST', url: '/sovereign/store/erase', allow: G, what: "a data subject's erasure" },
  { method: 'GET', url: '/metrics', allow: G, what: 'cell metrics (Prometheus)' },
  { method: 'POST', url: '/sovereign/registry/transfer', allow: ['cell'], what: "a model transfer out of golden, handed in by the destination region's cell for the ledger of golden's region" },
];

/**
 * The golden registry (distribution-spec v1.1 endpoints under /v2): regions' registries read it
 * (one-way replication), the publisher writes it (an operator's `sovereign model push`, or golden
 * itself publishing the shipped model at first start); regions never write it.
 */
export const GOLDEN_REGISTRY_ROUTES: readonly RouteRule[] = [
  { method: 'GET', url: '/v2', allow: ['registry', 'operator', 'golden'], what: 'distribution API version check' },
  { method: 'GET', url: '/v2/*', allow: ['registry', 'operator', 'golden'], what: 'pull: manifests, blobs (ranged), tags, referrers, upload status' },
  { method: 'POST', url: '/v2/*', allow: ['operator', 'golden'], what: 'push: start a blob upload (or mount)' },
  { method: 'PATCH', url: '/v2/*', allow: ['operator', 'golden'], what: 'push: a chunk of a blob upload' },
  { method: 'PUT', url: '/v2/*', allow: ['operator', 'golden'], what: 'push: close a blob upload, put a manifest or tag' },
  { method: 'DELETE', url: '/v2/*', allow: ['operator', 'golden'], what: 'delete a manifest or cancel an upload' },
  { method: 'GET', url: '/sovereign/golden/ready', allow: ['operator', 'golden', 'registry'], what: 'readiness (the shipped model is published)' },
];

/**
 * A region's registry, served by the region's cell process: only that region's cell reads it
 * (and an operator, for `skopeo inspect` and `model list`); nobody writes it over the network (a
 * release arrives only by the region's own pull from golden); operators give orders, golden
 * orders the first-start pull of the shipped model.
 */
export const REGION_REGISTRY_ROUTES: readonly RouteRule[] = [
  { method: 'GET', url: '/v2', allow: ['cell-same-region', 'operator'], what: 'distribution API version check' },
  { method: 'GET', url: '/v2/*', allow: ['cell-same-region', 'operator'], what: 'pull: manifests, blobs (ranged), tags, referrers' },
  { method: 'GET', url: '/sovereign/registry/status', allow: ['operator', 'golden'], what: 'what the region holds and serves' },
  { method: 'POST', url: '/sovereign/registry/pull', allow: ['operator', 'golden'], what: 'order: pull a release from golden (the region asks the promotion policies itself)' },
  { method: 'POST', url: '/sovereign/registry/activate', allow: ['operator'], what: 'order: switch the cell to a release' },
  { method: 'DELETE', url: '/sovereign/registry/models/:name/:version', allow: ['operator'], what: 'order: delete a release (recorded), collect its blobs' },
];

export const EXPOSURE: readonly ExposureRow[] = [
  { component: 'gateway', port: 'gateway.host, gateway.port', protocol: 'http', bind: '127.0.0.1:8080', callers: ['anyone'], routes: [] },
  { component: 'cell', port: 'regions[].url', protocol: 'https-mtls', bind: '127.0.0.1 (loopback only)', callers: ['gateway', 'cell-other-jurisdiction'], routes: CELL_ROUTES },
  // Gateways: the region state and the shared revocation list; cells: their ledger, their store and the shared revocation list.
  { component: 'postgres', port: 'state.postgresUrlEnv, ledger.postgresUrlEnv, store.postgresUrlEnv', protocol: 'postgres-tls', bind: 'as the server is configured', callers: ['gateway', 'cell'], routes: [] },
  { component: 'golden-registry', port: 'registry.golden.url (unset: a free port, announced in <dataDir>/golden/endpoint)', protocol: 'https-mtls', bind: '127.0.0.1 (loopback only)', callers: ['registry', 'operator', 'golden'], routes: GOLDEN_REGISTRY_ROUTES },
  { component: 'region-registry', port: 'regions[].registry.url (unset: a free port, announced in <region data>/registry/endpoint)', protocol: 'https-mtls', bind: '127.0.0.1 (loopback only)', callers: ['cell-same-region', 'operator', 'golden'], routes: REGION_REGISTRY_ROUTES },
];

/** Does the caller `p` fit `c` for a callee in `selfRegion` (undefined: the gateway)? */
export function callerMatches(c: Caller, p: ParsedSpiffeId | null, t: Topology, selfRegion?: string): boolean {
  if (c === 'anyone') return true;
  if (!p) return false;
  const w = workloadOf(p);
  if (c === 'gateway') return w.kind === 'gateway';
  if (c === 'registry') return w.kind === 'registry' && t.region(w.region) !== undefined;
  if (c === 'golden') return w.kind === 'golden';
  if (c === 'operator') return w.kind === 'operator';
  if (w.kind !== 'cell') return false;
  if (c === 'cell') return true;
  if (c === 'cell-same-region') return selfRegion !== undefined && w.region === selfRegion;
  const mine = selfRegion ? t.region(selfRegion)?.jurisdiction : undefined;
  const theirs = t.region(w.region)?.jurisdiction;
  return theirs !== undefined && mine !== undefined && theirs !== mine;
}

/** The SPIFFE IDs (or ID patterns, "*" for any segment) a caller class stands for, for rendering policies. */
export function allowedIds(c: Caller, t: Topology, selfRegion?: string): string[] {
  const td = t.data.mesh.trustDomain;
  if (c === 'anyone') return ['*'];
  if (c === 'gateway') return [spiffeId.gateway(td, '*')];
  if (c === 'cell') return t.regions.map((r) => spiffeId.cell(td, r.id));
  if (c === 'cell-same-region') return selfRegion ? [spiffeId.cell(td, selfRegion)] : [];
  if (c === 'registry') return t.regions.map((r) => spiffeId.regionRegistry(td, r.id));
  if (c === 'golden') return [spiffeId.golden(td)];
  if (c === 'operator') return [spiffeId.operator(td, '*')];
  const mine = selfRegion ? t.region(selfRegion)?.jurisdiction : undefined;
  return t.regions.filter((r) => r.jurisdiction !== mine).map((r) => spiffeId.cell(td, r.id));
}
