// Where each registry of a topology lives (data directory, URL) and the token that authorizes
// writes to golden and orders to regions. An embedded registry without a configured URL listens
// on a free port and writes its URL to "<its data dir>/endpoint", where the CLI finds it.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadToken } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { writeDurable } from '../ledger/index.ts';
import { publisherKey, type PublisherKey } from './dsse.ts';

export function goldenDataDir(t: Topology): string {
  return path.join(t.dataDir, 'golden');
}

export function regionRegistryDir(t: Topology, region: string): string {
  return path.join(t.regionDataDir(region), 'registry');
}

export function publisherKeyFile(t: Topology): string {
  return path.join(goldenDataDir(t), 'keys', 'publisher.key');
}

/** The region whose ledger records transfers out of golden. */
export function goldenRegion(t: Topology): string {
  return t.data.registry.golden.region ?? (t.regions[0] as { id: string }).id;
}

export function registryToken(t: Topology, create: boolean): string | undefined {
  return loadToken(path.join(t.dataDir, 'registry-token'), t.data.registry.tokenEnv, create);
}

export async function writeEndpoint(dir: string, url: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeDurable(path.join(dir, 'endpoint'), Buffer.from(`${url}\n`));
}

function endpointIn(dir: string): string | undefined {
  const f = path.join(dir, 'endpoint');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}

/** Golden's distribution API URL: configured, or the running embedded golden's. */
export function goldenUrl(t: Topology): string | undefined {
  return t.data.registry.golden.url ?? endpointIn(goldenDataDir(t));
}

/** A region's registry URL (distribution API): configured, or announced by its running cell. */
export function regionRegistryUrl(t: Topology, region: string): string | undefined {
  return t.region(region)?.registry.url ?? endpointIn(regionRegistryDir(t, region));
}

/** Where a region takes promotion and activation orders (its cell's registry admin API). */
export function regionAdminUrl(t: Topology, region: string): string | undefined {
  const r = t.region(region);
  if (!r) return undefined;
  if (r.registry.kind === 'embedded' && r.registry.url) return r.registry.url;
  return endpointIn(path.join(regionRegistryDir(t, region), 'admin'));
}

/** Publisher keys the regions trust: registry.publishers, or golden's own key for the single-machine default. */
export function trustedPublishers(t: Topology): PublisherKey[] {
  const listed = t.data.registry.publishers;
  if (listed.length > 0) return listed.map((p) => publisherKey(p.publicKey, `registry.publishers[${p.id}] in ${t.file}`));
  const pub = `${publisherKeyFile(t)}.pub`;
  if (!existsSync(pub)) return [];
  return [publisherKey(readFileSync(pub, 'utf8'), pub)];
}
