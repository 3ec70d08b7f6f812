// Where the trust domain's files live. The root CA, the trust bundle and the revocation list
// belong to the trust domain (<dataDir>/mesh); each signing CA below the root lives with the
// workloads it signs for: a region's CA in that region's data directory (the region stays
// self-contained and is cut off by revoking its CA), the control-plane CA (gateways, operators)
// in the gateway's data directory.
import path from 'node:path';
import type { Topology } from '../config/index.ts';
import { workloadOf, type ParsedSpiffeId } from './spiffe-id.ts';

export type Issuer = { kind: 'control' } | { kind: 'region'; region: string };

export interface TrustDomainPaths {
  dir: string;
  rootCert: string;
  rootKey: string;
  /** PEM roots every workload trusts (more than one during a root rotation). */
  bundle: string;
  /** Revoked identities, serials and CAs (JSON), read by every process. */
  revoked: string;
}

export interface CaPaths {
  dir: string;
  cert: string;
  key: string;
  /** One JSON line per certificate this CA issued. */
  issued: string;
}

export function trustDomainPaths(t: Topology): TrustDomainPaths {
  const m = t.data.mesh;
  const base = t.file === '<inline>' ? process.cwd() : path.dirname(t.file);
  const dir = m.dir ? path.resolve(base, m.dir) : path.join(t.dataDir, 'mesh');
  return {
    dir,
    rootCert: m.rootCertFile ? path.resolve(base, m.rootCertFile) : path.join(dir, 'root.crt'),
    rootKey: m.rootKeyFile ? path.resolve(base, m.rootKeyFile) : path.join(dir, 'root.key'),
    bundle: path.join(dir, 'bundle.pem'),
    revoked: path.join(dir, 'revoked.json'),
  };
}

export function caPaths(t: Topology, issuer: Issuer): CaPaths {
  const dir = issuer.kind === 'region' ? path.join(t.regionDataDir(issuer.region), 'mesh') : path.join(t.gatewayDataDir(), 'mesh');
  return { dir, cert: path.join(dir, 'ca.crt'), key: path.join(dir, 'ca.key'), issued: path.join(dir, 'issued.jsonl') };
}

/** The CA allowed to sign for an identity: a region's cell and anything under region/<id>/ by that region's CA; everything else by the control-plane CA. */
export function issuerFor(p: ParsedSpiffeId): Issuer {
  const w = workloadOf(p);
  if (w.kind === 'cell') return { kind: 'region', region: w.region };
  if (p.segments[0] === 'region' && p.segments[1]) return { kind: 'region', region: p.segments[1] };
  return { kind: 'control' };
}

/** The subject common name of an issuer's CA certificate (what a verifier matches the leaf's issuer against). */
export function issuerName(i: Issuer): string {
  return i.kind === 'region' ? `Sovereign region ${i.region} CA` : 'Sovereign control plane CA';
}

export function issuers(t: Topology): Issuer[] {
  return [{ kind: 'control' }, ...t.regions.map((r): Issuer => ({ kind: 'region', region: r.id }))];
}
