// `sovereign deploy render`: the kustomize tree, from the topology file. One cluster per
// region (overlays/region-<id>: the region's cell with its model registry, its model server,
// its policies), one for the global ingress (overlays/global-ingress: the gateway, Istio's
// ingress routing and the law's ext_authz wiring) and the golden model registry with the
// operators' namespace (overlays/golden), on bases per component (base/gateway, base/cell,
// base/golden).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Topology } from '../config/index.ts';
import { policyFilePath } from '../policy/index.ts';
import { GATEWAY_NAMESPACE, GOLDEN_NAMESPACE, OPERATOR_NAMESPACE, PORTS, WORKLOADS, cellSpiffeId, gatewaySpiffeId, regionNamespace, trustDomainOf } from './exposure.ts';
import { inferenceServices, predictorUrl } from './k8s/kserve.ts';
import { cellPolicies, gatewayPolicies, goldenPolicies, operatorPolicies, predictorPolicies } from './k8s/policy.ts';
import { cellHost, destinationRules, ingressPolicies, ingressRouting, istioOperator } from './k8s/traffic.ts';
import { ServiceAccount } from 'kubernetes-models/v1';
import { spiffeId } from '../mesh/index.ts';
import { CONFIG_DIR, DATA_DIR, REGISTRY_SERVICE, SECRETS, cellBase, gatewayBase, goldenBase, type ImageSettings } from './k8s/workloads.ts';

export interface RenderOptions {
  image: ImageSettings;
  /** Public host names of the inference API. */
  hosts: string[];
  /** TLS secret of the ingress gateway. */
  tlsSecret: string;
  /** Proxies whose X-Forwarded-For the gateway believes (the sidecar's inbound address, the pod network). */
  trustedProxies: string[];
  /** Where regions' model repositories are published (KServe storageUri prefix). */
  modelStorage: string;
  minReplicas: number;
  maxReplicas: number;
  /** Grafana dashboard to ship as a ConfigMap, when it exists. */
  dashboard?: string;
  /** Trust domain (default: the topology's mesh.trustDomain, else sovereign.internal). */
  trustDomain?: string;
}

/** The rendered tree: relative path -> file content. */
export type Tree = Map<string, string>;

const KUSTOMIZATION = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };

/** Kubernetes objects as YAML documents (model instances serialise through toJSON). */
export function yamlDocs(objects: readonly object[]): string {
  return objects.map((o) => stringify(JSON.parse(JSON.stringify(o)) as unknown, { lineWidth: 0 })).join('---\n');
}

function fileName(o: object): string {
  const x = JSON.parse(JSON.stringify(o)) as { kind: string; metadata: { name: string } };
  return `${x.kind.toLowerCase()}-${x.metadata.name}.yaml`;
}

function namespace(name: string, labels: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'istio-injection': 'enabled', 'app.kubernetes.io/part-of': 'sovereign', ...labels } } };
}

const goldenHost = `golden.${GOLDEN_NAMESPACE}.svc.cluster.local`;

/** The topology as the cluster runs it: in-cluster addresses, data in the volumes, shared state in PostgreSQL. */
export function clusterTopology(topology: Topology, o: RenderOptions): string {
  const d = structuredClone(topology.data) as Record<string, unknown> & typeof topology.data;
  d.dataDir = DATA_DIR;
  d.regions = d.regions.map((r) => ({
    ...r,
    url: `http://${cellHost(r.id)}:${PORTS.cell}`,
    runtime: r.runtime.kind === 'upstream' ? { ...r.runtime, url: predictorUrl(r.id) } : r.runtime,
    // The region's registry, served by its cell's process on its own port (an external one stays as configured).
    registry: r.registry.kind === 'external' ? r.registry : { ...r.registry, url: `http://${REGISTRY_SERVICE}.${regionNamespace(r.id)}.svc.cluster.local:${PORTS.registry}` },
  }));
  const golden = d.registry.golden;
  d.registry = { ...d.registry, golden: golden.kind === 'external' ? golden : { ...golden, url: `http://${goldenHost}:${PORTS.golden}` } };
  d.gateway = { ...d.gateway, host: '0.0.0.0', port: PORTS.gateway, trustedProxies: o.trustedProxies };
  // Several gateway replicas: legal triggers are shared through PostgreSQL.
  d.state = { ...d.state, backend: 'postgres' };
  // In the cluster Istio is the mesh: its sidecars terminate mutual TLS with the workloads'
  // identities and its AuthorizationPolicies carry the mesh's route table identity by identity
  // (k8s/policy.ts), so the processes themselves speak plain HTTP to their sidecars.
  d.mesh = { ...d.mesh, mode: 'plaintext' };
  d.policy = { file: `${CONFIG_DIR}/policy.cedar` };
  delete (d.geo).database;
  return `# Rendered by \`sovereign deploy render\` from ${path.basename(topology.file)}: the cluster's view of the topology.\n${stringify(d, { lineWidth: 0 })}`;
}

