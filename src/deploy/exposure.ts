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
import { CELL_ROUTES, GOLDEN_REGISTRY_ROUTES, REGION_REGISTRY_ROUTES, spiffeId, type Caller as MeshCaller, type RouteRule } from '../mesh/index.ts';

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
/** The golden model registry (releases are published here and flow one way to the regions). */
export const GOLDEN_NAMESPACE = 'sovereign-golden';
/** Where operators run `sovereign model …` in a cluster (a pod with the operator service account). */
export const OPERATOR_NAMESPACE = 'sovereign-operator';
export const regionNamespace = (region: string): string => `sovereign-${region}`;

export const WORKLOADS = {
  gateway: { namespace: GATEWAY_NAMESPACE, serviceAccount: 'gateway' },
  cell: (region: string): Workload => ({ namespace: regionNamespace(region), serviceAccount: 'cell' }),
  golden: { namespace: GOLDEN_NAMESPACE, serviceAccount: 'golden' },
  operator: { namespace: OPERATOR_NAMESPACE, serviceAccount: 'operator' },
  /** Istio's ingress gateway (the istio/gateway Helm chart's defaults, in its own namespace). */
  ingress: { namespace: 'istio-ingress', serviceAccount: 'istio-ingressgateway' },
  /** Prometheus (kube-prometheus defaults). */
  prometheus: { namespace: 'monitoring', serviceAccount: 'prometheus-k8s' },
} as const;

/** Istio's principal string (the SPIFFE ID without its scheme) of a workload. */
export function istioPrincipal(trustDomain: string, w: Workload): string {
  return `${trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/** registry: a region's model registry, served by its cell's process (regions[].registry.url); golden: the golden registry. */
export const PORTS = { gateway: 8080, cell: 9100, registry: 9200, golden: 9300 } as const;

/**
 * cells: the cells of regions in other jurisdictions than the callee's (witnessing); all-cells:
 * every region's cell (a region's registry runs in its cell's process, so pulls from golden and
 * transfer records come from cells); own-cell: the callee region's own cell.
 */
export type Caller = 'ingress' | 'gateway' | 'cells' | 'all-cells' | 'own-cell' | 'golden' | 'operator' | 'prometheus';

/** Requests a caller may make on a port (Istio path syntax: exact, "prefix*" or "*suffix"; {region} is the callee's region). */
export interface RouteGrant {
  callers: readonly Caller[];
  methods: readonly ('GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE')[];
  paths: readonly string[];
  what: string;
}

export interface Listener {
  /** region-registry listens in the cell's pod, golden-registry in golden's. */
  component: 'gateway' | 'cell' | 'region-registry' | 'golden-registry';
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

/** The deployment's callers of a mesh caller class (the public ingress is added where inference is served). */
const fromMesh = (c: MeshCaller): Caller[] => {
  switch (c) {
    case 'gateway':
      return ['gateway'];
    case 'cell-other-jurisdiction':
      return ['cells'];
    case 'cell':
    case 'registry':
      return ['all-cells'];
    case 'cell-same-region':
      return ['own-cell'];
    case 'golden':
      return ['golden'];
    case 'operator':
      return ['operator'];
    case 'anyone':
      return [];
  }
};

/**
 * Grants from one of the mesh's route tables (src/mesh/exposure.ts), one per route; the ingress
 * also on the inference routes (in a cluster the ingress forwards after the decision).
 */
const grantsOf = (routes: readonly RouteRule[]): RouteGrant[] =>
  routes.map((r) => ({
    callers: [...r.allow.flatMap(fromMesh), ...(INFERENCE_ROUTE.test(r.url) ? (['ingress'] as const) : [])],
    // Istio matches methods exactly; Sovereign authorizes HEAD as GET (the distribution API's existence checks).
    methods: r.method === 'GET' ? ['GET', 'HEAD'] : [r.method],
    paths: [istioPath(r.url)],
    what: r.what,
  }));

const callersOfGrants = (grants: readonly RouteGrant[]): Caller[] => [...new Set(grants.flatMap((g) => g.callers))];

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
    callers: callersOfGrants(grantsOf(CELL_ROUTES)),
    routes: grantsOf(CELL_ROUTES),
  },
  {
    component: 'region-registry',
    port: PORTS.registry,
    portName: 'registry',
    serves: "the region's model registry (OCI distribution, read-only) and its orders (pull from golden, activate, delete)",
    callers: callersOfGrants(grantsOf(REGION_REGISTRY_ROUTES)),
    routes: grantsOf(REGION_REGISTRY_ROUTES),
  },
  {
    component: 'golden-registry',
    port: PORTS.golden,
    portName: 'http',
    serves: 'the golden model registry: releases published by operators, read by the regions (one way)',
    callers: callersOfGrants(grantsOf(GOLDEN_REGISTRY_ROUTES)),
    routes: grantsOf(GOLDEN_REGISTRY_ROUTES),
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
    case 'all-cells':
      return topology.regions.map((r) => WORKLOADS.cell(r.id));
    case 'own-cell':
      return [];
    case 'golden':
      return [WORKLOADS.golden];
    case 'operator':
      return [WORKLOADS.operator];
  }
}
