// Who may talk to whom, twice: NetworkPolicies (the cluster network: deny all, then open only
// the ports of the exposure table to the namespaces of their callers) and Istio security
// (PeerAuthentication STRICT: mutual TLS only; AuthorizationPolicy ALLOW: only the callers'
// identities, so a pod in an allowed namespace but with another service account is refused).
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { INetworkPolicyEgressRule, INetworkPolicyIngressRule } from 'kubernetes-models/networking.k8s.io/v1';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import type { Topology } from '../../config/index.ts';
import { EXPOSURE, GATEWAY_NAMESPACE, GOLDEN_NAMESPACE, OPERATOR_NAMESPACE, PORTS, WORKLOADS, callerWorkloads, istioPrincipal, regionNamespace, type Caller, type Listener, type Workload } from '../exposure.ts';

/** Where PostgreSQL runs for the gateway's shared region state (see the deployment guide). */
export const POSTGRES = { namespace: 'sovereign-postgres', port: 5432 } as const;
/** Istio's control plane and east-west gateway (cross-cluster traffic), in istio-system. */
const ISTIO = { namespace: 'istio-system', istiodPorts: [15012, 15017], eastWestPort: 15443 } as const;

const nsSelector = (ns: string): { namespaceSelector: { matchLabels: Record<string, string> } } => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } });
const tcp = (port: number): { protocol: 'TCP'; port: number } => ({ protocol: 'TCP', port });

export interface CallerSet {
  listener: Listener;
  /** The workloads allowed to call it, in this deployment. */
  workloads: Workload[];
  /** What each group of them may ask. */
  grants: { workloads: Workload[]; methods: readonly string[]; paths: string[] }[];
}

/** The callers of a component's listeners, resolved for one namespace (a cell's peers: cells of other jurisdictions; its own cell). */
export function callersOf(component: Listener['component'], topology: Topology, region?: string): CallerSet[] {
  const me = region ? topology.region(region) : undefined;
  const resolve = (c: Caller): Workload[] => {
    if (c === 'cells') return topology.regions.filter((r) => me && r.jurisdiction !== me.jurisdiction).map((r) => WORKLOADS.cell(r.id));
    if (c === 'own-cell') return me ? [WORKLOADS.cell(me.id)] : [];
    return callerWorkloads(c, topology);
  };
  return EXPOSURE.filter((l) => l.component === component).map((listener) => ({
    listener,
    workloads: listener.callers.flatMap(resolve),
    grants: listener.routes
      .map((g) => ({ workloads: g.callers.flatMap(resolve), methods: g.methods, paths: g.paths.map((p) => p.replace('{region}', region ?? '')) }))
      .filter((g) => g.workloads.length > 0),
  }));
}

