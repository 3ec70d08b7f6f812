// `sovereign deploy render`: the kustomize tree for Kubernetes + Istio + KServe, validated
// before a file is written. `sovereign deploy nginx`: the nginx data plane's configuration.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { topologyOf } from './options.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = '0.1.0';

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a whole number of at least 1, got "${v}"`);
  return n;
};

interface RenderFlags {
  out: string;
  force?: boolean;
  image: string;
  tag: string;
  host: string[];
  tlsSecret: string;
  trustedProxies: string[];
  modelStorage: string;
  minReplicas: number;
  maxReplicas: number;
  dashboard: string;
  trustDomain?: string;
}

export function register(program: Command): void {
  const deploy = program.command('deploy').description('deployment: Kubernetes/Istio/KServe manifests, the nginx data plane');
  deploy
    .command('render')
    .description('render the kustomize tree (a base per component, an overlay per region cluster and for the global ingress), validated')
    .requiredOption('--out <dir>', 'directory to write the tree to')
    .option('--force', 'write into a directory that is not empty')
    .option('--image <repository>', 'image repository (images <repository>/gateway:<tag>, <repository>/cell:<tag>)', 'registry.example/sovereign')
    .option('--tag <tag>', 'image tag', VERSION)
    .option('--host <names>', 'public host names of the inference API, comma-separated', list, ['inference.example.com'])
    .option('--tls-secret <name>', 'TLS secret of the Istio ingress gateway', 'sovereign-ingress-tls')
    .option('--trusted-proxies <cidrs>', "addresses whose X-Forwarded-For the gateway believes (the sidecar's inbound address and the pod network)", list, ['127.0.0.6/32', '10.0.0.0/8'])
    .option('--model-storage <uri>', "where regions' model repositories are published (KServe storageUri prefix)", 'oci://registry.example/sovereign-models')
    .option('--min-replicas <n>', 'gateway replicas, at least', int('--min-replicas'), 2)
    .option('--max-replicas <n>', 'gateway replicas, at most', int('--max-replicas'), 10)
    .option('--trust-domain <name>', "trust domain of the workloads' identities (default: the topology's mesh.trustDomain, else sovereign.internal)")
    .option('--dashboard <file>', 'Grafana dashboard to ship as a ConfigMap', path.join(ROOT, 'deploy/grafana/sovereign.json'))
    .action(async (o: RenderFlags, cmd: Command) => {
      const { renderTree, objectsOf, securityViolations, validateObjects } = await import('../deploy/index.ts');
      if (o.maxReplicas < o.minReplicas) throw new Error(`--max-replicas (${o.maxReplicas}) is below --min-replicas (${o.minReplicas})`);
      const out = path.resolve(o.out);
      let existing: string[] = [];
      try {
        existing = readdirSync(out);
      } catch {
        // a new directory
      }
      if (existing.length > 0 && !o.force) throw new Error(`--out ${out} is not empty; choose a new directory or pass --force to write over it`);
      const topology = topologyOf(cmd);
      const { tree, notes } = renderTree(topology, {
        image: { repository: o.image, tag: o.tag },
        hosts: o.host,
        tlsSecret: o.tlsSecret,
        trustedProxies: o.trustedProxies,
        modelStorage: o.modelStorage,
        minReplicas: o.minReplicas,
        maxReplicas: o.maxReplicas,
        dashboard: o.dashboard,
        ...(o.trustDomain ? { trustDomain: o.trustDomain } : {}),
      });
      const objects = objectsOf(tree);
      const failures = validateObjects(objects);
      if (failures.length > 0) {
        throw new Error(`the rendered tree does not validate; nothing was written:\n${failures.map((f) => `  ${f.file} ${f.kind}/${f.name}: ${f.error}`).join('\n')}`);
      }
      const insecure = securityViolations(objects.map((x) => x.object), topology.regions.map((r) => r.id));
      if (insecure.length > 0) throw new Error(`the rendered tree breaks Sovereign's security properties; nothing was written:\n${insecure.map((v) => `  ${v}`).join('\n')}`);
      for (const [rel, text] of tree) {
        const file = path.join(out, rel);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
      console.log(`rendered ${objects.length} objects in ${tree.size} files to ${out} (every object validated against its schema; security properties checked)`);
      for (const n of notes) console.log(`note: ${n}`);
      console.log(`next: kubectl kustomize ${path.join(out, 'overlays/global-ingress')} | kubectl apply -f -   (and each overlays/region-<id> in its region's cluster)`);
    });

  deploy
    .command('nginx')
    .description('print an nginx configuration: auth_request to the gateway decision endpoint, routing to the decided region')
    .option('--listen <host:port>', 'where nginx listens', '127.0.0.1:8443')
    .option('--gateway <url>', "the gateway's origin (default: from the topology)")
    .option('--prefix <dir>', 'directory for pid, logs and temporary files', '/var/lib/sovereign-nginx')
    .option('--workers <n>', 'worker_processes', int('--workers'), 1)
    .option('--client-cert <cert,key,ca>', 'mutual TLS to the cells: client certificate, key and trust bundle files, comma-separated')
    .action(async (o: { listen: string; gateway?: string; prefix: string; workers: number; clientCert?: string }, cmd: Command) => {
      const { renderNginxConfig } = await import('../deploy/index.ts');
      const topology = topologyOf(cmd);
      const tls = o.clientCert ? list(o.clientCert) : undefined;
      if (tls && tls.length !== 3) throw new Error('--client-cert: expected three files: certificate,key,trust bundle');
      const g = topology.data.gateway;
      process.stdout.write(
        renderNginxConfig(topology, {
          listen: o.listen,
          gateway: o.gateway ?? `http://${g.host === '0.0.0.0' ? '127.0.0.1' : g.host}:${g.port}`,
          prefix: path.resolve(o.prefix),
          workers: o.workers,
          ...(tls ? { upstreamTls: { certificate: tls[0] as string, key: tls[1] as string, trustedCa: tls[2] as string } } : {}),
        }),
      );
    });
}
