// Every rendered object checked against its schema: Kubernetes' own (kubernetes-models),
// Istio's CRDs (@kubernetes-models/istio), the Prometheus Operator's ServiceMonitor
// (@kubernetes-models/prometheus-operator) and KServe's InferenceService (the zod schema in
// k8s/kserve.ts). An object of a kind with no schema here is an error, not a pass.
import { parseAllDocuments } from 'yaml';
import { Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { DestinationRule, Gateway, VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { EnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { firstIssue } from '../common/index.ts';
import { InferenceServiceSchema } from './k8s/kserve.ts';
import type { Tree } from './tree.ts';

type Validator = (o: Record<string, unknown>) => void;
const model = (M: new (o: never) => { validate(): void }): Validator => (o) => new M(o as never).validate();

const VALIDATORS: Record<string, Validator> = {
  'v1/Namespace': model(Namespace),
  'v1/Service': model(Service),
  'v1/ServiceAccount': model(ServiceAccount),
  'apps/v1/Deployment': model(Deployment),
  'apps/v1/StatefulSet': model(StatefulSet),
  'autoscaling/v2/HorizontalPodAutoscaler': model(HorizontalPodAutoscaler),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget),
  'networking.k8s.io/v1/NetworkPolicy': model(NetworkPolicy),
  'networking.istio.io/v1beta1/DestinationRule': model(DestinationRule),
  'networking.istio.io/v1beta1/Gateway': model(Gateway),
  'networking.istio.io/v1beta1/VirtualService': model(VirtualService),
  'networking.istio.io/v1alpha3/EnvoyFilter': model(EnvoyFilter),
  'security.istio.io/v1/AuthorizationPolicy': model(AuthorizationPolicy),
  'security.istio.io/v1beta1/PeerAuthentication': model(PeerAuthentication),
  'install.istio.io/v1alpha1/IstioOperator': model(IstioOperator),
  'monitoring.coreos.com/v1/ServiceMonitor': model(ServiceMonitor),
  'serving.kserve.io/v1beta1/InferenceService': (o) => {
    const r = InferenceServiceSchema.safeParse(o);
    if (!r.success) throw new Error(firstIssue(r.error, 'InferenceService'));
  },
};

export interface RenderedObject {
  file: string;
  object: Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
}

/** The Kubernetes objects of a tree (kustomizations, the topology and policy files left out). */
export function objectsOf(tree: Tree): RenderedObject[] {
  const out: RenderedObject[] = [];
  for (const [file, text] of tree) {
    if (!file.endsWith('.yaml') || file.endsWith('kustomization.yaml') || file.endsWith('/sovereign.yaml')) continue;
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
      out.push({ file, object: doc.toJSON() as RenderedObject['object'] });
    }
  }
  return out;
}

export interface SchemaFailure {
  file: string;
  kind: string;
  name: string;
  error: string;
}

/** Schema failures of the objects (empty when every object validates). */
export function validateObjects(objects: readonly RenderedObject[]): SchemaFailure[] {
  const failures: SchemaFailure[] = [];
  for (const { file, object: o } of objects) {
    const key = `${o.apiVersion}/${o.kind}`;
    const v = VALIDATORS[key];
    try {
      if (!v) throw new Error(`no schema for ${key}; Sovereign renders only kinds it can validate`);
      v(o);
    } catch (err) {
      failures.push({ file, kind: String(o.kind), name: String(o.metadata?.name), error: (err as Error).message.slice(0, 500) });
    }
  }
  return failures;
}
