// Who listens where, and who may call it: the one table the rendered NetworkPolicies,
// AuthorizationPolicies, Services and probes are all derived from, and the identities of
// Sovereign's workloads.
//
// Two names per workload. Sovereign's own SPIFFE IDs (spiffe://<trust domain>/region/<id>/cell,
// spiffe://<trust domain>/gateway/<replica>) name it in Sovereign's mutual TLS and in its
// ledger. Inside a Kubernetes cluster Istio issues the workload certificates, and Istio's
// identities have a fixed form, spiffe://<trust domain>/ns/<namespace>/sa/<service account>;
// so each Sovereign identity is given its own namespace and service account, one for one, and
// the AuthorizationPolicies name the Istio principal of that pair (istioPrincipal below).
import type { Topology } from '../config/index.ts';
import { CELL_ROUTES, spiffeId, type Caller as MeshCaller } from '../mesh/index.ts';

/** The trust domain of a topology (mesh.trustDomain). */
export function trustDomainOf(topology: Topology): string {
  return topology.data.mesh.trustDomain;
}

/** Sovereign's SPIFFE IDs, as the mesh issues them (one builder each, in src/mesh). */
export const cellSpiffeId = spiffeId.cell;
export const gatewaySpiffeId = spiffeId.gateway;

/** A workload as Kubernetes places it: namespace and service account (its Istio identity). */
export interface Workload {
  namespace: string;
  serviceAccount: string;
}

export const GATEWAY_NAMESPACE = 'sovereign-gateway';
export const regionNamespace = (region: string): string => `sovereign-${region}`;

export const WORKLOADS = {
  gateway: { namespace: GATEWAY_NAMESPACE, serviceAccount: 'gateway' },
  cell: (region: string): Workload => ({ namespace: regionNamespace(region), serviceAccount: 'cell' }),
  /** Istio's ingress gateway (the istio/gateway Helm chart's defaults, in its own namespace). */
  ingress: { namespace: 'istio-ingress', serviceAccount: 'istio-ingressgateway' },
  /** Prometheus (kube-prometheus defaults). */
  prometheus: { namespace: 'monitoring', serviceAccount: 'prometheus-k8s' },
} as const;

/** Istio's principal string (the SPIFFE ID without its scheme) of a workload. */
export function istioPrincipal(trustDomain: string, w: Workload): string {
  return `${trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

export const PORTS = { gateway: 8080, cell: 9100 } as const;

export type Caller = 'ingress' | 'gateway' | 'cells' | 'prometheus';

/** Requests a caller may make on a port (Istio path syntax: exact, "prefix*" or "*suffix"; {region} is the callee's region). */
export interface RouteGrant {
  callers: readonly Caller[];
  methods: readonly ('GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE')[];
  paths: readonly string[];
  what: string;
}

export interface Listener {
  component: 'gateway' | 'cell';
  port: number;
  portName: string;
  serves: string;
  /** Who may call this port; nobody else (NetworkPolicy and AuthorizationPolicy both say so). */
  callers: readonly Caller[];
  /** What each caller may ask there; anything else is refused. */
  routes: readonly RouteGrant[];
}

/** The decision data plane (ingress after ext_authz, nginx) sends the inference routes. */
const INFERENCE_ROUTE = /^\/(v1\/(chat\/completions|completions|embeddings)|v2\/models\/:model(\/infer)?)$/;

/** An Istio path for a Fastify route pattern: the callee's region named, other parameters matched as a prefix. */
function istioPath(url: string): string {
  const p = url.replace(':region', '{region}');
  const i = p.indexOf(':');
  return i < 0 ? p : `${p.slice(0, i)}*`;
}

const fromMesh = (c: MeshCaller): Caller[] => (c === 'gateway' ? ['gateway'] : c === 'cell-other-jurisdiction' ? ['cells'] : []);

/**
 * The cell's grants: the mesh's route table (src/mesh/exposure.ts), one grant per route, plus
 * the ingress on the inference routes (in a cluster the ingress forwards after the decision).
 */
const CELL_GRANTS: RouteGrant[] = CELL_ROUTES.map((r) => ({
  callers: [...r.allow.flatMap(fromMesh), ...(INFERENCE_ROUTE.test(r.url) ? (['ingress'] as const) : [])],
  methods: [r.method],
  paths: [istioPath(r.url)],
  what: r.what,
}));

/** Every port Sovereign listens on, its callers, and what each may ask. */
export const EXPOSURE: readonly Listener[] = [
  {
    component: 'gateway',
    port: PORTS.gateway,
    portName: 'http',
    serves: 'inference ingress, decision endpoint (/sovereign/ext-authz), admin API, ledger reads, /metrics',
    callers: ['ingress', 'prometheus'],
    routes: [
      { callers: ['ingress'], methods: ['GET', 'POST'], paths: ['*'], what: 'the public API and the ingress gateway\'s ext_authz checks' },
      { callers: ['prometheus'], methods: ['GET'], paths: ['/metrics'], what: 'metrics' },
    ],
  },
  {
    component: 'cell',
    port: PORTS.cell,
    portName: 'http',
    serves: 'inference routed by the decision, ledger append (gateway) and reads, witness (cells of other jurisdictions), /v2/health',
    callers: ['gateway', 'ingress', 'cells'],
    routes: CELL_GRANTS,
  },
];

/** The workloads behind a caller, for a topology. */
export function callerWorkloads(caller: Caller, topology: Topology): Workload[] {
  switch (caller) {
    case 'ingress':
      return [WORKLOADS.ingress];
    case 'gateway':
      return [WORKLOADS.gateway];
    case 'prometheus':
      return [WORKLOADS.prometheus];
    case 'cells':
      return topology.regions.map((r) => WORKLOADS.cell(r.id));
  }
}
