// Checks a peer's X.509-SVID after the TLS stack has validated its chain to the trust bundle
// (RFC 5280 path validation, SPIFFE X509-SVID §5.1): what OpenSSL does not know about SPIFFE.
import type { PeerCertificate } from 'node:tls';
import { x509 } from './certs.ts';
import { issuerFor, issuerName } from './paths.ts';
import { revokedBecause, type RevocationList } from './revocation.ts';
import { parseSpiffeId } from './spiffe-id.ts';

export type PeerCheck = { ok: true; id: string } | { ok: false; reason: string };

/** Leaf facts parsed once per certificate (connections are many, certificates few). */
const leafCache = new Map<string, { uris: string[]; leafUsageOk: boolean }>();

function leafFacts(raw: Buffer, fingerprint: string): { uris: string[]; leafUsageOk: boolean } {
  const hit = leafCache.get(fingerprint);
  if (hit) return hit;
  const c = new x509.X509Certificate(raw);
  const san = c.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = san ? san.names.items.filter((n) => n.type === 'url').map((n) => n.value) : [];
  const ku = c.getExtension(x509.KeyUsagesExtension);
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  // SPIFFE X509-SVID §5.2: cA false, no keyCertSign or cRLSign; §4.3: key usage present.
  const leafUsageOk = ku !== null && (ku.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) === 0 && (ku.usages & x509.KeyUsageFlags.digitalSignature) !== 0 && !(bc?.ca ?? false);
  const facts = { uris, leafUsageOk };
  if (leafCache.size > 4096) leafCache.clear();
  leafCache.set(fingerprint, facts);
  return facts;
}

/**
 * SPIFFE X509-SVID §5.2 leaf validation, then Sovereign's rules: the trust domain is ours, the
 * issuing CA is the one allowed to sign for the ID's path (a region's CA only for that region's
 * identities, the control-plane CA for the rest), and nothing of it is revoked.
 */
export function checkPeer(cert: PeerCertificate | undefined, trustDomain: string, revoked: RevocationList): PeerCheck {
  if (!cert || !cert.raw) return { ok: false, reason: 'no client certificate' };
  const { uris, leafUsageOk } = leafFacts(cert.raw, cert.fingerprint256);
  if (uris.length !== 1) return { ok: false, reason: `certificate has ${uris.length} URI SANs; an X.509-SVID has exactly one (SPIFFE X509-SVID §2)` };
  const id = uris[0] as string;
  if (!leafUsageOk) return { ok: false, reason: `certificate for ${id} is not a leaf SVID (cA, keyCertSign or cRLSign set; SPIFFE X509-SVID §5.2)` };
  const parsed = parseSpiffeId(id);
  if (!parsed) return { ok: false, reason: `URI SAN "${id}" is not a SPIFFE ID with a path` };
  if (parsed.trustDomain !== trustDomain) return { ok: false, reason: `${id} is of trust domain ${parsed.trustDomain}, not ${trustDomain}` };
  // The leaf's issuer name is the subject of the CA whose key signed it: path validation
  // matched the two, and signing CAs cannot make CAs below them (pathLenConstraint 0).
  const expected = issuerName(issuerFor(parsed));
  const issuerCn = String(cert.issuer?.CN ?? '');
  if (issuerCn !== expected) return { ok: false, reason: `${id} was issued by "${issuerCn}", but only "${expected}" may sign for it` };
  const why = revokedBecause(revoked, id, cert.serialNumber, issuerCn);
  if (why) return { ok: false, reason: why };
  return { ok: true, id };
}
