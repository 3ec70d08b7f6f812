// Shared fixtures: the shipped topology with the transfer lines the default policies expect.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_PATH, topologyFrom, type ConfigInput, type Topology } from '../../src/config/index.ts';
import { DEFAULT_POLICY_PATH } from '../../src/policy/index.ts';

/** sovereign.yaml with `contract: [SG]` on the EU and UAE regions (and uae-dubai's scc: [EU]). */
export function defaultTopology(withSgContracts = true): Topology {
  const data = parse(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as ConfigInput & { regions: { id: string; transfers?: Record<string, string[]> }[] };
  for (const r of data.regions) {
    const contract = withSgContracts ? ['SG'] : [];
    if (r.id === 'uae-dubai') r.transfers = { scc: ['EU'], contract };
    if (r.id === 'eu-frankfurt' || r.id === 'eu-paris') r.transfers = { contract };
  }
  return topologyFrom(data, DEFAULT_CONFIG_PATH);
}

export const defaultPolicyText = (): string => readFileSync(DEFAULT_POLICY_PATH, 'utf8');

export const HEADER = (id: string, rationale = 'test', ref = 'test'): string => `@id("${id}") @rationale("${rationale}") @legal_ref("${ref}")`;