function kustomization(body: Record<string, unknown>): string {
  return stringify({ ...KUSTOMIZATION, ...body }, { lineWidth: 0 });
}

export function renderTree(topology: Topology, o: RenderOptions): { tree: Tree; notes: string[] } {
  const tree: Tree = new Map();
  const notes: string[] = [];
  const td = o.trustDomain ?? trustDomainOf(topology);
  const topo = clusterTopology(topology, o);
  const policyFile = policyFilePath(topology);
  const policy = readFileSync(policyFile, 'utf8');
  if (topology.data.registry.publishers.length === 0) {
    notes.push("registry.publishers is empty: in a cluster the regions cannot read golden's own key file; list golden's publisher key (sovereign golden writes it to <dataDir>/golden/keys/publisher.key.pub on its volume) in registry.publishers and render again, or no release will verify in the regions");
  }
  if (topology.data.geo.database) notes.push(`geo.database (${topology.data.geo.database}) is not shipped: the images carry the default database; add yours to the gateway image and set geo.database`);

  const put = (dir: string, objects: object[]): string[] => {
    const names: string[] = [];
    for (const ob of objects) {
      const f = fileName(ob);
      tree.set(`${dir}/${f}`, yamlDocs([ob]));
      names.push(f);
    }
    return names;
  };

  // Bases.
  const env = { admin: topology.data.gateway.adminTokenEnv, statePostgres: topology.data.state.postgresUrlEnv, ledgerPostgres: topology.data.ledger.postgresUrlEnv, registry: topology.data.registry.tokenEnv };
  tree.set('base/gateway/kustomization.yaml', kustomization({ resources: put('base/gateway', gatewayBase(o.image, o, env)) }));
  tree.set('base/cell/kustomization.yaml', kustomization({ resources: put('base/cell', cellBase(o.image, env)) }));
  tree.set('base/golden/kustomization.yaml', kustomization({ resources: put('base/golden', goldenBase(o.image, env)) }));

  // One overlay per region cluster.
  for (const r of topology.regions) {
    const dir = `overlays/region-${r.id}`;
    const ns = regionNamespace(r.id);
    const isvcs = inferenceServices(r, o.modelStorage);
    const files = [
      ...put(dir, [namespace(ns, { 'sovereign.io/region': r.id })]),
      '../../base/cell',
      ...put(dir, [...cellPolicies(topology, td, r.id), ...isvcs.flatMap((i) => [i, ...predictorPolicies(td, r.id, i.metadata.name)])]),
    ];
    tree.set(`${dir}/sovereign.yaml`, topo);
    tree.set(`${dir}/policy.cedar`, policy);
    tree.set(
      `${dir}/kustomization.yaml`,
      kustomization({
        namespace: ns,
        labels: [{ pairs: { 'sovereign.io/region': r.id, 'sovereign.io/jurisdiction': r.jurisdiction }, includeSelectors: false }],
        commonAnnotations: { 'sovereign.io/spiffe-id': cellSpiffeId(td, r.id) },
        resources: files,
        configMapGenerator: [
          { name: 'sovereign-topology', files: ['sovereign.yaml', 'policy.cedar'] },
          { name: 'cell-region', literals: [`region=${r.id}`] },
        ],
      }),
    );
  }

  // The global ingress cluster: the gateway in its namespace, the ingress gateway's policies,
  // the mesh-wide destination rules.
  const gw = 'overlays/global-ingress/gateway';
  const gwFiles = [...put(gw, [namespace(GATEWAY_NAMESPACE, { 'sovereign.io/cluster': 'global' })]), '../../../base/gateway', ...put(gw, [...gatewayPolicies(topology, td), ...ingressRouting(topology, { hosts: o.hosts, credentialName: o.tlsSecret })])];
  tree.set(`${gw}/sovereign.yaml`, topo);
  tree.set(`${gw}/policy.cedar`, policy);
  const generators: Record<string, unknown>[] = [{ name: 'sovereign-topology', files: ['sovereign.yaml', 'policy.cedar'] }];
  if (o.dashboard && existsSync(o.dashboard)) {
    tree.set(`${gw}/grafana-sovereign.json`, readFileSync(o.dashboard, 'utf8'));
    generators.push({ name: 'grafana-dashboard-sovereign', files: ['sovereign.json=grafana-sovereign.json'], options: { labels: { grafana_dashboard: '1' } } });
  } else {
    notes.push(`no Grafana dashboard at ${o.dashboard ?? '(none given)'}: none shipped`);
  }
  tree.set(
    `${gw}/kustomization.yaml`,
    kustomization({
      namespace: GATEWAY_NAMESPACE,
      labels: [{ pairs: { 'sovereign.io/cluster': 'global' }, includeSelectors: false }],
      commonAnnotations: { 'sovereign.io/spiffe-id': gatewaySpiffeId(td, '{replica}') },
      resources: gwFiles,
      configMapGenerator: generators,
    }),
  );
  const ingressFiles = put('overlays/global-ingress', [...ingressPolicies(), ...destinationRules(topology)]);
  tree.set('overlays/global-ingress/kustomization.yaml', kustomization({ resources: ['gateway', ...ingressFiles] }));

  // Golden and the operators' namespace (the control-plane cluster, which may be the global
  // ingress's): releases are published here and flow one way to the regions' registries.
  const gd = 'overlays/golden';
  const goldenFiles = [...put(`${gd}/golden`, [namespace(GOLDEN_NAMESPACE, { 'sovereign.io/cluster': 'control' })]), '../../../base/golden', ...put(`${gd}/golden`, goldenPolicies(topology, td))];
  tree.set(`${gd}/golden/sovereign.yaml`, topo);
  tree.set(`${gd}/golden/policy.cedar`, policy);
  tree.set(
    `${gd}/golden/kustomization.yaml`,
    kustomization({
      namespace: GOLDEN_NAMESPACE,
      labels: [{ pairs: { 'sovereign.io/cluster': 'control' }, includeSelectors: false }],
      commonAnnotations: { 'sovereign.io/spiffe-id': spiffeId.golden(td) },
      resources: goldenFiles,
      configMapGenerator: [{ name: 'sovereign-topology', files: ['sovereign.yaml', 'policy.cedar'] }],
    }),
  );
  const operatorFiles = put(`${gd}/operator`, [
    namespace(OPERATOR_NAMESPACE, { 'sovereign.io/cluster': 'control' }),
    new ServiceAccount({ metadata: { name: WORKLOADS.operator.serviceAccount, namespace: OPERATOR_NAMESPACE, labels: { 'app.kubernetes.io/part-of': 'sovereign' } }, automountServiceAccountToken: false }),
    ...operatorPolicies(topology),
  ]);
  tree.set(`${gd}/operator/kustomization.yaml`, kustomization({ namespace: OPERATOR_NAMESPACE, resources: operatorFiles }));
  tree.set(`${gd}/kustomization.yaml`, kustomization({ resources: ['golden', 'operator'] }));

  // Mesh installation (istioctl install -f), outside kustomize.
  tree.set('istio/istio-operator.yaml', yamlDocs([istioOperator(topology, td)]));
  tree.set('README.md', treeReadme(topology));
  return { tree, notes };
}

