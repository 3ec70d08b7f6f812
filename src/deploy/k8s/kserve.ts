// KServe InferenceServices for regions whose runtime is a model server (runtime.kind
// upstream): the model server runs in the region's own cluster and namespace, and the cell
// reaches it at the predictor's Service. There is no KServe model package on npm; the objects
// are checked against InferenceServiceSchema below, written from the serving.kserve.io/v1beta1
// API reference for the fields rendered here (strict: an unknown or misspelt field fails).
import { z } from 'zod';
import type { RegionConfig } from '../../config/index.ts';
import { regionNamespace } from '../exposure.ts';
import { RUN_AS, SIZING } from './workloads.ts';

const Quantity = z.union([z.string().regex(/^[0-9.]+[a-zA-Z]*$/), z.number()]);
const Resources = z.strictObject({ requests: z.record(z.string(), Quantity).optional(), limits: z.record(z.string(), Quantity).optional() });

export const InferenceServiceSchema = z.strictObject({
  apiVersion: z.literal('serving.kserve.io/v1beta1'),
  kind: z.literal('InferenceService'),
  metadata: z.strictObject({
    name: z.string().regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/).max(45, 'KServe derives Service names from it: at most 45 characters'),
    namespace: z.string().min(1),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    predictor: z.strictObject({
      minReplicas: z.number().int().min(0).optional(),
      maxReplicas: z.number().int().min(1).optional(),
      serviceAccountName: z.string().optional(),
      securityContext: z.strictObject({ runAsNonRoot: z.boolean(), runAsUser: z.number().int(), fsGroup: z.number().int().optional(), seccompProfile: z.strictObject({ type: z.string() }).optional() }).optional(),
      model: z.strictObject({
        modelFormat: z.strictObject({ name: z.string().min(1), version: z.string().optional() }),
        protocolVersion: z.enum(['v1', 'v2', 'grpc-v2']).optional(),
        runtime: z.string().optional(),
        storageUri: z.string().regex(/^(gs|s3|pvc|hdfs|webhdfs|oci|https?):\/\//, 'expected a KServe storage URI (s3://, gs://, pvc://, oci://, https://...)'),
        resources: Resources,
        securityContext: z.strictObject({ runAsNonRoot: z.boolean(), allowPrivilegeEscalation: z.boolean(), readOnlyRootFilesystem: z.boolean(), capabilities: z.strictObject({ drop: z.array(z.string()) }) }).optional(),
      }),
    }),
  }),
});

export type InferenceService = z.infer<typeof InferenceServiceSchema>;

/** The one InferenceService of a region: its model server, serving every model of the region. */
export const ISVC_NAME = 'model-server';

/** Predictor Service URL of a region's model server (KServe RawDeployment mode: <name>-predictor). */
export function predictorUrl(region: string): string {
  return `http://${ISVC_NAME}-predictor.${regionNamespace(region)}.svc.cluster.local`;
}

/**
 * The model server of a region with an upstream runtime (the topology gives a region one
 * runtime URL, so one server holds all its models). Open Inference Protocol V2 regions get
 * protocolVersion v2 (Triton format); OpenAI-protocol regions get KServe's Hugging Face
 * runtime, which serves the OpenAI API. storageUri: where the region's registry publishes its
 * model repository (an OCI artifact), <storagePrefix>/<region>; patch it per region.
 */
export function inferenceServices(region: RegionConfig, storagePrefix: string): InferenceService[] {
  if (region.runtime.kind !== 'upstream') return [];
  const v2 = region.runtime.protocol === 'v2';
  return [
    {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: {
        name: ISVC_NAME,
        namespace: regionNamespace(region.id),
        labels: { 'app.kubernetes.io/part-of': 'sovereign', 'sovereign.io/region': region.id },
        annotations: { 'serving.kserve.io/deploymentMode': 'RawDeployment', 'sidecar.istio.io/inject': 'true', 'sovereign.io/models': region.models.join(',') },
      },
      spec: {
        predictor: {
          minReplicas: 1,
          maxReplicas: 4,
          securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: 'RuntimeDefault' } },
          model: {
            modelFormat: { name: v2 ? 'triton' : 'huggingface' },
            ...(v2 ? { protocolVersion: 'v2' as const } : {}),
            storageUri: `${storagePrefix}/${region.id}`,
            resources: { requests: { ...SIZING.cell.requests }, limits: { ...SIZING.cell.limits } },
            securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          },
        },
      },
    },
  ];
}
