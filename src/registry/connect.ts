// Clients of the topology's registries for a process with a mesh identity: golden (regions'
// registries pull from it, the publisher pushes to it), a region's registry and its orders API
// (the CLI, golden's first-start promotion). Each connects with the process's SVID and expects
// the registry's own SPIFFE ID under mtls; plaintext mode and external registries use tokens.
import type { Dispatcher } from 'undici';
import type { ClientOptions } from './client.ts';
import type { Topology } from '../config/index.ts';
import type { Mesh } from '../mesh/index.ts';
import { RegistryClient } from './client.ts';
import { externalRegistryToken, goldenUrl, regionAdminUrl, regionRegistryUrl, registryToken } from './endpoints.ts';
import { RegistryError } from './errors.ts';
import { registryConnect, registryDispatcher, registryId } from './transport.ts';

/** The token to send to an embedded registry: only in plaintext mode (identities do it under mtls). */
function plaintextToken(t: Topology, mesh: Mesh): string | undefined {
  return mesh.mode === 'plaintext' ? registryToken(t, false) : undefined;
}

/** A client of golden (`override`: another URL for it; `extra`: e.g. where a push keeps its sessions). */
export function goldenClient(t: Topology, mesh: Mesh, override?: string, extra: Pick<ClientOptions, 'sessionDir' | 'onResume'> = {}): RegistryClient {
  const url = override ?? goldenUrl(t);
  if (!url) throw new RegistryError('UNAVAILABLE', `the golden registry is not known: set registry.golden.url in ${t.file}, or start Sovereign (sovereign up), which runs it`);
  if (t.data.registry.golden.kind === 'external') {
    const token = externalRegistryToken(t);
    return new RegistryClient(url, { ...extra, dispatcher: registryDispatcher(), ...(token ? { token } : {}) });
  }
  const token = plaintextToken(t, mesh);
  const id = registryId(t, { kind: 'golden' });
  // Blobs come off a connection of their own (regions replicating 1 GiB artifacts).
  const connect = registryConnect(mesh, url, id);
  return new RegistryClient(url, { ...extra, dispatcher: registryDispatcher(mesh, url, id), ...(token ? { token } : {}), ...(connect ? { connect } : {}) });
}

/** A client of a region's registry (distribution API). */
export function regionRegistryClient(t: Topology, mesh: Mesh, region: string): RegistryClient {
  const url = regionRegistryUrl(t, region);
  if (!url) throw new RegistryError('UNAVAILABLE', `region ${region}'s registry is not running (no endpoint in its data directory); start Sovereign (sovereign up)`);
  if (t.region(region)?.registry.kind === 'external') {
    const token = externalRegistryToken(t);
    return new RegistryClient(url, { dispatcher: registryDispatcher(), ...(token ? { token } : {}) });
  }
  return new RegistryClient(url, { dispatcher: registryDispatcher(mesh, url, registryId(t, { kind: 'region', region })) });
}

/** Where and how to send an order to a region (its cell process's registry orders API). */
export function regionOrders(t: Topology, mesh: Mesh, region: string): { url: string; dispatcher: Dispatcher; headers: Record<string, string> } {
  const url = regionAdminUrl(t, region);
  if (!url) throw new RegistryError('UNAVAILABLE', `region ${region}'s registry is not running (no endpoint in its data directory); start Sovereign (sovereign up)`);
  const token = plaintextToken(t, mesh);
  return { url, dispatcher: registryDispatcher(mesh, url, registryId(t, { kind: 'region', region })), headers: token ? { authorization: `Bearer ${token}` } : {} };
}