function treeReadme(topology: Topology): string {
  return `# Sovereign on Kubernetes (rendered)

Rendered by \`sovereign deploy render\` from ${path.basename(topology.file)}. Do not edit: change the
topology and render again; adjust with kustomize overlays of your own on top of these.

- \`istio/istio-operator.yaml\`: mesh settings for every cluster (\`istioctl install -f\`): the trust
  domain and the \`sovereign-law\` ext_authz provider (the gateway's decision endpoint).
- \`overlays/global-ingress\`: the global ingress cluster (gateway, Istio Gateway/VirtualService,
  the CUSTOM AuthorizationPolicy that puts every inference request to the law, DestinationRules).
- \`overlays/region-<id>\`: one cluster per region: ${topology.regions.map((r) => r.id).join(', ')}.
  The cell's process also serves the region's model registry (port ${PORTS.registry}).
- \`overlays/golden\`: the golden model registry (${GOLDEN_NAMESPACE}) and the operators' namespace
  (${OPERATOR_NAMESPACE}, service account \`${WORKLOADS.operator.serviceAccount}\`): run \`sovereign model …\` from a pod there
  (the cell image) so the registries' AuthorizationPolicies know it as an operator.

Apply with \`kubectl apply -k overlays/<overlay>\` against each cluster's context. Secrets are not
rendered: create \`sovereign-admin\` (key \`token\`) and \`sovereign-postgres\` (key \`url\`) in
${GATEWAY_NAMESPACE}, and \`${SECRETS.registry}\` (key \`token\`, the same value everywhere) in ${GOLDEN_NAMESPACE},
${OPERATOR_NAMESPACE} and every region's namespace. See the deployment guide in Sovereign's README.
`;
}
