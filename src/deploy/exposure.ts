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

/** Trust domain when the topology names none (mesh.trustDomain). */
export const DEFAULT_TRUST_DOMAIN = 'sovereign.internal';

/** The trust domain of a topology: mesh.trustDomain when the topology has it, else the default. */
export function trustDomainOf(topology: Topology): string {
  const mesh = (topology.data as { mesh?: { trustDomain?: unknown } }).mesh;
  return typeof mesh?.trustDomain === 'string' && mesh.trustDomain !== '' ? mesh.trustDomain : DEFAULT_TRUST_DOMAIN;
}

/** Sovereign's SPIFFE ID of a region's cell. */
export function cellSpiffeId(trustDomain: string, region: string): string {
  return `spiffe://${trustDomain}/region/${region}/cell`;
}

/** Sovereign's SPIFFE ID of a gateway replica. */
export function gatewaySpiffeId(trustDomain: string, replica: string): string {
  return `spiffe://${trustDomain}/gateway/${replica}`;
}

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
  methods: readonly ('GET' | 'POST')[];
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

const INFERENCE = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v2/models/*'];

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
    routes: [
      { callers: ['gateway', 'ingress'], methods: ['GET', 'POST'], paths: INFERENCE, what: 'inference, after the decision' },
      { callers: ['gateway'], methods: ['GET', 'POST'], paths: ['/v2/health/*', '/v2', '/v1/models', '/sovereign/ledger/*'], what: 'health probes, metadata, ledger append and reads' },
      { callers: ['cells'], methods: ['GET'], paths: ['/sovereign/ledger/{region}/key'], what: 'ledger and witness public keys' },
      { callers: ['cells'], methods: ['POST'], paths: ['/sovereign/witness/add-checkpoint'], what: 'witness cosigning (C2SP tlog-witness)' },
    ],
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