/** Default deny (ingress and egress) plus DNS and the Istio control plane, for every namespace. */
function baseNetworkPolicies(namespace: string): NetworkPolicy[] {
  return [
    new NetworkPolicy({ metadata: { name: 'default-deny', namespace }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }),
    new NetworkPolicy({
      metadata: { name: 'allow-dns-and-mesh-control', namespace },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          { to: [{ ...nsSelector('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, tcp(53)] },
          { to: [{ ...nsSelector(ISTIO.namespace), podSelector: { matchLabels: { app: 'istiod' } } }], ports: ISTIO.istiodPorts.map(tcp) },
        ],
      },
    }),
  ];
}

/** Ingress open on each listener's port to its callers' namespaces only. */
function ingressFor(namespace: string, podLabel: string, callers: CallerSet[]): NetworkPolicy[] {
  return callers.map(({ listener, workloads }) => {
    const from: INetworkPolicyIngressRule['from'] = [...new Set(workloads.map((w) => w.namespace))].sort().map((ns) => nsSelector(ns));
    return new NetworkPolicy({
      metadata: { name: `allow-${listener.component}-${listener.portName}`, namespace },
      spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': podLabel } }, policyTypes: ['Ingress'], ingress: [{ from, ports: [tcp(listener.port)] }] },
    });
  });
}

function egressPolicy(namespace: string, podLabel: string, name: string, egress: INetworkPolicyEgressRule[]): NetworkPolicy {
  return new NetworkPolicy({ metadata: { name, namespace }, spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': podLabel } }, policyTypes: ['Egress'], egress } });
}

/** mTLS only, and an ALLOW policy naming the callers' identities (anything else is denied). */
function meshSecurity(namespace: string, podLabel: string, trustDomain: string, callers: CallerSet[], component: string): object[] {
  return [
    new PeerAuthentication({ metadata: { name: 'default', namespace }, spec: { mtls: { mode: 'STRICT' } } }),
    new AuthorizationPolicy({
      metadata: { name: `allow-${component}-callers`, namespace },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/name': podLabel } },
        action: 'ALLOW',
        // One rule per grant of the exposure table: these identities, these requests, this port.
        rules: callers.flatMap(({ listener, grants }) =>
          grants.map((g) => ({
            from: [{ source: { principals: g.workloads.map((w) => istioPrincipal(trustDomain, w)).sort() } }],
            to: [{ operation: { ports: [String(listener.port)], methods: [...g.methods], ...(g.paths.includes('*') ? {} : { paths: g.paths }) } }],
          })),
        ),
      },
    }),
  ];
}

export function gatewayPolicies(topology: Topology, trustDomain: string): object[] {
  const ns = GATEWAY_NAMESPACE;
  const callers = callersOf('gateway', topology);
  const cells = topology.regions.map((r) => regionNamespace(r.id));
  return [
    ...baseNetworkPolicies(ns),
    ...ingressFor(ns, 'sovereign-gateway', callers),
    egressPolicy(ns, 'sovereign-gateway', 'allow-gateway-egress', [
      // To the cells: in this cluster by namespace, in the regions' clusters through the east-west gateway.
      { to: cells.map((c) => nsSelector(c)), ports: [tcp(PORTS.cell)] },
      { to: [EAST_WEST], ports: [tcp(ISTIO.eastWestPort)] },
      { to: [nsSelector(POSTGRES.namespace)], ports: [tcp(POSTGRES.port)] },
    ]),
    ...meshSecurity(ns, 'sovereign-gateway', trustDomain, callers, 'gateway'),
  ];
}

/** The east-west gateway's pods: calls from other clusters arrive through it (mTLS passed through, identities kept). */
export const EAST_WEST = { ...nsSelector(ISTIO.namespace), podSelector: { matchLabels: { istio: 'eastwestgateway' } } };

/** Golden's region: its cell's ledger records transfers out of golden (registry.golden.region, default the first region). */
const goldenRegionOf = (topology: Topology): string | undefined => topology.data.registry.golden.region ?? topology.regions[0]?.id;

export function cellPolicies(topology: Topology, trustDomain: string, region: string): object[] {
  const ns = regionNamespace(region);
  // The cell's own port and its region's registry, which the cell's process serves.
  const callers = [...callersOf('cell', topology, region), ...callersOf('region-registry', topology, region)];
  const peers = topology.regions.filter((r) => r.jurisdiction !== topology.region(region)?.jurisdiction).map((r) => regionNamespace(r.id));
  const goldenRegion = goldenRegionOf(topology);
  // A release's transfer is recorded in the ledger of golden's region, by the receiving cell.
  const cellPeers = [...new Set([...peers, ...(goldenRegion && goldenRegion !== region ? [regionNamespace(goldenRegion)] : [])])].sort();
  return [
    ...baseNetworkPolicies(ns),
    ...ingressFor(ns, 'sovereign-cell', callers),
    // The callers live in other clusters (the gateway's, other regions'): their connections
    // arrive from the east-west gateway, with the callers' own identities (AUTO_PASSTHROUGH),
    // so the AuthorizationPolicy below still decides by identity.
    new NetworkPolicy({
      metadata: { name: 'allow-cell-http-across-clusters', namespace: ns },
      spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'sovereign-cell' } }, policyTypes: ['Ingress'], ingress: [{ from: [EAST_WEST], ports: [tcp(PORTS.cell), tcp(PORTS.registry)] }] },
    }),
    egressPolicy(ns, 'sovereign-cell', 'allow-cell-egress', [
      // Witnessing: cells of other jurisdictions (checkpoints only cross borders, never entries);
      // the transfer record of a release, to the cell of golden's region.
      ...(cellPeers.length > 0 ? [{ to: cellPeers.map((p) => nsSelector(p)), ports: [tcp(PORTS.cell)] }] : []),
      // The region's registry pulls releases from golden (it never pushes anywhere).
      { to: [nsSelector(GOLDEN_NAMESPACE)], ports: [tcp(PORTS.golden)] },
      { to: [EAST_WEST], ports: [tcp(ISTIO.eastWestPort)] },
      // The region's model server (KServe predictor) in its own namespace.
      { to: [{ podSelector: { matchExpressions: [{ key: 'serving.kserve.io/inferenceservice', operator: 'Exists' }] } }], ports: [tcp(8080)] },
    ]),
    ...meshSecurity(ns, 'sovereign-cell', trustDomain, callers, 'cell'),
  ];
}

