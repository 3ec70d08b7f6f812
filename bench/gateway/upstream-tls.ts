// The benchmark upstreams' mutual-TLS listener: a throw-away CA, a server certificate for
// 127.0.0.1 and a client certificate (ECDSA P-256, as the mesh's SVIDs), made with openssl in
// the benchmark's temporary directory. The bare undici proxy calls the upstream through it
// ("undici-mtls"), so the baseline pays for mutual TLS on its one hop as Sovereign's gateway
// does on its hop to the cell; comparing the gateway with a plaintext proxy counts the mesh's
// encryption as the law's cost.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface UpstreamTls {
  /** PEM files: the CA both sides trust, the server's pair, the client's pair. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (${(err as Error).message.split('\n')[0]}); install openssl (Debian: apt-get install openssl) or leave undici-mtls out of --targets`);
  }
}

/** Makes (once per directory) the CA, server and client certificates; valid for a day. */
export function upstreamTls(dir: string): UpstreamTls {
  const d = path.join(dir, 'upstream-tls');
  const f: UpstreamTls = {
    ca: path.join(d, 'ca.pem'),
    serverCert: path.join(d, 'server.pem'),
    serverKey: path.join(d, 'server-key.pem'),
    clientCert: path.join(d, 'client.pem'),
    clientKey: path.join(d, 'client-key.pem'),
  };
  if (existsSync(f.clientCert)) return f;
  mkdirSync(d, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=bench upstream CA'], d);
  writeFileSync(path.join(d, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(path.join(d, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [who, ext] of [['server', 'server.ext'], ['client', 'client.ext']] as const) {
    openssl(['req', ...ec, '-keyout', `${who}-key.pem`, '-out', `${who}.csr`, '-subj', `/CN=bench ${who}`], d);
    openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', `${who}.pem`], d);
  }
  return f;
}
