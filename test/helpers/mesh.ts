// The one way tests call a cell directly: over mutual TLS, presenting an X.509-SVID issued by
// the cluster's own trust domain (a gateway identity unless the test asks for another), as an
// operator would with `sovereign mesh issue` and curl.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, fetch, request, type Dispatcher, type RequestInit, type Response } from 'undici';
import { loadTopology, type Topology } from '../../src/config/index.ts';
import { issueFor, readBundle, spiffeId, type IssuedSvid } from '../../src/mesh/index.ts';

export interface MeshClient {
  id: string;
  svid: IssuedSvid;
  /** PEM files of the SVID chain, its key and the trust bundle (for curl, openssl). */
  files: { cert: string; key: string; bundle: string };
  dispatcher: Agent;
  /** undici request through the identity's mTLS agent. */
  request(url: string, opts?: Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & { method?: Dispatcher.HttpMethod }): Promise<Dispatcher.ResponseData>;
  /** fetch through the identity's mTLS agent. */
  fetch(url: string, init?: Omit<RequestInit, 'dispatcher'>): Promise<Response>;
  close(): Promise<void>;
}

/** Issues an SVID for `id` (default: a gateway identity) from the trust domain of `configFile` or `topology`. */
export async function meshClient(config: string | Topology, id?: string, opts: { ttlSeconds?: number } = {}): Promise<MeshClient> {
  const topology = typeof config === 'string' ? loadTopology(config) : config;
  const who = id ?? spiffeId.gateway(topology.data.mesh.trustDomain, 'test');
  const svid = await issueFor(topology, who, { by: 'test', ...(opts.ttlSeconds !== undefined ? { ttlSeconds: opts.ttlSeconds } : {}) });
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-svid-'));
  const files = { cert: path.join(dir, 'svid.pem'), key: path.join(dir, 'svid.key'), bundle: path.join(dir, 'bundle.pem') };
  writeFileSync(files.cert, svid.chainPem);
  writeFileSync(files.key, svid.keyPem, { mode: 0o600 });
  writeFileSync(files.bundle, readBundle(topology));
  // The cells' SVIDs carry their address as an IP SAN, so the stock host check applies too.
  const dispatcher = new Agent({ connect: { cert: svid.chainPem, key: svid.keyPem, ca: readBundle(topology) } });
  return {
    id: who,
    svid,
    files,
    dispatcher,
    request: (url, o = {}) => request(url, { ...o, dispatcher }),
    fetch: (url, init = {}) => fetch(url, { ...init, dispatcher }),
    close: () => dispatcher.close(),
  };
}
