// The bases: the gateway (Deployment, HorizontalPodAutoscaler, PodDisruptionBudget, Service,
// ServiceMonitor), a region's cell (StatefulSet with volumes for ledger, store and registry,
// Service; the cell's process also serves the region's model registry) and the golden model
// registry (StatefulSet with its volume, Service). Region-independent: an overlay gives the namespace, the region id and
// the topology. Every pod: non-root, read-only root file system, no privilege escalation, no
// capabilities, requests and limits.
import { Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IContainer, IPodSecurityContext, IVolume, IVolumeMount } from 'kubernetes-models/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { PORTS, WORKLOADS } from '../exposure.ts';

export interface ImageSettings {
  /** Repository prefix; images are <repository>/gateway:<tag> and <repository>/cell:<tag>. */
  repository: string;
  tag: string;
}

/** The uid of the images' non-root user (distroless "nonroot"). */
export const RUN_AS = 65532;
export const CONFIG_DIR = '/etc/sovereign';
export const DATA_DIR = '/var/lib/sovereign';
export const TOPOLOGY_CONFIGMAP = 'sovereign-topology';
/** Secrets the operator creates (never rendered: no secret is in the tree). */
export const SECRETS = {
  admin: 'sovereign-admin',
  postgres: 'sovereign-postgres',
  /** The registry token (the mesh is Istio's here, so Sovereign's registries run in plaintext mode with it). */
  registry: 'sovereign-registry',
} as const;

const podSecurity: IPodSecurityContext = { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: 'RuntimeDefault' } };
const containerSecurity = { runAsNonRoot: true, runAsUser: RUN_AS, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } };

/** Requests and limits (a starting point; scale with kustomize patches). */
export const SIZING = {
  gateway: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } },
  cell: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
  golden: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '2', memory: '1Gi' } },
} as const;

/** The Service of a region's registry (in the cell's pod). */
export const REGISTRY_SERVICE = 'cell-registry';

/** Golden's volume: every published release, its signatures and the publisher key. */
export const GOLDEN_VOLUME = { name: 'golden', mountPath: `${DATA_DIR}/golden`, size: '100Gi' } as const;

/** Volume claims of a cell: each region keeps its own, nothing is shared across regions. */
export const CELL_VOLUMES = [
  { name: 'ledger', mountPath: `${DATA_DIR}/regions`, size: '20Gi' },
  { name: 'store', mountPath: `${DATA_DIR}/store`, size: '20Gi' },
  { name: 'registry', mountPath: `${DATA_DIR}/registry`, size: '50Gi' },
] as const;

const secretEnv = (name: string, secret: string, key: string, optional = false): NonNullable<IContainer['env']>[number] => ({ name, valueFrom: { secretKeyRef: { name: secret, key, optional } } });

