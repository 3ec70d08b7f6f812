// The benchmark upstreams' mutual-TLS listener: a throw-away CA, a server certificate for
// 127.0.0.1 and a client certificate, made by the mesh's own issuance code (src/mesh/certs.ts:
// ECDSA P-256 SVIDs, serverAuth and clientAuth) in the benchmark's temporary directory. The bare
// undici proxy calls the upstream through it ("undici-mtls"), so the baseline pays for mutual
// TLS on its one hop as Sovereign's gateway does on its hop to the cell; comparing the gateway
// with a plaintext proxy counts the mesh's encryption as the law's cost.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRootCa, issueSvid } from '../../src/mesh/index.ts';

export interface UpstreamTls {
  /** PEM files: the CA both sides trust, the server's pair, the client's pair. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const TRUST_DOMAIN = 'bench.upstream.invalid';

/** Makes (once per directory) the CA, server and client certificates; valid for a day. */
export async function upstreamTls(dir: string): Promise<UpstreamTls> {
  const d = path.join(dir, 'upstream-tls');
  const f: UpstreamTls = {
    ca: path.join(d, 'ca.pem'),
    serverCert: path.join(d, 'server.pem'),
    serverKey: path.join(d, 'server-key.pem'),
    clientCert: path.join(d, 'client.pem'),
    clientKey: path.join(d, 'client-key.pem'),
  };
  if (existsSync(f.clientKey)) return f;
  mkdirSync(d, { recursive: true, mode: 0o700 });
  const ca = await createRootCa(TRUST_DOMAIN, 1);
  const day = 24 * 3600;
  const server = await issueSvid(ca, `spiffe://${TRUST_DOMAIN}/upstream`, day, Date.now(), ['127.0.0.1']);
  const client = await issueSvid(ca, `spiffe://${TRUST_DOMAIN}/proxy`, day);
  writeFileSync(f.ca, ca.certPem);
  writeFileSync(f.serverCert, server.certPem);
  writeFileSync(f.serverKey, server.keyPem, { mode: 0o600 });
  writeFileSync(f.clientCert, client.certPem);
  writeFileSync(f.clientKey, client.keyPem, { mode: 0o600 });
  return f;
}
