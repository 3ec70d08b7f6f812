// `sovereign deploy render`: the tree validates against the Kubernetes, Istio, Prometheus
// Operator and KServe schemas, `kubectl kustomize` builds every overlay (required under
// CI=true), and the security properties hold on what kustomize builds. Every check is also
// shown to fail on a tree mutated to break it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { loadTopology, parseTopology, topologyFrom } from '../../src/config/index.ts';
import {
  crossNamespaceCallsNotByIdentity,
  lawRoutingViolations,
  ledgerWritersOtherThanGateway,
  namespacesWithoutDefaultDeny,
  objectsOf,
  podsThatMayRunAsRoot,
  podsWithoutLimits,
  registryFlowViolations,
  renderTree,
  securityViolations,
  validateObjects,
  type RenderOptions,
  type RenderedObject,
  type Tree,
} from '../../src/deploy/index.ts';
import { EU, MAIN, ROOT } from '../helpers/cluster.ts';

type Obj = RenderedObject['object'];

// A dashboard as another component ships it (deploy/grafana/sovereign.json), to see it included.
const DASHBOARD = path.join(mkdtempSync(path.join(tmpdir(), 'sovereign-dash-')), 'sovereign.json');
writeFileSync(DASHBOARD, JSON.stringify({ title: 'Sovereign', panels: [] }));

const OPTS: RenderOptions = {
  image: { repository: 'registry.example/sovereign', tag: 'test' },
  hosts: ['inference.example.com'],
  tlsSecret: 'tls',
  trustedProxies: ['127.0.0.6/32', '10.0.0.0/8'],
  modelStorage: 'oci://registry.example/models',
  minReplicas: 2,
  maxReplicas: 6,
  dashboard: DASHBOARD,
};

/** The shipped topology, with one region's runtime a V2 model server (so KServe is rendered). */
function topology(): ReturnType<typeof loadTopology> {
  const t = loadTopology(path.join(ROOT, 'sovereign.yaml'));
  const data = structuredClone(t.data) as { regions: { id: string; runtime: unknown }[] };
  const sg = data.regions.find((r) => r.id === 'sg-singapore');
  if (sg) sg.runtime = { kind: 'upstream', url: 'http://127.0.0.1:1', protocol: 'v2' };
  return topologyFrom(data, t.file);
}

const regionsOf = (t: ReturnType<typeof loadTopology>): string[] => t.regions.map((r) => r.id);
const clone = (objects: readonly RenderedObject[]): Obj[] => objects.map((o) => structuredClone(o.object));
const find = (objects: Obj[], kind: string, name: string, ns?: string): Obj => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name && (ns === undefined || x.metadata.namespace === ns));
  assert.ok(o, `${kind} ${ns ?? ''}/${name} rendered`);
  return o;
};

const t = topology();
const { tree } = renderTree(t, OPTS);
const rendered = objectsOf(tree);