/** A model server's policy (KServe predictor pods of one InferenceService): only the region's cell may call it. */
export function predictorPolicies(trustDomain: string, region: string, isvc: string): object[] {
  const ns = regionNamespace(region);
  const selector = { matchLabels: { 'serving.kserve.io/inferenceservice': isvc } };
  return [
    new NetworkPolicy({
      metadata: { name: `allow-${isvc}-from-cell`, namespace: ns },
      spec: { podSelector: selector, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'sovereign-cell' } } }], ports: [tcp(8080)] }] },
    }),
    new AuthorizationPolicy({
      metadata: { name: `allow-${isvc}-from-cell`, namespace: ns },
      spec: { selector, action: 'ALLOW', rules: [{ from: [{ source: { principals: [istioPrincipal(trustDomain, WORKLOADS.cell(region))] } }], to: [{ operation: { ports: ['8080'] } }] }] },
    }),
  ];
}

/** Golden: the regions' registries (in their cells) read it, operators publish; it orders regions to pull at first start. */
export function goldenPolicies(topology: Topology, trustDomain: string): object[] {
  const ns = GOLDEN_NAMESPACE;
  const callers = callersOf('golden-registry', topology);
  return [
    ...baseNetworkPolicies(ns),
    ...ingressFor(ns, 'sovereign-golden', callers),
    new NetworkPolicy({
      metadata: { name: 'allow-golden-across-clusters', namespace: ns },
      spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'sovereign-golden' } }, policyTypes: ['Ingress'], ingress: [{ from: [EAST_WEST], ports: [tcp(PORTS.golden)] }] },
    }),
    egressPolicy(ns, 'sovereign-golden', 'allow-golden-egress', [
      // The first-start order to the regions' registries: pull the shipped model (the region asks the law itself).
      { to: topology.regions.map((r) => nsSelector(regionNamespace(r.id))), ports: [tcp(PORTS.registry)] },
      { to: [EAST_WEST], ports: [tcp(ISTIO.eastWestPort)] },
    ]),
    ...meshSecurity(ns, 'sovereign-golden', trustDomain, callers, 'golden'),
  ];
}

/** Operators' pods (`sovereign model …`): they call golden and the regions' registries, and nobody calls them. */
export function operatorPolicies(topology: Topology): object[] {
  const ns = OPERATOR_NAMESPACE;
  return [
    ...baseNetworkPolicies(ns),
    egressPolicy(ns, 'sovereign-operator', 'allow-operator-egress', [
      { to: [nsSelector(GOLDEN_NAMESPACE)], ports: [tcp(PORTS.golden)] },
      { to: topology.regions.map((r) => nsSelector(regionNamespace(r.id))), ports: [tcp(PORTS.registry)] },
      { to: [EAST_WEST], ports: [tcp(ISTIO.eastWestPort)] },
    ]),
    new PeerAuthentication({ metadata: { name: 'default', namespace: ns }, spec: { mtls: { mode: 'STRICT' } } }),
  ];
}