const commonVolumes: IVolume[] = [
  { name: 'topology', configMap: { name: TOPOLOGY_CONFIGMAP } },
  { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
];
const commonMounts: IVolumeMount[] = [
  { name: 'topology', mountPath: CONFIG_DIR, readOnly: true },
  { name: 'tmp', mountPath: '/tmp' },
];

const labels = (component: string): Record<string, string> => ({ 'app.kubernetes.io/name': `sovereign-${component}`, 'app.kubernetes.io/part-of': 'sovereign', 'app.kubernetes.io/component': component });

/** Names of the environment variables that carry secrets (the topology's *Env settings). */
export interface SecretEnvNames {
  admin: string;
  statePostgres: string;
  ledgerPostgres: string;
  registry: string;
}

export function gatewayBase(image: ImageSettings, opts: { minReplicas: number; maxReplicas: number }, envNames: SecretEnvNames): object[] {
  const l = labels('gateway');
  const sa = WORKLOADS.gateway.serviceAccount;
  const container: IContainer = {
    name: 'gateway',
    image: `${image.repository}/gateway:${image.tag}`,
    args: ['--config', `${CONFIG_DIR}/sovereign.yaml`, 'gateway', '--host', '0.0.0.0', '--port', String(PORTS.gateway), '--replica', '$(POD_NAME)'],
    ports: [{ name: 'http', containerPort: PORTS.gateway, protocol: 'TCP' }],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      secretEnv(envNames.admin, SECRETS.admin, 'token'),
      // Several replicas share region state (legal triggers) through PostgreSQL.
      secretEnv(envNames.statePostgres, SECRETS.postgres, 'url'),
    ],
    readinessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
    resources: SIZING.gateway,
    securityContext: containerSecurity,
    volumeMounts: [...commonMounts, { name: 'data', mountPath: DATA_DIR }],
  };
  return [
    new ServiceAccount({ metadata: { name: sa, labels: l }, automountServiceAccountToken: false }),
    new Deployment({
      metadata: { name: 'gateway', labels: l },
      spec: {
        selector: { matchLabels: l },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels: { ...l, 'sidecar.istio.io/inject': 'true' }, annotations: { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' } },
          spec: {
            serviceAccountName: sa,
            automountServiceAccountToken: false,
            securityContext: podSecurity,
            terminationGracePeriodSeconds: 40,
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: l } }],
            containers: [container],
            // The ledger outbox (records for a home region that was down) lives here: it survives
            // container restarts, not the pod's deletion (see the deployment guide).
            volumes: [...commonVolumes, { name: 'data', emptyDir: { sizeLimit: '1Gi' } }],
          },
        },
      },
    }),
    new HorizontalPodAutoscaler({
      metadata: { name: 'gateway', labels: l },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gateway' },
        minReplicas: opts.minReplicas,
        maxReplicas: opts.maxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
      },
    }),
    new PodDisruptionBudget({ metadata: { name: 'gateway', labels: l }, spec: { minAvailable: 1, selector: { matchLabels: l } } }),
    new Service({ metadata: { name: 'gateway', labels: l }, spec: { selector: l, ports: [{ name: 'http', port: PORTS.gateway, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }] } }),
    // Prometheus scrapes through the mesh's mutual TLS with Istio's certificates mounted (the
    // documented Istio set-up for STRICT namespaces).
    new ServiceMonitor({
      metadata: { name: 'gateway', labels: l },
      spec: {
        selector: { matchLabels: l },
        endpoints: [{ port: 'http', path: '/metrics', interval: '15s', scheme: 'https', tlsConfig: { caFile: '/etc/prom-certs/root-cert.pem', certFile: '/etc/prom-certs/cert-chain.pem', keyFile: '/etc/prom-certs/key.pem', insecureSkipVerify: true } }],
      },
    }),
  ];
}

