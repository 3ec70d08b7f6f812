// Certificates of the trust domain, built with @peculiar/x509 on WebCrypto (ECDSA P-256,
// SHA-256). Each function cites the SPIFFE X509-SVID section it implements.
// @peculiar/x509 resolves its services with tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName as AsnGeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
/**
 * Certificates start this long before they are issued, so a peer whose clock is a few
 * minutes behind the issuer's still accepts them (renewal is timed from issuance).
 */
export const BACKDATE_MS = 5 * 60_000;

export interface SigningCa {
  cert: x509.X509Certificate;
  certPem: string;
  key: CryptoKey;
}

export interface IssuedSvid {
  spiffeId: string;
  serial: string;
  /** The leaf, PEM. */
  certPem: string;
  /** The leaf's private key, PKCS#8 PEM. */
  keyPem: string;
  /** Leaf then signing CA, PEM: what a workload presents in a handshake. */
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
  issuedAt: Date;
}

function serial(): string {
  // RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 random bytes with the top bit clear.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] as number) & 0x7f;
  return Buffer.from(b).toString('hex');
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']));
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Imports a PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY") as a WebCrypto signing key. */
export function importSigningKey(pem: string): CryptoKey {
  return createPrivateKey(pem).toCryptoKey(EC, false, ['sign']);
}

/**
 * SPIFFE X509-SVID §4.2: URI name constraints limit a signing CA to the trust domain. RFC 5280
 * §4.2.1.10 matches a URI constraint against the host part, which for a SPIFFE ID is the trust
 * domain; paths cannot be constrained, so verifiers also check that a leaf's issuer is the CA
 * allowed for its path (see verify.ts).
 */
function nameConstraints(td: string): x509.Extension {
  const nc = new NameConstraints({ permittedSubtrees: new GeneralSubtrees([new GeneralSubtree({ base: new AsnGeneralName({ uniformResourceIdentifier: td }) })]) });
  return new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(nc));
}

/** SPIFFE X509-SVID §3.2 and §4.1/§4.3: a signing certificate has cA=true and keyCertSign (+cRLSign); its SPIFFE ID has no path. */
function caExtensions(td: string, pathLength?: number): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${td}` }], false),
    nameConstraints(td),
  ];
}

export async function createRootCa(td: string, years = 10): Promise<SigningCa & { keyPem: string }> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `O=${td}, CN=Sovereign root CA`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + years * 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: SIGN,
    extensions: [...caExtensions(td, 1), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  return { cert, certPem: cert.toString('pem'), key: keys.privateKey, keyPem: await privateKeyPem(keys.privateKey) };
}

export async function createIntermediateCa(root: SigningCa, td: string, commonName: string, days = 365): Promise<SigningCa & { keyPem: string }> {
  const keys = await keyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `O=${td}, CN=${commonName}`,
    issuer: root.cert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(Math.min(now + days * 24 * 3600_000, root.cert.notAfter.getTime())),
    publicKey: keys.publicKey,
    signingKey: root.key,
    signingAlgorithm: SIGN,
    extensions: [
      ...caExtensions(td, 0),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root.cert),
    ],
  });
  return { cert, certPem: cert.toString('pem'), key: keys.privateKey, keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * An X.509-SVID leaf (SPIFFE X509-SVID §2: exactly one URI SAN; §3.1: leaf, critical SAN since
 * the subject is empty; §4.1: cA=false; §4.3: digitalSignature only, critical; §4.4: EKU
 * serverAuth + clientAuth). The key pair is new for every issuance. `hosts` become DNS or IP
 * SANs (§2 allows other SAN types) so stock tools such as curl can check a server by address;
 * Sovereign's own checks use the SPIFFE ID only.
 */
export async function issueSvid(ca: SigningCa, spiffeId: string, ttlSeconds: number, now = Date.now(), hosts: readonly string[] = []): Promise<IssuedSvid> {
  const keys = await keyPair();
  const notBefore = new Date(now - BACKDATE_MS);
  const notAfter = new Date(Math.min(now + ttlSeconds * 1000, ca.cert.notAfter.getTime()));
  const sn = serial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: sn,
    subject: '',
    issuer: ca.cert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }, ...hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h }))], true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  const certPem = cert.toString('pem');
  return { spiffeId, serial: sn, certPem, keyPem: await privateKeyPem(keys.privateKey), chainPem: `${certPem}\n${ca.certPem.trim()}\n`, notBefore, notAfter, issuedAt: new Date(now) };
}

/** Splits a PEM bundle into certificates (Node's parser). */
export function parsePemCerts(pem: string): NodeX509[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new NodeX509(p));
}

export { x509 };
