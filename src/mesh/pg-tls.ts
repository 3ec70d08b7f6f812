// TLS for every PostgreSQL connection a Sovereign process makes (ledger backend, region store,
// shared region state, shared revocations): one place that turns a connection string and the
// topology into node-postgres settings.
//
// - TLS is on when the connection string asks for it (sslmode=require, verify-ca, verify-full;
//   also `ssl=true` and PGSSLMODE, as libpq reads them) or the topology does
//   (mesh.postgres.sslmode); the stricter of the two applies.
// - It never falls back to plain text: sslmode=prefer and allow (libpq's "TLS if the server
//   has it") are refused, and a server without TLS fails the connection.
// - The server is always verified: against mesh.postgres.caFile (or the URL's sslrootcert) when
//   the server's certificate comes from the operator's own CA, else against the trust bundle.
//   `require` is therefore verify-ca, as libpq does when it has a root certificate (PostgreSQL 15
//   docs, §34.19.1). verify-full also checks the host name against the certificate's DNS/IP SANs.
//   A server certificate of the trust domain is an SVID: it must name a database
//   (spiffe://<td>/postgres/...), or exactly mesh.postgres.serverId, and not be revoked.
// - The client certificate is the process's own X.509-SVID, read at every new connection, so a
//   renewed SVID (or a new trust bundle) applies to new connections while open ones stay open.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkServerIdentity, createSecureContext, type ConnectionOptions, type PeerCertificate, type SecureContext } from 'node:tls';
import type { Topology } from '../config/index.ts';
import { trustDomainPaths } from './paths.ts';
import { parseSpiffeId } from './spiffe-id.ts';
import type { PeerCheck } from './verify.ts';

/** What a process brings to its PostgreSQL connections; a Mesh is one. */
export interface PgTlsIdentity {
  /** The SVID chain, its key and the trust bundle in force now; null without one (mesh.mode plaintext). */
  serverTls(): { key: string; cert: string; ca: string } | null;
  /** Sovereign's checks of a certificate of the trust domain (issuer, revocations). */
  check(cert: PeerCertificate): PeerCheck;
}

export type PgSslMode = 'disable' | 'verify-ca' | 'verify-full';

/** Settings for a node-postgres Client or Pool: spread them into its config. */
export interface PgConnectionConfig {
  /** The connection string without its TLS parameters (Sovereign sets `ssl` itself). */
  connectionString: string;
  ssl: false | ConnectionOptions;
  /** The mode in force, and the settings it came from (for error messages). */
  sslmode: PgSslMode;
  setting: string;
}

