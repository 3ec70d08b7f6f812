// The request path's decision without a running gateway: for `sovereign route --explain` and
// benchmarks. Same code as the gateway's (identify, classify, decide), no health (every
// region counts as up), nothing forwarded or recorded.
import { createClassifier } from '../classify/index.ts';
import type { Topology } from '../config/index.ts';
import { openGeoForTopology, type Geo } from '../geo/index.ts';
import { PolicyEngine } from '../policy/index.ts';
import { Decider } from './decide.ts';
import { decideRequest, explanation, type PipelineDeps, type PipelineInput } from './pipeline.ts';

export interface OfflineDecider {
  deps: PipelineDeps;
  explain(input: PipelineInput): Record<string, unknown>;
  close(): void;
}

export async function openOfflineDecider(topology: Topology, policyFile?: string): Promise<OfflineDecider> {
  const policy = new PolicyEngine(topology);
  const loaded = policy.loadFile(policyFile);
  if (!loaded.ok) throw loaded.error;
  const geo: Geo = await openGeoForTopology(topology, { watch: false });
  const deps: PipelineDeps = { topology, geo, classifier: createClassifier({ customPatterns: topology.data.classify.patterns, uninspectable: topology.data.classify.uninspectable }), decider: new Decider(topology, policy) };
  return {
    deps,
    explain(input) {
      const { d, decided } = decideRequest(deps, input);
      return explanation(d, decided);
    },
    close() {
      geo.close();
    },
  };
}