export function cellBase(image: ImageSettings, envNames: SecretEnvNames): object[] {
  const l = labels('cell');
  const sa = 'cell';
  const container: IContainer = {
    name: 'cell',
    image: `${image.repository}/cell:${image.tag}`,
    args: ['--config', `${CONFIG_DIR}/sovereign.yaml`, 'cell', '--region', '$(SOVEREIGN_REGION)', '--host', '0.0.0.0'],
    ports: [
      { name: 'http', containerPort: PORTS.cell, protocol: 'TCP' },
      { name: 'registry', containerPort: PORTS.registry, protocol: 'TCP' },
    ],
    env: [
      { name: 'SOVEREIGN_REGION', valueFrom: { configMapKeyRef: { name: 'cell-region', key: 'region' } } },
      // Only with ledger.backend postgres (several cell replicas sharing one log).
      secretEnv(envNames.ledgerPostgres, SECRETS.postgres, 'url', true),
      secretEnv(envNames.registry, SECRETS.registry, 'token'),
    ],
    readinessProbe: { httpGet: { path: '/v2/health/ready', port: 'http' }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/v2/health/live', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
    resources: SIZING.cell,
    securityContext: containerSecurity,
    volumeMounts: [...commonMounts, ...CELL_VOLUMES.map((v) => ({ name: v.name, mountPath: v.mountPath }))],
  };
  return [
    new ServiceAccount({ metadata: { name: sa, labels: l }, automountServiceAccountToken: false }),
    // One sequencer per log: one replica with the file ledger (ledger.backend postgres allows more).
    singleStatefulSet('cell', l, sa, container, CELL_VOLUMES, 'OrderedReady'),
    new Service({ metadata: { name: 'cell', labels: l }, spec: { selector: l, ports: [{ name: 'http', port: PORTS.cell, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }] } }),
    // The region's registry has its own Service, reachable before the cell is ready: a cell
    // becomes ready once a release is active, and its first release arrives through this port.
    new Service({
      metadata: { name: REGISTRY_SERVICE, labels: l },
      spec: { selector: l, publishNotReadyAddresses: true, ports: [{ name: 'registry', port: PORTS.registry, targetPort: 'registry', protocol: 'TCP', appProtocol: 'http' }] },
    }),
  ];
}

/**
 * A StatefulSet of one replica with the Istio sidecar (started before the application, so the
 * first outbound call already has the mesh) and one volume claim per entry of `volumes`.
 */
function singleStatefulSet(name: string, l: Record<string, string>, sa: string, container: IContainer, volumes: readonly { name: string; size: string }[], podManagementPolicy?: 'OrderedReady'): StatefulSet {
  return new StatefulSet({
    metadata: { name, labels: l },
    spec: {
      serviceName: name,
      replicas: 1,
      ...(podManagementPolicy ? { podManagementPolicy } : {}),
      selector: { matchLabels: l },
      template: {
        metadata: { labels: { ...l, 'sidecar.istio.io/inject': 'true' }, annotations: { 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts": true}' } },
        spec: { serviceAccountName: sa, automountServiceAccountToken: false, securityContext: podSecurity, terminationGracePeriodSeconds: 30, containers: [container], volumes: commonVolumes },
      },
      volumeClaimTemplates: volumes.map((v) => ({ metadata: { name: v.name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: v.size } } } })),
    },
  });
}

/**
 * The golden registry: one replica on its own volume (its publications and golden's publisher
 * key, which never leaves it). It runs from the cell image (`sovereign golden`), which carries
 * the shipped model it publishes at first start.
 */
export function goldenBase(image: ImageSettings, envNames: SecretEnvNames): object[] {
  const l = labels('golden');
  const sa = WORKLOADS.golden.serviceAccount;
  const container: IContainer = {
    name: 'golden',
    image: `${image.repository}/cell:${image.tag}`,
    args: ['--config', `${CONFIG_DIR}/sovereign.yaml`, 'golden', '--host', '0.0.0.0', '--port', String(PORTS.golden)],
    ports: [{ name: 'http', containerPort: PORTS.golden, protocol: 'TCP' }],
    env: [secretEnv(envNames.registry, SECRETS.registry, 'token')],
    // Ready once the shipped model is published (first start); alive while it accepts connections.
    readinessProbe: { httpGet: { path: '/sovereign/golden/ready', port: 'http' }, periodSeconds: 5 },
    livenessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
    resources: SIZING.golden,
    securityContext: containerSecurity,
    volumeMounts: [...commonMounts, { name: GOLDEN_VOLUME.name, mountPath: GOLDEN_VOLUME.mountPath }],
  };
  return [
    new ServiceAccount({ metadata: { name: sa, labels: l }, automountServiceAccountToken: false }),
    singleStatefulSet('golden', l, sa, container, [GOLDEN_VOLUME]),
    // Regions may pull while golden still publishes the shipped model (it is ready after that).
    new Service({ metadata: { name: 'golden', labels: l }, spec: { selector: l, publishNotReadyAddresses: true, ports: [{ name: 'http', port: PORTS.golden, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }] } }),
  ];
}