const RANK: Record<PgSslMode, number> = { disable: 0, 'verify-ca': 1, 'verify-full': 2 };
/** URL parameters that choose TLS; node-postgres would read them too, so they are taken out. */
const TLS_PARAMS = ['sslmode', 'ssl', 'sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'sslcrl', 'sslcrldir', 'uselibpqcompat'];

export class PgTlsError extends Error {}

function modeOf(value: string, where: string): PgSslMode {
  switch (value) {
    case 'disable':
    case 'false':
    case '0':
      return 'disable';
    case 'require':
    case 'true':
    case '1':
    case 'verify-ca':
      return 'verify-ca';
    case 'verify-full':
      return 'verify-full';
    case 'prefer':
    case 'allow':
      throw new PgTlsError(
        `${where}: sslmode=${value} would fall back to plain text when the server has no TLS, and Sovereign never does; use sslmode=verify-full (or require / verify-ca) for TLS, or sslmode=disable for a server without it`,
      );
    default:
      throw new PgTlsError(`${where}: unknown sslmode "${value}"; expected disable, require, verify-ca or verify-full`);
  }
}

/**
 * The node-postgres settings for `url`, which came from `setting` (e.g. "ledger.postgresUrlEnv
 * (SOVEREIGN_LEDGER_POSTGRES_URL)"). Throws a PgTlsError naming the setting and the fix for a
 * TLS request that cannot be met (unreadable CA, client certificate files in the URL).
 */
export function pgConnectionConfig(t: Topology, setting: string, url: string, identity: PgTlsIdentity | null): PgConnectionConfig {
  const q = url.indexOf('?');
  const params = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
  for (const p of ['sslcert', 'sslkey', 'sslpassword']) {
    if (params.has(p)) throw new PgTlsError(`${setting}: ${p} in the connection string is not used: the client certificate is the process's own X.509-SVID; remove ${p} from it`);
  }
  for (const p of ['sslcrl', 'sslcrldir']) {
    if (params.has(p)) throw new PgTlsError(`${setting}: ${p} is not supported; revoke identities with \`sovereign mesh revoke\` and remove ${p} from the connection string`);
  }
  const fromUrl = params.get('sslmode') ?? params.get('ssl') ?? process.env.PGSSLMODE;
  const urlMode = fromUrl !== undefined && fromUrl !== null ? modeOf(fromUrl, `${setting}: ${params.has('sslmode') || params.has('ssl') ? 'the connection string' : 'PGSSLMODE'}`) : 'disable';
  const pgCfg = t.data.mesh.postgres;
  const topoMode: PgSslMode = pgCfg.sslmode === 'url' ? 'disable' : modeOf(pgCfg.sslmode, 'mesh.postgres.sslmode');
  const sslmode = RANK[topoMode] > RANK[urlMode] ? topoMode : urlMode;
  const rootcert = params.get('sslrootcert');
  for (const p of TLS_PARAMS) params.delete(p);
  const rest = params.toString();
  const connectionString = `${q >= 0 ? url.slice(0, q) : url}${rest ? `?${rest}` : ''}`;
  if (sslmode === 'disable') return { connectionString, ssl: false, sslmode, setting };

  // The CA the server's certificate must chain to.
  let operatorCa: { pem: string; from: string } | null = null;
  const caFile = rootcert ?? (pgCfg.caFile ? path.resolve(t.file === '<inline>' ? process.cwd() : path.dirname(t.file), pgCfg.caFile) : undefined);
  const caSetting = rootcert ? `sslrootcert in ${setting}` : 'mesh.postgres.caFile';
  if (caFile !== undefined) {
    try {
      operatorCa = { pem: readFileSync(caFile, 'utf8'), from: `${caSetting} (${caFile})` };
    } catch (err) {
      throw new PgTlsError(`${caSetting}: cannot read the CA certificate of the PostgreSQL server from ${caFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); point it at the PEM file of the CA that signed the server's certificate`);
    }
    if (!operatorCa.pem.includes('-----BEGIN CERTIFICATE-----')) throw new PgTlsError(`${caSetting}: ${caFile} holds no PEM certificate; point it at the PEM file of the CA that signed the server's certificate`);
  }
  const bundleFile = trustDomainPaths(t).bundle;
  const caNow = (): string => {
    if (operatorCa) return operatorCa.pem;
    const fromMesh = identity?.serverTls()?.ca;
    if (fromMesh) return fromMesh;
    try {
      return readFileSync(bundleFile, 'utf8');
    } catch {
      throw new PgTlsError(`${setting} asks for TLS (sslmode ${sslmode}) but there is no CA to verify the PostgreSQL server with: no trust bundle at ${bundleFile} (run \`sovereign mesh init\`) and no mesh.postgres.caFile`);
    }
  };
  caNow(); // fail at start-up, not at the first connection

  const td = t.data.mesh.trustDomain;
  const serverId = pgCfg.serverId;
  // One secure context per (SVID, CA) in force: built once, used by every new connection.
  let cached: { key: string; ctx: SecureContext } | null = null;
  const context = (): SecureContext => {
    const mine = identity?.serverTls() ?? null;
    const ca = caNow();
    const k = `${mine?.cert ?? ''}\n${ca}`;
    if (cached?.key === k) return cached.ctx;
    const ctx = createSecureContext({ ca, minVersion: 'TLSv1.2', ...(mine ? { key: mine.key, cert: mine.cert } : {}) });
    cached = { key: k, ctx };
    return ctx;
  };
  const ssl: ConnectionOptions = {
    rejectUnauthorized: true,
    // Read by node-postgres at each new connection (Object.assign calls the getter).
    get secureContext(): SecureContext {
      return context();
    },
    checkServerIdentity: (host: string, cert: PeerCertificate): Error | undefined => {
      if (sslmode === 'verify-full') {
        const e = checkServerIdentity(host, cert);
        if (e) return new PgTlsError(`${setting}: sslmode=verify-full: the PostgreSQL server's certificate does not name ${host} (${e.message}); issue it with that host (\`sovereign mesh issue spiffe://${td}/postgres/<name> --host ${host}\`) or connect by a name it has`);
      }
      return serverSvidProblem(cert, td, serverId, identity, setting);
    },
  };
  return { connectionString, ssl, sslmode, setting };
}

/** Why a server certificate of the trust domain is not acceptable for a database; undefined when it is (or is not of the trust domain). */
function serverSvidProblem(cert: PeerCertificate, td: string, serverId: string | undefined, identity: PgTlsIdentity | null, setting: string): PgTlsError | undefined {
  const uris = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  const ours = uris.map(parseSpiffeId).filter((p) => p?.trustDomain === td);
  if (serverId !== undefined) {
    if (!uris.includes(serverId)) return new PgTlsError(`${setting}: the PostgreSQL server is not ${serverId} (mesh.postgres.serverId); its certificate names ${uris.join(', ') || 'no URI'}`);
  } else if (ours.length === 0) {
    return undefined; // the operator's own CA (mesh.postgres.caFile): no SPIFFE rules apply
  } else if (ours.some((p) => p?.segments[0] !== 'postgres')) {
    // A cell's or a gateway's SVID chains to the same bundle: it must not pass for the database.
    return new PgTlsError(`${setting}: the PostgreSQL server presented ${uris.join(', ')}, which is not a database identity; issue the server spiffe://${td}/postgres/<name> (\`sovereign mesh issue\`) or set mesh.postgres.serverId`);
  }
  if (ours.length > 0 && identity) {
    const c = identity.check(cert);
    if (!c.ok) return new PgTlsError(`${setting}: the PostgreSQL server's certificate is refused: ${c.reason}`);
  }
  return undefined;
}

/** The connection settings of a configured backend's variable: null when the variable is unset. */
export function pgConnectionFromEnv(t: Topology, key: 'ledger' | 'store' | 'state', identity: PgTlsIdentity | null): PgConnectionConfig | null {
  const env = t.data[key].postgresUrlEnv;
  const url = process.env[env];
  if (!url) return null;
  return pgConnectionConfig(t, `${key}.postgresUrlEnv (${env})`, url, identity);
}

const CA_CODES = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE']);

/**
 * A connection error explained: which setting asked for what and how to fix it. Errors that are
 * not about TLS come back as they are.
 */
export function explainPgError(err: unknown, c: Pick<PgConnectionConfig, 'setting' | 'sslmode'>): Error {
  const e = err as NodeJS.ErrnoException & { severity?: string };
  const msg = e?.message ?? String(err);
  if (err instanceof PgTlsError) return err;
  const caHint = `the server's certificate must be signed by the trust domain (issue one with \`sovereign mesh issue spiffe://<trust domain>/postgres/<name> --host <host>\`) or by the CA in mesh.postgres.caFile`;
  if (/does not support SSL/.test(msg)) {
    return new PgTlsError(`${c.setting} asks for TLS (sslmode ${c.sslmode}) but the PostgreSQL server does not offer it; turn ssl on in the server's postgresql.conf (Sovereign never falls back to plain text), or set sslmode=disable for a server without TLS`);
  }
  if (e?.code && CA_CODES.has(e.code)) return new PgTlsError(`${c.setting}: the PostgreSQL server's certificate is not trusted (${msg}); ${caHint}`);
  if (e?.code?.startsWith('ERR_SSL_TLSV1_ALERT_') || e?.code?.startsWith('ERR_SSL_SSLV3_ALERT_')) {
    // The server ended the handshake: it refused the certificate this process presented (or its absence).
    return new PgTlsError(`${c.setting}: the PostgreSQL server does not trust this process's certificate (TLS ${/alert [a-z ]+/.exec(msg)?.[0] ?? msg.trim()}); the server's ssl_ca_file must hold the trust bundle (\`sovereign mesh issue\` writes it as bundle.pem)`);
  }
  if (e?.code === 'CERT_HAS_EXPIRED') return new PgTlsError(`${c.setting}: the PostgreSQL server's certificate has expired; renew the server's certificate`);
  if (e?.code === 'CERT_NOT_YET_VALID') return new PgTlsError(`${c.setting}: the PostgreSQL server's certificate is not valid yet; check the clocks, or re-issue it`);
  if (/certificate|pg_hba\.conf|SSL/i.test(msg) && e?.severity === 'FATAL') {
    return new PgTlsError(
      `${c.setting}: the PostgreSQL server refused the connection (${msg}); ${c.sslmode === 'disable' ? 'it may take TLS connections only: add sslmode=verify-full to the connection string' : "its pg_hba.conf must let this host in with TLS (`hostssl ... clientcert=verify-ca`) and its ssl_ca_file must hold the trust bundle, so this process's SVID is accepted"}`,
    );
  }
  return err instanceof Error ? err : new Error(msg);
}
