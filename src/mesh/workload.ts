// A process's place in the mesh: its X.509-SVID (issued in memory by the one CA it may sign
// with, renewed at half its lifetime), the trust bundle (reloaded when the file changes), the
// revocation list in force, TLS for its server and pooled mTLS clients to its peers.
import { existsSync, unwatchFile, watchFile, readFileSync } from 'node:fs';
import { connect as netConnect, type OnReadOpts, type Socket } from 'node:net';
import { createSecureContext, type PeerCertificate, type SecureContext, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { buildConnector, Pool } from 'undici';
import type { Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { IssuedSvid } from './certs.ts';
import { caPaths, issuerFor, trustDomainPaths } from './paths.ts';
import { RevocationWatch, revokedBecause, type Revocation } from './revocation.ts';
import { requireSpiffeId, spiffeId } from './spiffe-id.ts';
import { issueFor, readBundle } from './trust-domain.ts';
import { checkPeer, type PeerCheck } from './verify.ts';

export interface PoolOptions {
  connections?: number;
  pipelining?: number;
  keepAliveTimeout?: number;
  connectTimeout?: number;
  /** Long bodies (registry blobs): the longest silence between chunks before a cut. */
  bodyTimeout?: number;
  headersTimeout?: number;
  /** TLS 1.3 cipher suites in order of preference (e.g. AES-128-GCM first for bulk transfers). */
  ciphers?: string;
  /**
   * Offer HTTP/2 in the TLS handshake (ALPN): one connection carries many requests at once.
   * Under mtls only; the peer's identity is checked at the handshake as for HTTP/1.1.
   */
  allowH2?: boolean;
}

/**
 * The verified peer identity, on the TLS socket itself: an HTTP/2 request's socket is a proxy
 * of the session's socket (node:http2 compatibility API) that is not the socket the guard saw,
 * but it forwards property reads to it.
 */
const PEER_ID = Symbol('sovereign.mesh.peer');

/**
 * TLS settings of a server that takes only peers with an SVID of the trust domain. The server
 * asks every peer for its certificate; the chain verdict of the TLS stack is enforced by
 * guardServer right after the handshake rather than by rejectUnauthorized, because Node drops
 * a connection refused that way without telling why, and every refusal must be logged with its
 * reason. A socket the guard has not accepted has no identity, and the authorization hook
 * refuses every request without one, so a missing guard fails closed.
 */
export interface ServerTls {
  key: string;
  cert: string;
  ca: string;
  requestCert: true;
  rejectUnauthorized: false;
  minVersion: 'TLSv1.3';
}

/** A process's mesh identity and channels; in plaintext mode, plain HTTP and no identity. */
export class Mesh {
  readonly mode: 'mtls' | 'plaintext';
  readonly id: string;
  readonly topology: Topology;
  readonly #logger: Logger;
  #svid: IssuedSvid | null = null;
  #hosts: readonly string[] = [];
  /** SVID lifetime when shorter than mesh.svidTtlSeconds (an operator's CLI run). */
  #ttl: number | undefined;
  #by = 'workload';
  #bundle = '';
  #renewTimer: NodeJS.Timeout | null = null;
  #revocations: RevocationWatch | null = null;
  readonly #listeners: (() => void)[] = [];
  /** Open connections by peer identity (both directions), closed when the peer is revoked. */
  readonly #conns = new Map<string, Set<TLSSocket>>();
  readonly #peerIds = new WeakMap<object, string>();
  readonly #watched: [string, (cur: import('node:fs').Stats, prev: import('node:fs').Stats) => void][] = [];
  #closed = false;

  private constructor(topology: Topology, id: string, logger: Logger) {
    this.topology = topology;
    this.mode = topology.data.mesh.mode;
    this.id = id;
    this.#logger = logger;
  }

  /**
   * Joins the mesh as `id`: issues the first SVID now (a CA key that cannot be read stops
   * start-up with the file and the fix) and keeps it renewed.
   */
  static async open(topology: Topology, id: string, logger: Logger, opts: { hosts?: readonly string[]; ttlSeconds?: number; by?: string } = {}): Promise<Mesh> {
    const m = new Mesh(topology, id, logger);
    m.#hosts = opts.hosts ?? [];
    m.#ttl = opts.ttlSeconds;
    m.#by = opts.by ?? 'workload';
    if (m.mode === 'plaintext') {
      logger.warn({ mesh: 'plaintext' }, 'mesh.mode is plaintext: service-to-service traffic is NOT encrypted or authenticated; use this for benchmarks and development only');
      return m;
    }
    const parsed = requireSpiffeId(id, topology.data.mesh.trustDomain);
    const td = trustDomainPaths(topology);
    m.#bundle = readBundle(topology);
    await m.#renew();
    m.#revocations = new RevocationWatch(td.revoked, (err) => logger.error({ err: err.message }, 'revocation list unreadable; the previous one stays in force'));
    m.#revocations.onChange(() => m.#enforceRevocations());
    // A new trust bundle (root rotation) is used without a restart; a new signing CA (rotation)
    // is signed with at once.
    m.#watch(td.bundle, () => {
      const b = readFileSync(td.bundle, 'utf8');
      if (b === m.#bundle) return;
      m.#bundle = b;
      logger.info({ file: td.bundle }, 'trust bundle reloaded');
      m.#emit();
    });
    m.#watch(caPaths(topology, issuerFor(parsed)).cert, () => void m.#renew().catch(() => undefined));
    return m;
  }

  #watch(file: string, cb: () => void): void {
    if (!existsSync(file)) return;
    const listener = (cur: import('node:fs').Stats, prev: import('node:fs').Stats): void => {
      if (cur.mtimeMs !== prev.mtimeMs) cb();
    };
    watchFile(file, { interval: 250, persistent: false }, listener);
    this.#watched.push([file, listener]);
  }

  async #renew(): Promise<void> {
    if (this.#closed) return;
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    const ttl = this.#ttl ?? this.topology.data.mesh.svidTtlSeconds;
    try {
      this.#svid = await issueFor(this.topology, this.id, { by: this.#by, hosts: this.#hosts, ...(this.#ttl !== undefined ? { ttlSeconds: this.#ttl } : {}) });
    } catch (err) {
      if (this.#svid === null) throw err;
      // Keep the current SVID while it lasts; try again soon.
      this.#logger.error({ err: (err as Error).message }, 'SVID renewal failed; retrying');
      this.#renewTimer = setTimeout(() => void this.#renew().catch(() => undefined), Math.max(1000, (ttl * 1000) / 10));
      this.#renewTimer.unref();
      return;
    }
    const s = this.#svid;
    // Renew at half the lifetime, timed from issuance by this clock (the certificate itself is
    // back-dated for peers whose clocks are behind, which must not shorten the renewal).
    const lifetimeMs = s.notAfter.getTime() - s.issuedAt.getTime();
    this.#renewTimer = setTimeout(() => void this.#renew().catch(() => undefined), Math.max(500, lifetimeMs / 2));
    this.#renewTimer.unref();
    this.#logger.info({ spiffe_id: s.spiffeId, serial: s.serial, not_after: s.notAfter.toISOString() }, 'SVID issued');
    this.#emit();
  }

  #emit(): void {
    for (const l of this.#listeners) l();
  }

  /** Revocations from a shared source (PostgreSQL) join the file's; enforced at once on open connections. */
  setSharedRevocations(list: Revocation[]): void {
    this.#revocations?.setExtra(list);
  }

  /** Called whenever the SVID or the trust bundle changes. */
  onChange(cb: () => void): void {
    this.#listeners.push(cb);
  }

  get svid(): IssuedSvid | null {
    return this.#svid;
  }

  /** Checks a peer's certificate (chain already validated by TLS) against the SPIFFE rules and the revocations in force. */
  check(cert: PeerCertificate | undefined): PeerCheck {
    return checkPeer(cert, this.topology.data.mesh.trustDomain, this.#revocations?.list ?? { version: 0, revoked: [] });
  }

  /** The URL origin of a region's cell: https under mtls; the scheme in regions[].url is not used. */
  cellOrigin(region: string): string {
    const r = this.topology.region(region);
    if (!r) throw new Error(`unknown region ${region}`);
    const u = new URL(r.url);
    return `${this.mode === 'mtls' ? 'https' : 'http'}://${u.host}`;
  }

  /** The SPIFFE ID of a region's cell. */
  cellId(region: string): string {
    return spiffeId.cell(this.topology.data.mesh.trustDomain, region);
  }

  #track(sock: TLSSocket, id: string): void {
    this.#peerIds.set(sock, id);
    (sock as TLSSocket & { [PEER_ID]?: string })[PEER_ID] = id;
    let set = this.#conns.get(id);
    if (!set) this.#conns.set(id, (set = new Set()));
    set.add(sock);
    sock.once('close', () => set.delete(sock));
  }

  #enforceRevocations(): void {
    this.#sessions.clear();
    for (const [, set] of this.#conns) {
      for (const sock of set) {
        const c = this.check(sock.getPeerCertificate());
        if (!c.ok) {
          this.#logger.warn({ peer: this.#peerIds.get(sock), reason: c.reason }, 'mTLS connection closed: peer revoked');
          sock.destroy();
          set.delete(sock);
        }
      }
    }
  }

  /** The peer identity of a server-side socket (set once its handshake was checked). */
  peerOf(socket: object): string | undefined {
    return this.#peerIds.get(socket) ?? (socket as { [PEER_ID]?: string })[PEER_ID];
  }

  /** Server TLS settings, or null in plaintext mode. */
  serverTls(): ServerTls | null {
    const s = this.#svid;
    if (this.mode === 'plaintext' || !s) return null;
    return { key: s.keyPem, cert: s.chainPem, ca: this.#bundle, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' };
  }

  /**
   * Guards a TLS server: a peer whose SVID breaks a SPIFFE rule or is revoked is disconnected
   * right after the handshake, and every refusal (also the handshake's own: expired, unknown
   * CA, no certificate) is logged with its reason. Renewed SVIDs and bundles apply to new
   * connections without dropping open ones (setSecureContext).
   */
  guardServer(server: TlsServer): void {
    if (this.mode === 'plaintext') return;
    // First in line: a refused socket is destroyed before the HTTP server reads a byte from it.
    server.prependListener('secureConnection', (sock: TLSSocket) => {
      // RFC 5280 path validation by the TLS stack: expired, not yet valid, unknown CA, self-signed.
      if (!sock.authorized) {
        const peer = sock.getPeerCertificate();
        const presented = peer?.raw !== undefined;
        let reason = presented ? String(sock.authorizationError) : 'no client certificate';
        if (presented) {
          // Name the SPIFFE-level fault too when there is one (e.g. a name outside the trust domain's name constraints).
          const c = this.check(peer);
          reason += c.ok ? ` (${c.id})` : `: ${c.reason}`;
        }
        this.#logger.warn({ remote: `${sock.remoteAddress}:${sock.remotePort}`, reason }, 'mTLS handshake refused');
        sock.destroy();
        return;
      }
      const c = this.check(sock.getPeerCertificate());
      if (!c.ok) {
        this.#logger.warn({ remote: `${sock.remoteAddress}:${sock.remotePort}`, reason: c.reason }, 'mTLS peer refused');
        sock.destroy();
        return;
      }
      this.#track(sock, c.id);
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, sock: TLSSocket) => {
      if (err.code === 'ECONNRESET') return; // the peer went away mid-handshake: nothing to refuse
      this.#logger.warn({ remote: `${sock.remoteAddress}:${sock.remotePort}`, reason: err.code ?? err.message, detail: err.message }, 'mTLS handshake refused');
    });
    this.onChange(() => {
      const t = this.serverTls();
      if (t) server.setSecureContext({ key: t.key, cert: t.cert, ca: t.ca, minVersion: 'TLSv1.3' });
    });
  }

  /**
   * A pooled client to `origin` whose peer must be `expectId`. Under mtls, each new connection
   * uses the SVID and bundle in force (so renewals apply without touching open connections),
   * and TLS sessions are resumed (undici's connector caches them).
   */
  pool(origin: string, expectId: string, opts: PoolOptions = {}): Pool {
    const { connectTimeout, ciphers, allowH2, ...rest } = opts;
    // HTTP/2 is negotiated over TLS only (no h2c): in plaintext mode the pool speaks HTTP/1.1.
    if (this.mode === 'plaintext') return new Pool(origin, { ...rest, ...(connectTimeout !== undefined ? { connectTimeout } : {}) });
    return new Pool(origin, {
      ...rest,
      ...(allowH2 ? { allowH2: true } : {}),
      connect: (o, cb) => this.#connectVerified(o, expectId, { ...(connectTimeout !== undefined ? { timeout: connectTimeout } : {}), ...(ciphers ? { ciphers } : {}), allowH2: allowH2 === true }, (err, sock) => (err || !sock ? cb(err ?? new Error('no socket'), null) : cb(null, sock))),
    });
  }

  /**
   * One connection of its own to `origin` whose peer must be `expectId` (mtls; plain TCP in
   * plaintext mode), for a bulk transfer that reads the socket itself. `onread` (net.Socket's
   * option, also taken by TLS sockets) hands incoming bytes to the caller in one reused buffer
   * instead of a new buffer per TLS record. Verified and revocation-tracked like a pool's.
   */
  connect(origin: string, expectId: string, opts: { ciphers?: string; timeout?: number; onread?: OnReadOpts } = {}): Promise<Socket> {
    const u = new URL(origin);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (this.mode === 'plaintext') {
      return new Promise((resolve, reject) => {
        const sock = netConnect({ host, port, ...(opts.onread ? { onread: opts.onread } : {}) });
        const timer = opts.timeout !== undefined ? setTimeout(() => sock.destroy(new Error(`connect to ${u.host} timed out`)), opts.timeout) : undefined;
        sock.once('connect', () => (clearTimeout(timer), resolve(sock)));
        sock.once('error', (err) => (clearTimeout(timer), reject(err)));
      });
    }
    return new Promise((resolve, reject) => {
      const { onread, ...rest } = opts;
      this.#connectVerified({ hostname: host, host: u.host, protocol: u.protocol, port: String(port) }, expectId, { ...rest, allowH2: false, ...(onread ? { extra: { onread } } : {}) }, (err, sock) => (err || !sock ? reject(err ?? new Error('no socket')) : resolve(sock)));
    });
  }

  /**
   * A new TLS connection whose peer is checked as `expectId`. TLS sessions are resumed from this
   * process's own cache of sessions with peers it has verified: Node neither runs
   * checkServerIdentity nor shows the peer certificate on a resumed session, so the identity
   * verified at the full handshake travels with the session and is checked against the
   * revocations in force on every connection.
   */
  #connectVerified(o: buildConnector.Options, expectId: string, c: { timeout?: number; ciphers?: string; allowH2: boolean; extra?: Record<string, unknown> }, cb: (err: Error | null, sock: Socket | null) => void): void {
    const key = `${o.hostname}:${o.port} ${expectId}`;
    const cached = this.#sessions.get(key);
    let connector: buildConnector.connector;
    try {
      connector = this.#connector(expectId, c.timeout, cached?.session, c.ciphers, c.allowH2, c.extra);
    } catch (err) {
      return cb(err as Error, null);
    }
    connector(o, (err, sock) => {
      if (err || !sock) return cb(err, null);
      const t = sock as TLSSocket;
      const reused = t.isSessionReused() && cached !== undefined;
      const peer = reused ? null : t.getPeerCertificate();
      const facts = reused ? cached : { id: '', serial: peer?.serialNumber ?? '', ca: String(peer?.issuer?.CN ?? '') };
      const v = reused ? this.#checkKnown(cached) : this.check(peer ?? undefined);
      if (!v.ok || v.id !== expectId) {
        this.#sessions.delete(key);
        t.destroy();
        return cb(new Error(`mTLS: ${v.ok ? `expected ${expectId}, the peer is ${v.id}` : `peer refused: ${v.reason}`}`), null);
      }
      t.on('session', (session: Buffer) => this.#sessions.set(key, { ...facts, id: v.id, session }));
      this.#track(t, expectId);
      cb(null, sock);
    });
  }

  /** Sessions with verified peers, by address and expected identity. */
  readonly #sessions = new Map<string, { session: Buffer; id: string; serial: string; ca: string }>();

  #checkKnown(k: { id: string; serial: string; ca: string }): PeerCheck {
    const why = revokedBecause(this.#revocations?.list ?? { version: 0, revoked: [] }, k.id, k.serial, k.ca);
    return why ? { ok: false, reason: why } : { ok: true, id: k.id };
  }

  readonly #clients = new Map<string, Pool>();

  /** A shared small pool to a region's cell (probes, ledger reads, keys), made on first use. */
  cellClient(region: string): Pool {
    const key = `${this.cellOrigin(region)} ${this.cellId(region)}`;
    let p = this.#clients.get(key);
    if (!p) this.#clients.set(key, (p = this.cellPool(region, { connections: 8, keepAliveTimeout: 60_000, connectTimeout: 2000 })));
    return p;
  }

  async closeClients(): Promise<void> {
    const all = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(all.map((p) => p.close()));
  }

  /** A pool to a region's cell, expecting that cell's identity. */
  cellPool(region: string, opts: PoolOptions = {}): Pool {
    return this.pool(this.cellOrigin(region), this.cellId(region), opts);
  }

  /** Client TLS contexts of the SVID and trust bundle in force, by cipher list (see #secureContext). */
  #contexts: { svid: IssuedSvid; bundle: string; byCiphers: Map<string, SecureContext> } | null = null;

  /**
   * One client TLS context per SVID and trust bundle (and cipher list), made when they change
   * rather than on every connection: building one parses the key, the chain and the bundle,
   * which costs more than the TLS 1.3 handshake it serves.
   */
  #secureContext(ciphers?: string): SecureContext {
    const s = this.#svid;
    if (!s) throw new Error('no SVID yet');
    if (this.#contexts?.svid !== s || this.#contexts.bundle !== this.#bundle) this.#contexts = { svid: s, bundle: this.#bundle, byCiphers: new Map() };
    const key = ciphers ?? '';
    let ctx = this.#contexts.byCiphers.get(key);
    if (!ctx) this.#contexts.byCiphers.set(key, (ctx = createSecureContext({ key: s.keyPem, cert: s.chainPem, ca: this.#bundle, minVersion: 'TLSv1.3', ...(ciphers ? { ciphers } : {}) })));
    return ctx;
  }

  #connector(expectId: string, timeout?: number, session?: Buffer, ciphers?: string, allowH2 = false, extra: Record<string, unknown> = {}): buildConnector.connector {
    return buildConnector({
      // Passed through to tls.connect (e.g. onread).
      ...extra,
      allowH2,
      secureContext: this.#secureContext(ciphers),
      maxCachedSessions: 0,
      ...(session ? { session } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
      // The peer is named by its SPIFFE ID, not by a host name (SPIFFE X509-SVID §5.2).
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const c = this.check(cert);
        if (!c.ok) return new Error(`mTLS: peer refused: ${c.reason}`);
        if (c.id !== expectId) return new Error(`mTLS: expected ${expectId}, the peer is ${c.id}`);
        return undefined;
      },
    });
  }

  close(): void {
    this.#closed = true;
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    for (const [f, l] of this.#watched) unwatchFile(f, l);
    this.#revocations?.close();
  }
}
