// Promotion: golden → regions, one way, only where the law allows. The release's config blob
// (read from golden, signature verified) gives the model's attributes; the promotion policies
// decide per region; each permitted region is ordered to pull (and does the verification and
// the ledger entries itself); each refused one is reported with the policy ids and rationale.
import { request } from 'undici';
import type { Topology } from '../config/index.ts';
import type { PromotionPolicy, PromotionVerdict } from '../policy/index.ts';
import type { Mesh } from '../mesh/index.ts';
import { goldenClient, regionOrders } from './connect.ts';
import { trustedPublishers } from './endpoints.ts';
import { RegistryError } from './errors.ts';
import { clientReader } from './reader.ts';
import { verifyArtifact } from './verify.ts';

export interface PromotionOutcome {
  region: string;
  verdict: PromotionVerdict;
  /** Set when the region pulled and recorded it. */
  digest?: string;
  /** Set when the region could not pull (refused artifact, ledger down, network). */
  error?: { code: string; message: string };
}

/** Orders `region` to pull name:version from golden (as `mesh`'s identity); streams its progress. */
export async function orderPull(t: Topology, mesh: Mesh, region: string, name: string, version: string, policyIds: readonly string[], onProgress?: (done: number, total: number) => void): Promise<{ digest: string }> {
  const { url: admin, dispatcher, headers } = regionOrders(t, mesh, region);
  let res;
  try {
    res = await request(`${admin}/sovereign/registry/pull`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ name, version, policy_ids: policyIds }),
    });
  } catch (err) {
    throw new RegistryError('UNAVAILABLE', `region ${region} (${admin}) does not answer: ${(err as Error).message}`);
  }
  if (res.statusCode !== 200) throw new RegistryError('UNAVAILABLE', `region ${region} refused the pull order: HTTP ${res.statusCode} ${(await res.body.text()).slice(0, 300)}`);
  let buf = '';
  let result: { digest: string } | undefined;
  let error: { code: string; message: string } | undefined;
  for await (const chunk of res.body) {
    buf += (chunk as Buffer).toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() === '') continue;
      const msg = JSON.parse(line) as { progress?: { done: number; total: number }; result?: { digest: string }; error?: { code: string; message: string } };
      if (msg.progress) onProgress?.(msg.progress.done, msg.progress.total);
      if (msg.result) result = msg.result;
      if (msg.error) error = msg.error;
    }
  }
  if (error) throw new RegistryError(error.code as RegistryError['code'], `region ${region}: ${error.message}`);
  if (!result) throw new RegistryError('UNAVAILABLE', `region ${region}: the pull ended without a result (connection cut?); promote again to resume`);
  return result;
}

/** Asks the policy for each region, orders the permitted ones to pull, reports every outcome. */
export async function promoteRelease(
  t: Topology,
  mesh: Mesh,
  policy: PromotionPolicy,
  name: string,
  version: string,
  regions: readonly string[],
  onProgress?: (region: string, done: number, total: number) => void,
): Promise<PromotionOutcome[]> {
  const a = await verifyArtifact(clientReader(goldenClient(t, mesh)), name, version, trustedPublishers(t));
  const attrs = {
    name: a.config.name,
    version: a.config.version,
    licence: a.config.licence,
    runtime: a.config.runtime.kind,
    trainingDataClass: a.config.trainingData.dataClass,
    trainingJurisdictions: a.config.trainingData.jurisdictions,
  };
  return Promise.all(
    regions.map(async (region): Promise<PromotionOutcome> => {
      const verdict = policy.verdict(attrs, region);
      if (!verdict.allowed) return { region, verdict };
      try {
        const r = await orderPull(t, mesh, region, name, version, verdict.policies.map((p) => p.id), (d, tot) => onProgress?.(region, d, tot));
        return { region, verdict, digest: r.digest };
      } catch (err) {
        const e = err as RegistryError;
        return { region, verdict, error: { code: e.code ?? 'UNAVAILABLE', message: e.message } };
      }
    }),
  );
}
