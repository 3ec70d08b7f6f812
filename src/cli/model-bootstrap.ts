// First start: the shipped text-analysis model is published to golden (signed with golden's
// publisher key) and promoted to every region the promotion policies allow, exactly as an
// operator would with `sovereign model push` and `sovereign model promote`, as golden's own
// identity (spiffe://<td>/golden/registry, which the exposure table lets publish to golden and
// order regions to pull). Golden may be embedded or an external OCI registry (registry.golden
// kind external): the release is published there either way. Regions that already hold the
// release are left alone, so a restart records nothing twice.
import { request } from 'undici';
import { shippedModel } from '../cell/index.ts';
import type { Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { PromotionPolicy } from '../policy/index.ts';
import type { Mesh } from '../mesh/index.ts';
import { goldenClient, loadOrCreateSigningKey, orderPull, publishModel, publisherKeyFile, regionOrders } from '../registry/index.ts';

async function holds(t: Topology, mesh: Mesh, region: string, name: string, version: string): Promise<boolean | null> {
  try {
    const { url: admin, dispatcher, headers } = regionOrders(t, mesh, region);
    const res = await request(`${admin}/sovereign/registry/status`, { dispatcher, headers, signal: AbortSignal.timeout(2000) });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return null;
    }
    const s = (await res.body.json()) as { models: { name: string; version: string }[] };
    return s.models.some((m) => m.name === name && m.version === version);
  } catch {
    return null;
  }
}

/** `golden.url`: the embedded golden's own address (unset: registry.golden.url, e.g. an external registry). */
export async function bootstrapShippedModel(t: Topology, golden: { mesh: Mesh; url?: string }, logger: Logger): Promise<void> {
  const { dir, config } = shippedModel();
  const { mesh } = golden;
  const client = goldenClient(t, mesh, golden.url);
  if ((await client.hasManifest(config.name, config.version)) === null) {
    const r = await publishModel(client, dir, config, loadOrCreateSigningKey(publisherKeyFile(t)));
    logger.info({ release: `${r.name}:${r.version}`, digest: r.digest, files: r.files, golden: client.url }, 'shipped model published to golden');
  }
  const policy = PromotionPolicy.load(t);
  const attrs = { name: config.name, version: config.version, licence: config.licence, runtime: config.runtime.kind, trainingDataClass: config.trainingData.dataClass, trainingJurisdictions: config.trainingData.jurisdictions };
  // In the background: the cells start beside golden and take the order once they listen.
  for (const r of t.regions) {
    if (r.runtime.kind !== 'embedded') continue;
    const verdict = policy.verdict(attrs, r.id);
    if (!verdict.allowed) {
      logger.warn({ region: r.id, policies: verdict.policies.map((p) => p.id), cause: verdict.cause }, 'shipped model not promoted: the promotion policies refuse it');
      continue;
    }
    void (async () => {
      const deadline = Date.now() + 120_000;
      for (let delay = 100; Date.now() < deadline; delay = Math.min(delay * 2, 2000)) {
        const has = await holds(t, mesh, r.id, config.name, config.version);
        if (has === true) return;
        if (has === false) {
          try {
            const { digest } = await orderPull(t, mesh, r.id, config.name, config.version, verdict.policies.map((p) => p.id));
            logger.info({ region: r.id, digest }, 'shipped model promoted');
            return;
          } catch (err) {
            logger.warn({ region: r.id, err: (err as Error).message }, 'promotion of the shipped model failed; retrying');
          }
        }
        await new Promise((res) => setTimeout(res, delay).unref());
      }
      logger.error({ region: r.id }, 'the shipped model could not be promoted to this region within 120 s');
    })();
  }
}
