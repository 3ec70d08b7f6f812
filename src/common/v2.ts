// Open Inference Protocol V2 (KServe) request shape accepted at the edge.
// Spec: https://github.com/kserve/open-inference-protocol — "Inference Request JSON Object".
import { z } from 'zod';

export const V2TensorSchema = z.looseObject({
  name: z.string().min(1, 'expected the tensor name'),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string().min(1, 'expected a datatype such as "BYTES"'),
  data: z.array(z.unknown()),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

export const V2InferRequestSchema = z.looseObject({
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(V2TensorSchema).min(1, 'expected at least one input tensor'),
  outputs: z.array(z.looseObject({ name: z.string() })).optional(),
});

export type V2InferRequest = z.infer<typeof V2InferRequestSchema>;

export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

export interface V2InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: V2Tensor[];
}

/** Flattens a BYTES tensor's data (possibly nested) into strings. */
export function bytesTensorStrings(t: { data: unknown[] }): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
  };
  walk(t.data);
  return out;
}

/**
 * A cell's answer to the server-ready probe (Open Inference Protocol "Server Ready":
 * `{ "ready": $boolean }`), with Sovereign's additions: the region, and the models its runtime
 * serves, so that the gateway tries a region that lacks a model only after those that have it.
 * `models` is optional: an answer without it (another OIP server) says nothing about models.
 */
export const CellReadySchema = z.looseObject({
  ready: z.boolean(),
  region: z.string().optional(),
  models: z.array(z.string().max(256)).max(1024).optional(),
});

export type CellReady = z.infer<typeof CellReadySchema>;
