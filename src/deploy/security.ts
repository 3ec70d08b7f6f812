// The security properties of a rendered deployment, checked on its objects (the tree's, or
// what `kubectl kustomize` builds from it): what an auditor asks of it, each a function that
// lists the violations it finds.
//   - no pod without requests and limits (CPU and memory);
//   - no pod that may run as root or gain privileges, none with a writable root file system;
//   - no namespace without a default-deny NetworkPolicy (ingress and egress) and STRICT mTLS;
//   - no cross-namespace call allowed by the network unless an AuthorizationPolicy allows it
//     by identity (principals only), for exactly the namespaces the network allows;
//   - only the gateway may append to a region's ledger;
//   - models flow one way: no region's cell may write golden, nobody may write a region's
//     registry over the network, and a region's registry is read by its own cell only;
//   - the law's routing: every inference route to a region's cells matches that region's
//     decision header only, and the ingress puts every inference request to the law (CUSTOM).
import { ALLOW_HEADERS } from '../gateway/index.ts';
import { PORTS } from './exposure.ts';
import type { RenderedObject } from './validate.ts';

type Obj = RenderedObject['object'];
type Json = Record<string, unknown>;

const get = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Json)[k] : undefined), o);
const arr = (x: unknown): Json[] => (Array.isArray(x) ? (x as Json[]) : []);
const nameOf = (c: Json): string => (typeof c.name === 'string' ? c.name : '(model)');
const id = (o: Obj): string => `${o.kind} ${o.metadata.namespace ?? '(no namespace)'}/${o.metadata.name}`;

interface PodLike {
  owner: string;
  pod: Json;
  containers: Json[];
}

/** Pod specs of the workloads (Deployments, StatefulSets, KServe predictors). */
function pods(objects: readonly Obj[]): PodLike[] {
  const out: PodLike[] = [];
  for (const o of objects) {
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'DaemonSet' || o.kind === 'Job') {
      const pod = (get(o, 'spec', 'template', 'spec') ?? {}) as Json;
      out.push({ owner: id(o), pod, containers: [...arr(pod.containers), ...arr(pod.initContainers)] });
    } else if (o.kind === 'InferenceService') {
      const p = (get(o, 'spec', 'predictor') ?? {}) as Json;
      out.push({ owner: id(o), pod: p, containers: [p.model as Json, ...arr(p.containers)].filter(Boolean) });
    } else if (o.kind === 'Pod') {
      const pod = (o.spec ?? {}) as Json;
      out.push({ owner: id(o), pod, containers: arr(pod.containers) });
    }
  }
  return out;
}

export function podsWithoutLimits(objects: readonly Obj[]): string[] {
  const v: string[] = [];
  for (const p of pods(objects)) {
    for (const c of p.containers) {
      for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) if (get(c, 'resources', kind, r) === undefined) v.push(`${p.owner}: container ${nameOf(c)} has no ${kind}.${r}`);
    }
  }
  return v;
}

export function podsThatMayRunAsRoot(objects: readonly Obj[]): string[] {
  const v: string[] = [];
  for (const p of pods(objects)) {
    const podNonRoot = get(p.pod, 'securityContext', 'runAsNonRoot') === true;
    const podUser = get(p.pod, 'securityContext', 'runAsUser');
    if (podUser === 0) v.push(`${p.owner}: pod runs as uid 0`);
    for (const c of p.containers) {
      const name = nameOf(c);
      const sc = (c.securityContext ?? {}) as Json;
      if (!(podNonRoot || sc.runAsNonRoot === true)) v.push(`${p.owner}: container ${name} may run as root (runAsNonRoot not set)`);
      if (sc.runAsNonRoot === false || sc.runAsUser === 0) v.push(`${p.owner}: container ${name} runs as root`);
      if (sc.allowPrivilegeEscalation !== false) v.push(`${p.owner}: container ${name} may escalate privileges`);
      if (sc.privileged === true) v.push(`${p.owner}: container ${name} is privileged`);
      if (sc.readOnlyRootFilesystem !== true) v.push(`${p.owner}: container ${name} has a writable root file system`);
      if (!arr(get(sc, 'capabilities', 'drop')).includes('ALL' as never)) v.push(`${p.owner}: container ${name} keeps Linux capabilities`);
    }
  }
  return v;
}

