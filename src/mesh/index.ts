// mesh: the trust domain's CAs, SPIFFE X.509-SVIDs with renewal, mutual TLS for every
// service-to-service channel, authorization by identity, and the network exposure table.
export { spiffeId, parseSpiffeId, requireSpiffeId, workloadOf, type ParsedSpiffeId, type Workload } from './spiffe-id.ts';
export { Mesh, type PoolOptions, type ServerTls } from './workload.ts';
export { authorizeByIdentity } from './authz.ts';
export { CELL_ROUTES, GOLDEN_REGISTRY_ROUTES, REGION_REGISTRY_ROUTES, EXPOSURE, allowedIds, callerMatches, type Caller, type ExposureRow, type RouteRule } from './exposure.ts';
export { initTrustDomain, rotateRoot, rotateSigningCas, retireOldRoots, issueFor, issuances, loadRoot, loadSigningCa, readBundle, recordIssuance, MeshError, type InitResult, type IssuanceRecord } from './trust-domain.ts';
export { caPaths, issuerFor, issuerName, issuers, trustDomainPaths, type Issuer } from './paths.ts';
export { addRevocation, readRevocations, writeRevocations, revokedBecause, type Revocation, type RevocationList } from './revocation.ts';
export { createRootCa, issueSvid, parsePemCerts, privateKeyPem, x509, BACKDATE_MS, type IssuedSvid } from './certs.ts';
export { checkPeer, type PeerCheck } from './verify.ts';
export { followRevocations, publishRevocations, type PgSource, type PublishResult } from './pg-revocations.ts';
export { explainPgError, pgConnectionConfig, pgConnectionFromEnv, PgTlsError, type PgConnectionConfig, type PgSslMode, type PgTlsIdentity } from './pg-tls.ts';
