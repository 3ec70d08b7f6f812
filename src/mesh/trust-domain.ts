// The trust domain's certificate authorities: `sovereign mesh init` (and `sovereign up` on first
// start) creates the root and one signing CA per region plus one for the control plane; a
// process loads the one CA it may sign with. Keys are written with mode 0600 and never logged.
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Topology } from '../config/index.ts';
import { writeFileDurable } from '../common/durable-file.ts';
import { createIntermediateCa, createRootCa, importSigningKey, issueSvid, parsePemCerts, x509, type IssuedSvid, type SigningCa } from './certs.ts';
import { caPaths, issuerFor, issuerName, issuers, trustDomainPaths, type Issuer } from './paths.ts';
import { requireSpiffeId } from './spiffe-id.ts';

/** A signing CA is replaced when it has less than this left. */
const RENEW_CA_BEFORE_MS = 30 * 24 * 3600_000;

export class MeshError extends Error {
  readonly code = 'SOVEREIGN_MESH';
}

function readOrExplain(file: string, what: string, fix: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new MeshError(`cannot read the ${what} ${file} (${e.code ?? e.message}); ${fix}`);
  }
}

async function writeKey(file: string, pem: string): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileDurable(file, pem, { mode: 0o600 });
  chmodSync(file, 0o600);
}

async function writeCert(file: string, pem: string): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileDurable(file, pem, { mode: 0o644 });
}

function loadKeyPem(file: string, env: string | undefined, what: string): string {
  if (env) {
    const v = process.env[env];
    if (!v || v.trim() === '') throw new MeshError(`the ${what} is to come from the environment variable ${env} (mesh.rootKeyEnv), which is not set; export the PEM key in it`);
    return v;
  }
  const fix = `make it readable by this user (owner, mode 0600), or remove the CA files and run "sovereign mesh init" to create a new trust domain`;
  const pem = readOrExplain(file, what, fix);
  try {
    importSigningKey(pem);
  } catch (err) {
    throw new MeshError(`the ${what} ${file} is not a usable EC private key (${(err as Error).message}); ${fix}`);
  }
  return pem;
}

function toCa(certPem: string, keyPem: string): SigningCa {
  return { cert: new x509.X509Certificate(certPem), certPem, key: importSigningKey(keyPem) };
}

/** The root CA (its key is needed only to sign a new signing CA). */
export function loadRoot(t: Topology): SigningCa {
  const p = trustDomainPaths(t);
  const certPem = readOrExplain(p.rootCert, 'root CA certificate', 'run "sovereign mesh init", or set mesh.rootCertFile to your own root');
  return toCa(certPem, loadKeyPem(p.rootKey, t.data.mesh.rootKeyEnv, 'root CA key'));
}

/** The signing CA of `issuer`; a missing or unreadable file stops the caller with the file and the fix. */
export function loadSigningCa(t: Topology, issuer: Issuer): SigningCa {
  const p = caPaths(t, issuer);
  const certPem = readOrExplain(p.cert, `${issuerName(issuer)} certificate`, 'run "sovereign mesh init" (sovereign up does it on start)');
  return toCa(certPem, loadKeyPem(p.key, undefined, `${issuerName(issuer)} key`));
}

/** The PEM roots every workload trusts. */
export function readBundle(t: Topology): string {
  return readOrExplain(trustDomainPaths(t).bundle, 'trust bundle', 'run "sovereign mesh init" (sovereign up does it on start)');
}

export interface InitResult {
  created: string[];
  kept: string[];
}

function chainsTo(certPem: string, bundlePem: string): boolean {
  const [c] = parsePemCerts(certPem);
  return c !== undefined && parsePemCerts(bundlePem).some((r) => c.checkIssued(r) && c.verify(r.publicKey));
}

/**
 * Creates what is missing of the trust domain: the root (unless the operator brought one), the
 * trust bundle, and a signing CA per region and for the control plane; replaces a signing CA
 * that expires within 30 days or no longer chains to the bundle. Idempotent.
 */
export async function initTrustDomain(t: Topology, opts: { forceIssuers?: Issuer[] } = {}): Promise<InitResult> {
  const td = t.data.mesh.trustDomain;
  const p = trustDomainPaths(t);
  const out: InitResult = { created: [], kept: [] };
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  let root: SigningCa | null = null;
  if (!existsSync(p.rootCert)) {
    if (t.data.mesh.rootCertFile) throw new MeshError(`mesh.rootCertFile ${p.rootCert} does not exist; point it at your root CA certificate (PEM) or remove the key to let Sovereign create one`);
    const r = await createRootCa(td);
    await writeKey(p.rootKey, r.keyPem);
    await writeCert(p.rootCert, r.certPem);
    root = r;
    out.created.push(`root CA ${p.rootCert}`);
  } else {
    out.kept.push(`root CA ${p.rootCert}`);
  }
  const rootPem = readFileSync(p.rootCert, 'utf8');
  const bundle = existsSync(p.bundle) ? readFileSync(p.bundle, 'utf8') : '';
  if (!chainsTo(rootPem, bundle)) {
    await writeCert(p.bundle, `${bundle.trim()}\n${rootPem.trim()}\n`.trimStart());
    out.created.push(`trust bundle ${p.bundle}`);
  }
  const bundleNow = readFileSync(p.bundle, 'utf8');
  const force = new Set((opts.forceIssuers ?? []).map((i) => issuerName(i)));
  for (const issuer of issuers(t)) {
    const cp = caPaths(t, issuer);
    const current = existsSync(cp.cert) && existsSync(cp.key) ? readFileSync(cp.cert, 'utf8') : null;
    const fresh =
      current !== null &&
      !force.has(issuerName(issuer)) &&
      new x509.X509Certificate(current).notAfter.getTime() - Date.now() > RENEW_CA_BEFORE_MS &&
      chainsTo(current, rootPem) &&
      chainsTo(current, bundleNow);
    if (fresh) {
      out.kept.push(`${issuerName(issuer)} ${cp.cert}`);
      continue;
    }
    root ??= loadRoot(t);
    const ca = await createIntermediateCa(root, td, issuerName(issuer));
    await writeKey(cp.key, ca.keyPem);
    await writeCert(cp.cert, ca.certPem);
    out.created.push(`${issuerName(issuer)} ${cp.cert}`);
  }
  return out;
}

