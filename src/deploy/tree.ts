// `sovereign deploy render`: the kustomize tree, from the topology file. One cluster per
// region (overlays/region-<id>: the region's cell, its model server, its policies) and one for
// the global ingress (overlays/global-ingress: the gateway, Istio's ingress routing and the
// law's ext_authz wiring), on bases per component (base/gateway, base/cell).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Topology } from '../config/index.ts';
import { policyFilePath } from '../policy/index.ts';
import { GATEWAY_NAMESPACE, PORTS, cellSpiffeId, gatewaySpiffeId, regionNamespace, trustDomainOf } from './exposure.ts';
import { inferenceServices, predictorUrl } from './k8s/kserve.ts';
import { cellPolicies, gatewayPolicies, predictorPolicies } from './k8s/policy.ts';
import { cellHost, destinationRules, ingressPolicies, ingressRouting, istioOperator } from './k8s/traffic.ts';
import { CONFIG_DIR, DATA_DIR, cellBase, gatewayBase, type ImageSettings } from './k8s/workloads.ts';

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

/** The topology as the cluster runs it: in-cluster addresses, data in the volumes, shared state in PostgreSQL. */
export function clusterTopology(topology: Topology, o: RenderOptions): string {
  const d = structuredClone(topology.data) as Record<string, unknown> & typeof topology.data;
  d.dataDir = DATA_DIR;
  d.regions = d.regions.map((r) => ({
    ...r,
    url: `http://${cellHost(r.id)}:${PORTS.cell}`,
    runtime: r.runtime.kind === 'upstream' ? { ...r.runtime, url: predictorUrl(r.id) } : r.runtime,
  }));
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
  const env = { admin: topology.data.gateway.adminTokenEnv, statePostgres: topology.data.state.postgresUrlEnv, ledgerPostgres: topology.data.ledger.postgresUrlEnv };
  tree.set('base/gateway/kustomization.yaml', kustomization({ resources: put('base/gateway', gatewayBase(o.image, o, env)) }));
  tree.set('base/cell/kustomization.yaml', kustomization({ resources: put('base/cell', cellBase(o.image, env)) }));

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

Apply with \`kubectl apply -k overlays/<overlay>\` against each cluster's context. Secrets are not
rendered: create \`sovereign-admin\` (key \`token\`) and \`sovereign-postgres\` (key \`url\`) in
${GATEWAY_NAMESPACE}. See the deployment guide in Sovereign's README.
`;
}