export function namespacesWithoutDefaultDeny(objects: readonly Obj[]): string[] {
  const v: string[] = [];
  for (const ns of objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)) {
    const deny = objects.some((o) => {
      if (o.kind !== 'NetworkPolicy' || o.metadata.namespace !== ns) return false;
      const spec = (o.spec ?? {}) as Json;
      const all = Object.keys((spec.podSelector ?? {})).length === 0;
      const types = arr(spec.policyTypes) as unknown as string[];
      return all && types.includes('Ingress') && types.includes('Egress') && arr(spec.ingress).length === 0 && arr(spec.egress).length === 0;
    });
    if (!deny) v.push(`namespace ${ns} has no default-deny NetworkPolicy (ingress and egress)`);
    const strict = objects.some((o) => o.kind === 'PeerAuthentication' && o.metadata.namespace === ns && get(o, 'spec', 'mtls', 'mode') === 'STRICT' && get(o, 'spec', 'selector') === undefined);
    if (!strict) v.push(`namespace ${ns} has no namespace-wide STRICT PeerAuthentication`);
  }
  return v;
}

const nsOfPrincipal = (p: string): string | undefined => /\/ns\/([^/]+)\/sa\//.exec(p)?.[1];
const sameLabels = (a: unknown, b: unknown): boolean => JSON.stringify(Object.entries((a ?? {}) as Json).sort()) === JSON.stringify(Object.entries((b ?? {}) as Json).sort());

export function crossNamespaceCallsNotByIdentity(objects: readonly Obj[]): string[] {
  const v: string[] = [];
  const allows = objects.filter((o) => o.kind === 'AuthorizationPolicy' && (get(o, 'spec', 'action') ?? 'ALLOW') === 'ALLOW');
  // Every ALLOW rule names identities, and nothing else.
  for (const ap of allows) {
    const rules = arr(get(ap, 'spec', 'rules'));
    if (rules.length === 0) v.push(`${id(ap)}: an ALLOW policy without rules`);
    for (const r of rules) {
      const from = arr(r.from);
      if (from.length === 0) v.push(`${id(ap)}: a rule allows any caller (no from)`);
      for (const f of from) {
        const src = (f.source ?? {}) as Json;
        const keys = Object.keys(src).filter((k) => k !== 'principals');
        if (arr(src.principals).length === 0) v.push(`${id(ap)}: a rule allows callers without naming their identities`);
        if (keys.length > 0) v.push(`${id(ap)}: a rule allows by ${keys.join(', ')}, not by identity`);
      }
    }
  }
  // Every port the network opens to another namespace is allowed, by identity, to exactly those namespaces.
  for (const np of objects.filter((o) => o.kind === 'NetworkPolicy')) {
    const ns = np.metadata.namespace;
    const selector = get(np, 'spec', 'podSelector', 'matchLabels');
    for (const rule of arr(get(np, 'spec', 'ingress'))) {
      const froms = arr(rule.from);
      const netNs = new Set<string>();
      // Transit through the east-west gateway (calls from other clusters): allowed only where
      // the port is open to named identities and to nothing else.
      const transit = froms.length > 0 && froms.every((f) => get(f, 'namespaceSelector', 'matchLabels', 'kubernetes.io/metadata.name') === 'istio-system' && get(f, 'podSelector', 'matchLabels', 'istio') === 'eastwestgateway');
      if (transit) {
        for (const port of arr(rule.ports).map((p) => String(p.port))) {
          const named = allows.some((ap) => ap.metadata.namespace === ns && sameLabels(get(ap, 'spec', 'selector', 'matchLabels'), selector) && arr(get(ap, 'spec', 'rules')).some((r) => arr(r.to).some((t) => arr(get(t, 'operation', 'ports')).map(String).includes(port))));
          if (!named) v.push(`${id(np)}: port ${port} is open across clusters with no identity allowed on it`);
        }
        continue;
      }
      for (const f of froms) {
        if (f.ipBlock) v.push(`${id(np)}: ingress by IP block, not by identity`);
        const n = get(f, 'namespaceSelector', 'matchLabels', 'kubernetes.io/metadata.name');
        if (f.namespaceSelector !== undefined && typeof n !== 'string') v.push(`${id(np)}: ingress from namespaces selected by other than their name`);
        if (typeof n === 'string' && n !== ns) netNs.add(n);
      }
      if (froms.length === 0) v.push(`${id(np)}: ingress from anywhere`);
      if (netNs.size === 0) continue;
      for (const port of arr(rule.ports).map((p) => String(p.port))) {
        const principals = allows
          .filter((ap) => ap.metadata.namespace === ns && sameLabels(get(ap, 'spec', 'selector', 'matchLabels'), selector))
          .flatMap((ap) => arr(get(ap, 'spec', 'rules')))
          .filter((r) => arr(r.to).some((t) => arr(get(t, 'operation', 'ports')).map(String).includes(port)))
          .flatMap((r) => arr(r.from).flatMap((f) => arr(get(f, 'source', 'principals')) as unknown as string[]));
        const idNs = new Set(principals.map(nsOfPrincipal).filter((x): x is string => x !== undefined && x !== ns));
        for (const n of netNs) if (!idNs.has(n)) v.push(`${id(np)}: port ${port} is open to namespace ${n} with no identity of it allowed by an AuthorizationPolicy`);
        for (const n of idNs) if (!netNs.has(n)) v.push(`${id(np)}: identities of namespace ${n} are allowed on port ${port} that the network does not open to it`);
      }
    }
  }
  return v;
}