export interface IssuanceRecord {
  time: string;
  spiffe_id: string;
  serial: string;
  not_before: string;
  not_after: string;
  issuer: string;
  /** What asked for it: "workload" (a process's own SVID) or "operator" (sovereign mesh issue). */
  by: string;
}

/** Issues an SVID for `id` with the CA allowed to sign for it, and records the issuance. */
export async function issueFor(t: Topology, id: string, opts: { ttlSeconds?: number; by: string; now?: number; hosts?: readonly string[] }): Promise<IssuedSvid> {
  const parsed = requireSpiffeId(id, t.data.mesh.trustDomain);
  const issuer = issuerFor(parsed);
  const ca = loadSigningCa(t, issuer);
  const svid = await issueSvid(ca, id, opts.ttlSeconds ?? t.data.mesh.svidTtlSeconds, opts.now, opts.hosts);
  recordIssuance(t, issuer, svid, opts.by);
  return svid;
}

export function recordIssuance(t: Topology, issuer: Issuer, s: IssuedSvid, by: string): void {
  const rec: IssuanceRecord = { time: s.issuedAt.toISOString(), spiffe_id: s.spiffeId, serial: s.serial, not_before: s.notBefore.toISOString(), not_after: s.notAfter.toISOString(), issuer: issuerName(issuer), by };
  const file = caPaths(t, issuer).issued;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${JSON.stringify(rec)}\n`, { mode: 0o600 });
}

/** Every issuance recorded by the signing CAs of the topology. */
export function issuances(t: Topology): IssuanceRecord[] {
  return issuers(t).flatMap((i) => {
    const f = caPaths(t, i).issued;
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as IssuanceRecord];
        } catch {
          return [];
        }
      });
  });
}

/** The mode of a key file, to report loose permissions. */
export function fileMode(file: string): number | null {
  try {
    return statSync(file).mode & 0o777;
  } catch {
    return null;
  }
}

/**
 * Rotates signing CAs: a new key and certificate for each of `which`, signed by the root.
 * Processes that sign with it pick it up within a second (they watch its file) and renew their
 * SVIDs at once; SVIDs from the old CA stay valid until they expire, since the root is the same.
 */
export async function rotateSigningCas(t: Topology, which: Issuer[]): Promise<InitResult> {
  return initTrustDomain(t, { forceIssuers: which });
}

/**
 * Rotates the root with an overlap window: the new root joins the trust bundle first (every
 * process reloads the bundle within a second), then every signing CA is re-issued under it.
 * The old root stays in the bundle, so SVIDs chained to it keep working until they expire;
 * `retireOldRoots` removes it afterwards (after at least one SVID lifetime).
 */
export async function rotateRoot(t: Topology, opts: { settleMs?: number } = {}): Promise<InitResult> {
  if (t.data.mesh.rootCertFile || t.data.mesh.rootKeyEnv) throw new MeshError('the root CA is the operator\'s own (mesh.rootCertFile / mesh.rootKeyEnv): rotate it with your PKI, then point the topology at the new files');
  const p = trustDomainPaths(t);
  const oldBundle = readBundle(t);
  const root = await createRootCa(t.data.mesh.trustDomain);
  await writeCert(p.bundle, `${oldBundle.trim()}\n${root.certPem.trim()}\n`);
  await new Promise((r) => setTimeout(r, opts.settleMs ?? 1500));
  await writeKey(p.rootKey, root.keyPem);
  await writeCert(p.rootCert, root.certPem);
  const out = await initTrustDomain(t, { forceIssuers: issuers(t) });
  out.created.unshift(`root CA ${p.rootCert} (the previous root stays trusted until "sovereign mesh rotate --retire-old-roots")`);
  return out;
}

/** Drops every root but the current one from the trust bundle (end of a root rotation's overlap window). */
export async function retireOldRoots(t: Topology): Promise<number> {
  const p = trustDomainPaths(t);
  const current = readFileSync(p.rootCert, 'utf8');
  const before = parsePemCerts(readBundle(t)).length;
  await writeCert(p.bundle, `${current.trim()}\n`);
  return before - 1;
}