describe('the rendered tree', () => {
  test('has the parts of a region-per-cluster deployment', () => {
    const kinds = (k: string): number => rendered.filter((o) => o.object.kind === k).length;
    // A namespace per region, the gateway's, golden's and the operators'.
    assert.equal(kinds('Namespace'), t.regions.length + 3);
    for (const k of ['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'StatefulSet', 'ServiceMonitor', 'Gateway', 'VirtualService', 'EnvoyFilter', 'IstioOperator']) assert.ok(kinds(k) >= 1, k);
    assert.equal(kinds('DestinationRule'), t.regions.length + 1);
    assert.equal(kinds('InferenceService'), 1, 'only the region whose runtime is a model server');
    const sts = find(clone(rendered), 'StatefulSet', 'cell');
    const claims = (sts.spec as { volumeClaimTemplates: { metadata: { name: string } }[] }).volumeClaimTemplates.map((v) => v.metadata.name);
    assert.deepEqual(claims, ['ledger', 'store', 'registry']);
    for (const r of t.regions) assert.ok(tree.has(`overlays/region-${r.id}/kustomization.yaml`));
    assert.ok(tree.has('overlays/golden/kustomization.yaml'));
  });

  test('golden and the regions\' registries: golden on its own volume, each region\'s registry in its cell on its own port, the token from a secret', () => {
    const o = clone(rendered);
    const golden = find(o, 'StatefulSet', 'golden') as unknown as { spec: { template: { spec: { containers: { args: string[]; env: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] }[] } }; volumeClaimTemplates: { metadata: { name: string } }[] } };
    const gc = golden.spec.template.spec.containers[0]!;
    assert.deepEqual(gc.args.slice(-5), ['golden', '--host', '0.0.0.0', '--port', '9300']);
    assert.equal(gc.env.find((e) => e.name === t.data.registry.tokenEnv)?.valueFrom?.secretKeyRef?.name, 'sovereign-registry');
    assert.deepEqual(golden.spec.volumeClaimTemplates.map((v) => v.metadata.name), ['golden']);
    // The registry's own Service reaches a cell that is not ready yet (its first release comes that way); inference does not.
    const svc = (name: string): { spec: { ports: { name: string; port: number }[]; publishNotReadyAddresses?: boolean } } => find(o, 'Service', name) as never;
    assert.deepEqual(svc('cell').spec.ports.map((p) => [p.name, p.port]), [['http', 9100]]);
    assert.equal(svc('cell').spec.publishNotReadyAddresses, undefined);
    assert.deepEqual(svc('cell-registry').spec.ports.map((p) => [p.name, p.port]), [['registry', 9200]]);
    assert.equal(svc('cell-registry').spec.publishNotReadyAddresses, true);
    // The cluster's topology points every region's cell at its registry's Service, and at golden's.
    const inCluster = parseTopology(tree.get('overlays/golden/golden/sovereign.yaml') as string, 'rendered sovereign.yaml');
    assert.equal(inCluster.region('uae-dubai')?.registry.url, 'http://cell-registry.sovereign-uae-dubai.svc.cluster.local:9200');
    assert.equal(inCluster.data.registry.golden.url, 'http://golden.sovereign-golden.svc.cluster.local:9300');
    // Operators run in their own namespace, with a service account the registries know them by.
    find(o, 'ServiceAccount', 'operator', 'sovereign-operator');
  });

  test('a cell pulls from golden and records transfers in the ledger of golden\'s region; nothing else opens for registries', () => {
    const o = clone(rendered);
    const egress = find(o, 'NetworkPolicy', 'allow-cell-egress', 'sovereign-uae-dubai') as unknown as { spec: { egress: { to: { namespaceSelector?: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[] } };
    const to = (port: number): string[] => egress.spec.egress.filter((e) => e.ports.some((p) => p.port === port)).flatMap((e) => e.to.map((x) => x.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] ?? 'pods'));
    assert.deepEqual(to(9300), ['sovereign-golden']);
    // Golden's region is the first region, eu-frankfurt; Dubai's witnesses are of other jurisdictions.
    assert.ok(to(9100).includes('sovereign-eu-frankfurt'));
    // The same jurisdiction's cells witness nothing for each other, but golden's region takes Paris's transfers.
    const paris = find(o, 'NetworkPolicy', 'allow-cell-egress', 'sovereign-eu-paris') as unknown as typeof egress;
    const parisTo = paris.spec.egress.filter((e) => e.ports.some((p) => p.port === 9100)).flatMap((e) => e.to.map((x) => x.namespaceSelector?.matchLabels['kubernetes.io/metadata.name']));
    assert.ok(parisTo.includes('sovereign-eu-frankfurt'));
    const goldenIn = find(o, 'NetworkPolicy', 'allow-golden-registry-http', 'sovereign-golden') as unknown as { spec: { ingress: { from: { namespaceSelector: { matchLabels: Record<string, string> } }[] }[] } };
    const froms = goldenIn.spec.ingress[0]!.from.map((f) => f.namespaceSelector.matchLabels['kubernetes.io/metadata.name']).sort();
    assert.deepEqual(froms, ['sovereign-eu-frankfurt', 'sovereign-eu-paris', 'sovereign-golden', 'sovereign-operator', 'sovereign-sg-singapore', 'sovereign-uae-dubai']);
  });

  test('every object validates against its schema', () => {
    assert.deepEqual(validateObjects(rendered), []);
  });

  test('a schema violation is caught (Istio port as a string, a misspelt KServe field, an unknown kind)', () => {
    const objs = clone(rendered);
    const vs = find(objs, 'VirtualService', 'sovereign');
    (vs.spec as { http: { route: { destination: { port: { number: unknown } } }[] }[] }).http[0]!.route[0]!.destination.port.number = '9100';
    const isvc = find(objs, 'InferenceService', 'model-server');
    (isvc.spec as { predictor: Record<string, unknown> }).predictor.minReplica = 1;
    objs.push({ apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w' } });
    const failures = validateObjects(objs.map((object) => ({ file: 'x', object })));
    assert.deepEqual(failures.map((f) => f.kind).sort(), ['InferenceService', 'VirtualService', 'Widget']);
    assert.match(failures.find((f) => f.kind === 'VirtualService')?.error ?? '', /integer/);
  });

  test('the topology inside the tree loads, with the cells at their in-cluster addresses and shared state', () => {
    const text = tree.get('overlays/region-eu-frankfurt/sovereign.yaml') as string;
    const inCluster = parseTopology(text, 'rendered sovereign.yaml');
    assert.equal(inCluster.region('eu-paris')?.url, 'http://cell.sovereign-eu-paris.svc.cluster.local:9100');
    assert.equal(inCluster.data.state.backend, 'postgres');
    const rt = inCluster.region('sg-singapore')?.runtime;
    assert.equal(rt?.kind === 'upstream' ? rt.url : rt?.kind, 'http://model-server-predictor.sovereign-sg-singapore.svc.cluster.local');
  });
});

describe('security properties', () => {
  const objs = (): Obj[] => clone(rendered);
  const regions = regionsOf(t);

  test('hold on the rendered tree', () => {
    assert.deepEqual(securityViolations(objs(), regions), []);
  });

  test('a pod without limits is caught', () => {
    const o = objs();
    const sts = find(o, 'StatefulSet', 'cell') as unknown as { spec: { template: { spec: { containers: { resources: { limits?: unknown } }[] } } } };
    delete sts.spec.template.spec.containers[0]!.resources.limits;
    assert.equal(podsWithoutLimits(o).length, 2);
    const isvc = find(o, 'InferenceService', 'model-server') as unknown as { spec: { predictor: { model: { resources: { requests?: unknown } } } } };
    delete isvc.spec.predictor.model.resources.requests;
    assert.equal(podsWithoutLimits(o).length, 4);
  });

  test('a pod that may run as root is caught', () => {
    const o = objs();
    const dep = find(o, 'Deployment', 'gateway') as unknown as { spec: { template: { spec: { securityContext: Record<string, unknown>; containers: { securityContext: Record<string, unknown> }[] } } } };
    dep.spec.template.spec.securityContext.runAsNonRoot = false;
    delete dep.spec.template.spec.containers[0]!.securityContext.runAsNonRoot;
    assert.match(podsThatMayRunAsRoot(o).join('\n'), /gateway.*may run as root/);
    dep.spec.template.spec.containers[0]!.securityContext.readOnlyRootFilesystem = false;
    assert.match(podsThatMayRunAsRoot(o).join('\n'), /writable root file system/);
  });

  test('a namespace without default-deny, or without STRICT mTLS, is caught', () => {
    const o = objs().filter((x) => !(x.kind === 'NetworkPolicy' && x.metadata.name === 'default-deny' && x.metadata.namespace === 'sovereign-uae-dubai'));
    assert.deepEqual(namespacesWithoutDefaultDeny(o), ['namespace sovereign-uae-dubai has no default-deny NetworkPolicy (ingress and egress)']);
    const p = objs();
    const pa = find(p, 'PeerAuthentication', 'default', 'sovereign-eu-paris');
    (pa.spec as { mtls: { mode: string } }).mtls.mode = 'PERMISSIVE';
    assert.deepEqual(namespacesWithoutDefaultDeny(p), ['namespace sovereign-eu-paris has no namespace-wide STRICT PeerAuthentication']);
  });

  test('a cross-namespace call allowed by namespace rather than identity, or opened on the network only, is caught', () => {
    const o = objs();
    const ap = find(o, 'AuthorizationPolicy', 'allow-cell-callers', 'sovereign-eu-frankfurt') as unknown as { spec: { rules: { from: { source: Record<string, unknown> }[] }[] } };
    for (const r of ap.spec.rules) r.from[0]!.source = { namespaces: ['sovereign-gateway'] };
    const v = crossNamespaceCallsNotByIdentity(o);
    assert.ok(v.some((x) => /allows by namespaces, not by identity/.test(x)), v.join('\n'));
    assert.ok(v.some((x) => /open to namespace sovereign-gateway with no identity/.test(x)), v.join('\n'));
    // The network opens a port to a namespace whose identities no policy allows.
    const n = objs();
    const np = find(n, 'NetworkPolicy', 'allow-cell-http', 'sovereign-eu-paris') as unknown as { spec: { ingress: { from: unknown[] }[] } };
    np.spec.ingress[0]!.from.push({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } });
    assert.deepEqual(crossNamespaceCallsNotByIdentity(n), ['NetworkPolicy sovereign-eu-paris/allow-cell-http: port 9100 is open to namespace default with no identity of it allowed by an AuthorizationPolicy']);
    // Calls from other clusters come through the east-west gateway: only where identities are named.
    const x = objs().filter((o) => !(o.kind === 'AuthorizationPolicy' && o.metadata.namespace === 'sovereign-eu-paris' && o.metadata.name === 'allow-cell-callers'));
    assert.ok(crossNamespaceCallsNotByIdentity(x).includes('NetworkPolicy sovereign-eu-paris/allow-cell-http-across-clusters: port 9100 is open across clusters with no identity allowed on it'));
  });

  test('a caller other than the gateway allowed to append to a ledger is caught', () => {
    const o = objs();
    const ap = find(o, 'AuthorizationPolicy', 'allow-cell-callers', 'sovereign-eu-frankfurt') as unknown as { spec: { rules: { from: { source: { principals: string[] } }[]; to: { operation: { paths?: string[] } }[] }[] } };
    assert.deepEqual(ledgerWritersOtherThanGateway(o), []);
    const gatewayOnly = ap.spec.rules.find((r) => r.to[0]?.operation.paths?.includes('/sovereign/ledger/append'));
    gatewayOnly!.from[0]!.source.principals.push('sovereign.internal/ns/istio-ingress/sa/istio-ingressgateway');
    assert.deepEqual(ledgerWritersOtherThanGateway(o), ["AuthorizationPolicy sovereign-eu-frankfurt/allow-cell-callers: sovereign.internal/ns/istio-ingress/sa/istio-ingressgateway may append to the region's ledger"]);
  });

  test('a route that sends one region\'s decision to another region\'s cells, or inference not put to the law, is caught', () => {
    const o = objs();
    const vs = find(o, 'VirtualService', 'sovereign') as unknown as { spec: { http: { name: string; route: { destination: { host: string } }[] }[] } };
    vs.spec.http.find((h) => h.name === 'law-eu-frankfurt')!.route[0]!.destination.host = 'cell.sovereign-sg-singapore.svc.cluster.local';
    assert.deepEqual(lawRoutingViolations(o, regions), ['VirtualService sovereign-gateway/sovereign route law-eu-frankfurt: a decision for eu-frankfurt goes to cell.sovereign-sg-singapore.svc.cluster.local']);
    const c = objs().filter((x) => !(x.kind === 'AuthorizationPolicy' && x.metadata.name === 'sovereign-law'));
    assert.equal(lawRoutingViolations(c, regions).length, 4);
  });

  test('a region writing golden, a registry writable over the network, or a cell reading another region\'s registry is caught', () => {
    assert.deepEqual(registryFlowViolations(objs()), []);
    type Rules = { spec: { rules: { from: { source: { principals: string[] } }[]; to: { operation: { ports: string[]; methods: string[]; paths?: string[] } }[] }[] } };
    const o = objs();
    const golden = find(o, 'AuthorizationPolicy', 'allow-golden-callers', 'sovereign-golden') as unknown as Rules;
    golden.spec.rules.find((r) => r.to[0]!.operation.methods.includes('PUT'))!.from[0]!.source.principals.push('sovereign.internal/ns/sovereign-uae-dubai/sa/cell');
    const frankfurt = find(o, 'AuthorizationPolicy', 'allow-cell-callers', 'sovereign-eu-frankfurt') as unknown as Rules;
    frankfurt.spec.rules.push({ from: [{ source: { principals: ['sovereign.internal/ns/sovereign-operator/sa/operator'] } }], to: [{ operation: { ports: ['9200'], methods: ['PUT'], paths: ['/v2/*'] } }] });
    frankfurt.spec.rules.find((r) => r.to[0]!.operation.ports.includes('9200') && r.to[0]!.operation.paths?.includes('/v2/*') && r.to[0]!.operation.methods.includes('GET'))!.from[0]!.source.principals.push('sovereign.internal/ns/sovereign-sg-singapore/sa/cell');
    const v = registryFlowViolations(o);
    assert.equal(v.length, 3, v.join('\n'));
    assert.ok(v.some((x) => /sovereign-uae-dubai\/sa\/cell may write the golden registry/.test(x)), v.join('\n'));
    assert.ok(v.some((x) => /registry of sovereign-eu-frankfurt may be written over the network/.test(x)), v.join('\n'));
    assert.ok(v.some((x) => /sovereign-sg-singapore\/sa\/cell may read the registry of sovereign-eu-frankfurt/.test(x)), v.join('\n'));
  });

  test('property: for any topology, the tree validates and keeps every security property', () => {
    const jurisdictions = { EU, AE: ['AE'], SG: ['SG'], CH: ['CH'] } as const;
    const country = { EU: 'DE', AE: 'AE', SG: 'SG', CH: 'CH' } as const;
    const region = fc.record({
      id: fc.stringMatching(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/),
      jurisdiction: fc.constantFrom<keyof typeof jurisdictions>('EU', 'AE', 'SG', 'CH'),
      runtime: fc.constantFrom({ kind: 'embedded' }, { kind: 'upstream', url: 'http://127.0.0.1:1', protocol: 'v2' }, { kind: 'upstream', url: 'http://127.0.0.1:1', protocol: 'openai' }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(region, { minLength: 1, maxLength: 5, selector: (r) => r.id }), (rs) => {
        const topo = topologyFrom({
          jurisdictions,
          regions: rs.map((r, i) => ({ id: r.id, jurisdiction: r.jurisdiction, country: country[r.jurisdiction], url: `http://127.0.0.1:${9100 + i}`, runtime: r.runtime })),
        });
        const out = objectsOf(renderTree(topo, OPTS).tree);
        assert.deepEqual(validateObjects(out), []);
        assert.deepEqual(securityViolations(out.map((x) => x.object), rs.map((r) => r.id)), []);
      }),
      { numRuns: 25 },
    );
  });
});

// ---- kubectl kustomize --------------------------------------------------------------------

const kubectlMissing = spawnSync('kubectl', ['version', '--client']).error ? 'kubectl is not installed (it builds the kustomize overlays)' : null;
if (kubectlMissing !== null && process.env.CI === 'true') {
  test('kubectl is present (required under CI=true)', () => assert.fail(kubectlMissing));
}

function writeTree(tr: Tree): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-render-'));
  for (const [rel, text] of tr) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe('kubectl kustomize', { skip: kubectlMissing ?? false }, () => {
  test('builds every overlay; what it builds validates and keeps every security property', () => {
    const dir = writeTree(tree);
    const built: RenderedObject[] = [];
    for (const overlay of readdirSync(path.join(dir, 'overlays'))) {
      const r = spawnSync('kubectl', ['kustomize', path.join(dir, 'overlays', overlay)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.equal(r.status, 0, `kubectl kustomize overlays/${overlay}: ${r.stderr}`);
      for (const doc of parseAllDocuments(r.stdout)) built.push({ file: overlay, object: doc.toJSON() as Obj });
    }
    // Generated ConfigMaps are the only kind kustomize adds.
    assert.deepEqual(validateObjects(built.filter((b) => b.object.kind !== 'ConfigMap')), []);
    assert.deepEqual(securityViolations(built.map((b) => b.object), regionsOf(t)), []);
    const sts = built.find((b) => b.file === 'region-eu-frankfurt' && b.object.kind === 'StatefulSet')?.object as unknown as { metadata: { namespace: string }; spec: { template: { spec: { volumes: { configMap?: { name: string } }[] } } } };
    assert.equal(sts.metadata.namespace, 'sovereign-eu-frankfurt');
    assert.match(sts.spec.template.spec.volumes.find((v) => v.configMap)?.configMap?.name ?? '', /^sovereign-topology-[a-z0-9]+$/, 'the generated topology ConfigMap is referenced by its hashed name');
    const dash = built.find((b) => b.object.kind === 'ConfigMap' && b.object.metadata.name.startsWith('grafana-dashboard-sovereign'))?.object as unknown as { metadata: { labels: Record<string, string> }; data: Record<string, string> } | undefined;
    assert.equal(dash?.metadata.labels.grafana_dashboard, '1');
    assert.equal((JSON.parse(dash?.data['sovereign.json'] ?? '{}') as { title?: string }).title, 'Sovereign');
  });

  test('a broken overlay fails to build', () => {
    const broken = new Map(tree);
    broken.set('overlays/region-eu-paris/kustomization.yaml', (tree.get('overlays/region-eu-paris/kustomization.yaml') as string).replace('../../base/cell', '../../base/no-such-base'));
    const dir = writeTree(broken);
    const r = spawnSync('kubectl', ['kustomize', path.join(dir, 'overlays/region-eu-paris')], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
  });
});

describe('sovereign deploy render', () => {
  test('writes the tree, and refuses a directory that is not empty', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'sovereign-render-cli-'));
    const ok = spawnSync(process.execPath, [MAIN, 'deploy', 'render', '--out', out, '--force'], { encoding: 'utf8', cwd: ROOT });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /rendered \d+ objects/);
    assert.ok(readdirSync(path.join(out, 'overlays')).includes('global-ingress'));
    const again = spawnSync(process.execPath, [MAIN, 'deploy', 'render', '--out', out], { encoding: 'utf8', cwd: ROOT });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /is not empty/);
  });
});

describe('container image build files', () => {
  test('agree with the rendered pods: the non-root uid, the port, the entry point', async () => {
    const { readFileSync } = await import('node:fs');
    const objs = clone(rendered);
    for (const [component, kind, port] of [['gateway', 'Deployment', '8080'], ['cell', 'StatefulSet', '9100']] as const) {
      const file = readFileSync(path.join(ROOT, `deploy/containers/${component}.Containerfile`), 'utf8');
      const pod = (find(objs, kind, component).spec as { template: { spec: { securityContext: { runAsUser: number }; containers: { image: string; ports: { containerPort: number }[] }[] } } }).template.spec;
      assert.match(file, new RegExp(`^USER ${pod.securityContext.runAsUser}:${pod.securityContext.runAsUser}$`, 'm'));
      assert.match(file, new RegExp(`^EXPOSE ${port}$`, 'm'));
      assert.equal(String(pod.containers[0]?.ports[0]?.containerPort), port);
      assert.match(pod.containers[0]?.image ?? '', new RegExp(`/${component}:test$`));
      assert.match(file, /ENTRYPOINT \[.*"src\/cli\/main\.ts"\]/);
    }
  });
});