/** Routing on the decision: each region's route matches its own id in the decision header and goes to its own cells only. */
export function lawRoutingViolations(objects: readonly Obj[], regions: readonly string[]): string[] {
  const v: string[] = [];
  const custom = objects.filter((o) => o.kind === 'AuthorizationPolicy' && get(o, 'spec', 'action') === 'CUSTOM');
  const inferencePaths = custom.flatMap((ap) => arr(get(ap, 'spec', 'rules')).flatMap((r) => arr(r.to).flatMap((t) => arr(get(t, 'operation', 'paths')) as unknown as string[])));
  for (const p of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v2/models/*']) if (!inferencePaths.includes(p)) v.push(`inference path ${p} is not put to the law (no CUSTOM AuthorizationPolicy covers it)`);
  for (const vs of objects.filter((o) => o.kind === 'VirtualService')) {
    for (const route of arr(get(vs, 'spec', 'http'))) {
      const dests = arr(route.route).map((d) => String(get(d, 'destination', 'host')));
      const cellDests = dests.filter((h) => /^cell\.sovereign-/.test(h));
      if (cellDests.length === 0) continue;
      const matches = arr(route.match);
      for (const m of matches.length > 0 ? matches : [{}]) {
        const region = get(m, 'headers', ALLOW_HEADERS.region, 'exact');
        if (typeof region !== 'string' || !regions.includes(region)) v.push(`${id(vs)} route ${String(route.name)}: sends to cells without matching a decided region`);
        else for (const h of cellDests) if (h !== `cell.sovereign-${region}.svc.cluster.local`) v.push(`${id(vs)} route ${String(route.name)}: a decision for ${region} goes to ${h}`);
      }
    }
  }
  return v;
}

const covers = (paths: unknown, p: string): boolean => {
  if (!Array.isArray(paths) || paths.length === 0) return true;
  return (paths as string[]).some((x) => x === p || x === '*' || (x.endsWith('*') && p.startsWith(x.slice(0, -1))) || (x.startsWith('*') && p.endsWith(x.slice(1))));
};

/** Only the gateway may write to a region's ledger (POST /sovereign/ledger/append on a cell). */
export function ledgerWritersOtherThanGateway(objects: readonly Obj[]): string[] {
  const v: string[] = [];
  for (const ap of objects.filter((o) => o.kind === 'AuthorizationPolicy' && get(o, 'spec', 'selector', 'matchLabels', 'app.kubernetes.io/name') === 'sovereign-cell')) {
    for (const r of arr(get(ap, 'spec', 'rules'))) {
      const reaches = arr(r.to).length === 0 || arr(r.to).some((t) => covers(get(t, 'operation', 'paths'), '/sovereign/ledger/append') && (arr(get(t, 'operation', 'methods')).length === 0 || arr(get(t, 'operation', 'methods')).includes('POST' as never)));
      if (!reaches) continue;
      for (const f of arr(r.from)) for (const p of arr(get(f, 'source', 'principals')) as unknown as string[]) if (!/\/ns\/sovereign-gateway\/sa\/gateway$/.test(p)) v.push(`${id(ap)}: ${p} may append to the region's ledger`);
    }
  }
  return v;
}

const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** The ALLOW rules of the policies selecting `app` on `port`: each rule's principals, methods and paths there. */
function grantsOn(objects: readonly Obj[], app: string, port: number): { ap: Obj; principals: string[]; methods: string[]; paths: unknown }[] {
  const out: { ap: Obj; principals: string[]; methods: string[]; paths: unknown }[] = [];
  for (const ap of objects.filter((o) => o.kind === 'AuthorizationPolicy' && (get(o, 'spec', 'action') ?? 'ALLOW') === 'ALLOW' && get(o, 'spec', 'selector', 'matchLabels', 'app.kubernetes.io/name') === app)) {
    for (const r of arr(get(ap, 'spec', 'rules'))) {
      const principals = arr(r.from).flatMap((f) => arr(get(f, 'source', 'principals')) as unknown as string[]);
      for (const t of arr(r.to).length > 0 ? arr(r.to) : [{}]) {
        const ports = arr(get(t, 'operation', 'ports')).map(String);
        if (ports.length > 0 && !ports.includes(String(port))) continue;
        const methods = arr(get(t, 'operation', 'methods')) as unknown as string[];
        out.push({ ap, principals, methods: methods.length > 0 ? methods : ['GET', 'HEAD', ...WRITES], paths: get(t, 'operation', 'paths') });
      }
    }
  }
  return out;
}

/**
 * One-way model flow (residency: no model weights cross a border unexpectedly): golden
 * is written by operators and golden only, never by a region's cell (where regions' registries
 * run); a region's registry takes no write over the network, and only its own cell (and
 * operators) read it.
 */
export function registryFlowViolations(objects: readonly Obj[]): string[] {
  const v: string[] = [];
  const isCell = (p: string): boolean => /\/sa\/cell$/.test(p);
  for (const g of grantsOn(objects, 'sovereign-golden', PORTS.golden)) {
    if (!g.methods.some((m) => WRITES.includes(m)) || !covers(g.paths, '/v2/model/blobs/uploads/')) continue;
    for (const p of g.principals.filter(isCell)) v.push(`${id(g.ap)}: ${p} may write the golden registry`);
  }
  for (const g of grantsOn(objects, 'sovereign-cell', PORTS.registry)) {
    const ns = g.ap.metadata.namespace;
    if (g.methods.some((m) => WRITES.includes(m)) && covers(g.paths, '/v2/model/blobs/uploads/')) v.push(`${id(g.ap)}: the registry of ${ns} may be written over the network by ${g.principals.join(', ')}`);
    if (g.methods.includes('GET') && covers(g.paths, '/v2/model/manifests/1.0.0')) {
      for (const p of g.principals.filter(isCell)) if (!p.includes(`/ns/${ns}/sa/`)) v.push(`${id(g.ap)}: ${p} may read the registry of ${ns}`);
    }
  }
  return v;
}

export function securityViolations(objects: readonly Obj[], regions: readonly string[]): string[] {
  return [
    ...podsWithoutLimits(objects),
    ...podsThatMayRunAsRoot(objects),
    ...namespacesWithoutDefaultDeny(objects),
    ...crossNamespaceCallsNotByIdentity(objects),
    ...ledgerWritersOtherThanGateway(objects),
    ...registryFlowViolations(objects),
    ...lawRoutingViolations(objects, regions),
  ];
}
