// Where each registry of a topology lives (data directory, URL) and the token that authorizes
// writes to golden and orders to regions in plaintext mode (under mtls, identities do). An
// embedded registry without a configured URL listens on a free port and writes its URL to
// "<its data dir>/endpoint", where the CLI finds it. An embedded registry's URL takes the mesh's
// scheme (https under mtls) whatever the topology writes, as cells' URLs do.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadToken } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { writeFileDurable } from '../common/index.ts';
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

/** The token of Sovereign's own registries in plaintext mode (writes to golden, orders to regions). */
export function registryToken(t: Topology, create: boolean): string | undefined {
  return loadToken(path.join(t.dataDir, 'registry-token'), t.data.registry.tokenEnv, create);
}

/** A bearer token for an external OCI registry that needs one: the variable named by registry.tokenEnv. */
export function externalRegistryToken(t: Topology): string | undefined {
  const v = process.env[t.data.registry.tokenEnv];
  return v && v.trim() !== '' ? v.trim() : undefined;
}

/** An embedded registry's URL with the mesh's scheme (https under mtls, http in plaintext). */
function meshScheme(t: Topology, url: string): string {
  const u = new URL(url);
  return `${t.data.mesh.mode === 'mtls' ? 'https' : 'http'}://${u.host}`;
}

export async function writeEndpoint(dir: string, url: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeFileDurable(path.join(dir, 'endpoint'), `${url}\n`, { mode: 0o644 });
}

function endpointIn(dir: string): string | undefined {
  const f = path.join(dir, 'endpoint');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}

/** Golden's distribution API URL: configured, or the running embedded golden's. */
export function goldenUrl(t: Topology): string | undefined {
  const g = t.data.registry.golden;
  if (g.kind === 'external') return g.url;
  return g.url ? meshScheme(t, g.url) : endpointIn(goldenDataDir(t));
}

/** A region's registry URL (distribution API): configured, or announced by its running cell. */
export function regionRegistryUrl(t: Topology, region: string): string | undefined {
  const r = t.region(region)?.registry;
  if (r?.kind === 'external') return r.url;
  return r?.url ? meshScheme(t, r.url) : endpointIn(regionRegistryDir(t, region));
}

/** Where a region takes promotion and activation orders (its cell's registry admin API). */
export function regionAdminUrl(t: Topology, region: string): string | undefined {
  const r = t.region(region);
  if (!r) return undefined;
  if (r.registry.kind === 'embedded' && r.registry.url) return meshScheme(t, r.registry.url);
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
