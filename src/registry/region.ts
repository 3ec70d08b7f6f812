// A region's registry, run by the region's cell: the OCI distribution API over the region's own
// layout (read-only over HTTP: it is written only by its own replication from golden), and the
// orders a region takes (from an operator's or golden's identity under mtls, the exposure table;
// with the registry token in plaintext mode): pull a release from golden, activate a version,
// delete one. The registry has its own identity, spiffe://<td>/region/<region>/registry: the one
// it serves with and pulls from golden with. A region with an external registry (any OCI registry) keeps the orders
// here and replicates into that registry.
//
// Pull order: verify manifest and signature at golden → store every blob, digest-checked →
// `model transfer` in the ledger of golden's region → `model arrival` in this region's ledger →
// the tag appears → the cell may load it. A failure at any step leaves no tag.
import { PassThrough } from 'node:stream';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, badRequest, bearer, firstIssue, tokenMatches, type Logger } from '../common/index.ts';
import { spiffeId, type Mesh } from '../mesh/index.ts';
import type { Topology } from '../config/index.ts';
import type { Ledger } from '../ledger/index.ts';
import { REPOSITORY_NAME, TAG } from './artifact.ts';
import { RegistryClient } from './client.ts';
import { goldenClient } from './connect.ts';
import { externalRegistryToken, goldenRegion, regionRegistryDir, registryToken, trustedPublishers, writeEndpoint } from './endpoints.ts';
import { RegistryError } from './errors.ts';
import { listenRegistry } from './golden.ts';
import { LayoutStore } from './layout.ts';
import { clientReader, layoutReader, type ArtifactReader } from './reader.ts';
import { replicateIntoLayout, replicateIntoRegistry } from './replicate.ts';
import { registerDistribution } from './server.ts';
import { openRegistryMesh, registryDispatcher, registryHttpServer, registryScheme } from './transport.ts';
import type { VerifiedArtifact } from './verify.ts';

const Release = z.strictObject({
  name: z.string().regex(REPOSITORY_NAME, 'expected a model name'),
  version: z.string().regex(TAG, 'expected a version tag'),
});
/** An order to pull; the permitting policy ids the orderer saw are informative (the region decides again). */
const PullOrder = Release.extend({ policy_ids: z.array(z.string().min(1).max(128)).max(64).default([]) });

export interface ActiveRelease {
  name: string;
  version: string;
  digest: string;
}

export interface RegionRegistryOptions {
  topology: Topology;
  region: string;
  ledger: Ledger;
  logger: Logger;
  /** Sends a `model transfer` entry to the cell of golden's region (over the mesh). */
  sendTransfer: (from: string, entry: Record<string, unknown>) => Promise<void>;
  /** Records the arrival in this region's ledger (the cell's marker-keeping recorder). */
  recordArrival: (a: VerifiedArtifact, from: string) => Promise<void>;
  /** After a release became visible here. */
  onArrival?: (a: VerifiedArtifact) => void;
  /** Switches the cell to name:version (verifies and loads it); throws and keeps the current one on failure. */
  activate: (name: string, version: string) => Promise<ActiveRelease>;
  /** What the cell serves now. */
  active: () => ActiveRelease | null;
  /** The address to listen on, when not regions[].registry.url's host (the cell's --host, 0.0.0.0 in a pod). */
  host?: string;
}

export interface RegionRegistry {
  /** The region's registry (distribution API). */
  url: string;
  /** Where this region takes orders. */
  adminUrl: string;
  /** The region's registry as cells read it: its layout, or the external registry. */
  reader: ArtifactReader;
  close(): Promise<void>;
}

/** The cell refuses to start with a registry that is another region's or golden's. */
export function checkOwnRegistry(t: Topology, region: string): void {
  const me = t.region(region);
  const url = me?.registry.url;
  if (!url) return;
  const norm = (u: string) => new URL(u).origin;
  for (const r of t.regions) {
    if (r.id !== region && r.registry.url && norm(r.registry.url) === norm(url)) {
      throw new Error(`region ${region}: its registry.url ${url} is the registry of region ${r.id}; a cell loads models from its own region's registry only. Give ${region} its own registry in ${t.file}`);
    }
  }
  const g = t.data.registry.golden.url;
  if (g && norm(g) === norm(url)) throw new Error(`region ${region}: its registry.url ${url} is the golden registry; a cell loads models from its own region's registry only (promote releases into it with \`sovereign model promote\`)`);
}

export async function startRegionRegistry(o: RegionRegistryOptions): Promise<RegionRegistry> {
  const { topology, region, logger } = o;
  checkOwnRegistry(topology, region);
  const cfg = topology.region(region)!;
  const dir = regionRegistryDir(topology, region);
  const external = cfg.registry.kind === 'external';
  if (external && !cfg.registry.url) throw new Error(`region ${region}: registry.kind is external but registry.url is not set in ${topology.file}`);
  const store = external ? null : new LayoutStore(path.join(dir, 'oci'));
  const extToken = externalRegistryToken(topology);
  const externalClient = external ? new RegistryClient(cfg.registry.url as string, { dispatcher: registryDispatcher(), ...(extToken ? { token: extToken } : {}) }) : null;
  const reader = store ? layoutReader(store) : clientReader(externalClient as RegistryClient);
  const host = !external && cfg.registry.url ? new URL(cfg.registry.url).hostname : '127.0.0.1';
  const mesh = await openRegistryMesh(topology, { kind: 'region', region }, logger, host);
  // Plaintext mode only: orders need the registry token (under mtls, the caller's identity).
  const token = mesh.mode === 'plaintext' ? (registryToken(topology, true) as string) : null;
  // An empty registry is about to take its first release: load the promotion policies' engine
  // now, beside the rest of the start, rather than when the release arrives.
  if (store && store.repositories().length === 0) void import('../policy/index.ts').catch(() => undefined);

  const app = registryHttpServer(logger, mesh, { kind: 'region', region });
  if (store) registerDistribution(app, { store, identity: mesh.mode === 'mtls', readOnlyReason: `the registry of ${region} is read-only: releases arrive only by promotion from golden (sovereign model promote)` });
  registerOrders(app, o, { store, externalClient, token, mesh });
  let adminUrl: string;
  try {
    adminUrl = await listenRegistry(app, external ? undefined : cfg.registry.url, store ? dir : path.join(dir, 'admin'), registryScheme(topology), external ? undefined : o.host);
  } catch (err) {
    mesh.close();
    throw err;
  }
  if (store) await writeEndpoint(path.join(dir, 'admin'), adminUrl);
  const url = external ? (cfg.registry.url as string) : adminUrl;
  logger.info({ url, adminUrl, external }, 'region registry ready');
  return {
    url,
    adminUrl,
    reader,
    async close() {
      await app.close();
      mesh.close();
    },
  };
}

function registerOrders(app: FastifyInstance, o: RegionRegistryOptions, ctx: { store: LayoutStore | null; externalClient: RegistryClient | null; token: string | null; mesh: Mesh }): void {
  const { topology, region, logger } = o;
  const inflight = new Map<string, Promise<VerifiedArtifact>>();

  app.register(async (orders) => {
    orders.addHook('onRequest', async (req) => {
      if (req.method === 'GET' || ctx.token === null) return;
      if (!tokenMatches(bearer(req.headers.authorization), ctx.token)) {
        throw new HttpError(401, 'authentication_error', 'registry orders need "Authorization: Bearer <registry token>" (<dataDir>/registry-token or the variable named by registry.tokenEnv)');
      }
    });

    orders.get('/sovereign/registry/status', async () => {
      const models: { name: string; version: string; digest: string }[] = [];
      if (ctx.store) {
        for (const name of ctx.store.repositories()) for (const version of ctx.store.tags(name)) models.push({ name, version, digest: ctx.store.resolve(name, version)?.digest ?? '' });
      }
      return { region, kind: ctx.store ? 'embedded' : 'external', registry: ctx.store ? undefined : ctx.externalClient?.url, models, active: o.active() };
    });

    orders.post('/sovereign/registry/pull', async (req, reply) => {
      const p = PullOrder.safeParse(req.body);
      if (!p.success) throw badRequest(firstIssue(p.error, 'pull order'));
      const { name, version } = p.data;
      const out = new PassThrough();
      void reply.type('application/x-ndjson').send(out);
      const key = `${name}:${version}`;
      let last = 0;
      const progress = (done: number, total: number): void => {
        const now = Date.now();
        if (now - last < 200 && done < total) return;
        last = now;
        out.write(`${JSON.stringify({ progress: { done, total } })}\n`);
      };
      try {
        let job = inflight.get(key);
        if (!job) {
          job = pull(name, version, progress).finally(() => inflight.delete(key));
          inflight.set(key, job);
        }
        const a = await job;
        out.end(`${JSON.stringify({ result: { region, name, version: a.version, digest: a.digest, signer: a.signer } })}\n`);
        o.onArrival?.(a);
      } catch (err) {
        const e = err as RegistryError;
        logger.warn({ name, version, code: e.code, err: e.message }, 'pull refused');
        out.end(`${JSON.stringify({ error: { code: e.code ?? 'UNAVAILABLE', message: e.message } })}\n`);
      }
      return reply;
    });

    orders.post('/sovereign/registry/activate', async (req) => {
      const p = Release.safeParse(req.body);
      if (!p.success) throw badRequest(firstIssue(p.error, 'activation'));
      const previous = o.active();
      try {
        const now = await o.activate(p.data.name, p.data.version);
        logger.info({ previous, now }, 'model activated');
        return { region, previous, active: now };
      } catch (err) {
        const e = err as RegistryError;
        throw new HttpError(e.status ?? 409, 'activation_refused', `region ${region} keeps serving ${previous ? `${previous.name}:${previous.version}` : 'nothing'}: ${e.message}`, { code: e.code });
      }
    });

    orders.delete<{ Params: { name: string; version: string } }>('/sovereign/registry/models/:name/:version', async (req) => {
      const p = Release.safeParse(req.params);
      if (!p.success) throw badRequest(firstIssue(p.error, 'deletion'));
      const { name, version } = p.data;
      const active = o.active();
      if (active && active.name === name && active.version === version) throw new HttpError(409, 'model_active', `${name}:${version} is what ${region} serves; activate another version first`);
      if (!ctx.store) throw new HttpError(501, 'not_supported', `region ${region} uses an external registry; delete there (and let its garbage collector run)`);
      const d = ctx.store.resolve(name, version);
      if (!d) throw new HttpError(404, 'not_found_error', `${name}:${version} is not in the registry of ${region}`);
      // Record first (fail closed: an unrecorded deletion does not happen), then delete and collect.
      const planned = await ctx.store.gc(name, { without: [d.digest] });
      const bytes = planned.reduce((n, b) => n + b.size, 0);
      await o.ledger.append({ v: 1, kind: 'model', time: new Date().toISOString(), event: 'deletion', name, version, digest: d.digest, region, collected_bytes: bytes });
      await ctx.store.deleteManifest(name, d.digest);
      const removed = await ctx.store.gc(name);
      logger.info({ name, version, digest: d.digest, blobs: removed.length, bytes }, 'model deleted and its blobs collected');
      return { region, name, version, digest: d.digest, collected: removed };
    });
  });

  async function pull(name: string, version: string, onProgress: (d: number, t: number) => void): Promise<VerifiedArtifact> {
    // This registry's own identity pulls (golden lets regions' registries read, nothing more).
    const source = goldenClient(topology, ctx.mesh);
    const publishers = trustedPublishers(topology);
    if (publishers.length === 0) throw new RegistryError('PUBLISHER_UNKNOWN', `no publisher keys: list them in registry.publishers of ${topology.file}`);
    const from = goldenRegion(topology);
    let permittedBy: string[] = [];
    // The region asks the law itself before it copies anything (fail closed): an order the
    // promotion policies do not permit here is refused, whoever sent it.
    const admit = async (a: VerifiedArtifact): Promise<void> => {
      const { PromotionPolicy } = await import('../policy/index.ts');
      const verdict = PromotionPolicy.load(topology).verdict(
        { name: a.config.name, version: a.config.version, licence: a.config.licence, runtime: a.config.runtime.kind, trainingDataClass: a.config.trainingData.dataClass, trainingJurisdictions: a.config.trainingData.jurisdictions },
        region,
      );
      if (!verdict.allowed) {
        const why = verdict.policies.map((p) => `@id("${p.id}"): ${p.rationale}`).join('; ') || verdict.errors.join('; ') || 'no promotion policy permits it';
        throw new RegistryError('POLICY_DENIED', `${a.name}:${a.version} may not be held in ${region}: ${why}`);
      }
      permittedBy = verdict.policies.map((p) => p.id);
    };
    const beforeCommit = async (a: VerifiedArtifact): Promise<void> => {
      await recordTransfer(from, region, a, permittedBy, o);
      await o.recordArrival(a, from);
    };
    const opts = { source, name, version, publishers, onProgress, admit, beforeCommit };
    return ctx.store ? replicateIntoLayout(ctx.store, opts) : replicateIntoRegistry(ctx.externalClient as RegistryClient, opts);
  }
}

/** `model transfer` in the ledger of golden's region: directly when that is this region, else sent to its cell. */
async function recordTransfer(from: string, to: string, a: VerifiedArtifact, policyIds: string[], o: RegionRegistryOptions): Promise<void> {
  const entry = { v: 1, kind: 'model', time: new Date().toISOString(), event: 'transfer', name: a.name, version: a.version, digest: a.digest, region: from, to, policy_ids: policyIds };
  if (from === to) {
    await o.ledger.append(entry);
    return;
  }
  try {
    await o.sendTransfer(from, entry);
  } catch (err) {
    throw new RegistryError('UNAVAILABLE', `cannot record the transfer in the ledger of ${from}: ${(err as Error).message}; nothing was made visible, retry the promotion`);
  }
}

/**
 * The receiving side, on the cell of golden's region: a destination region's cell (mesh
 * identity checked by the exposure table) hands in the `model transfer` entry of a release it is
 * taking; only that kind of entry, for this region's ledger, to a region of the topology.
 */
/**
 * The ledger of golden's region takes `model transfer` entries from the destination regions'
 * cells. Over the mesh the caller must be the cell of the region the entry names as `to`: a cell
 * records only transfers to its own region, never on another region's behalf.
 */
export function registerTransferRoute(app: FastifyInstance, topology: Topology, region: string, ledger: Ledger, mesh?: Mesh): void {
  app.post('/sovereign/registry/transfer', async (req) => {
    const e = req.body as Record<string, unknown> | undefined;
    if (!e || e.kind !== 'model' || e.event !== 'transfer' || e.region !== region || typeof e.to !== 'string' || !topology.region(e.to)) {
      throw badRequest(`a transfer entry must be {kind: "model", event: "transfer", region: "${region}", to: <a region>, ...}`);
    }
    const caller = mesh?.mode === 'mtls' ? (mesh.peerOf(req.raw.socket) ?? null) : undefined;
    if (caller !== undefined && caller !== spiffeId.cell(topology.data.mesh.trustDomain, e.to)) {
      throw new HttpError(403, 'permission_denied', `${caller ?? 'a caller without an identity'} may not record a transfer to ${e.to}: only the cell of ${e.to} records the transfers it receives`);
    }
    try {
      const { index } = await ledger.append(e);
      return { origin: ledger.origin, index };
    } catch (err) {
      throw new HttpError(503, 'ledger_unavailable', `the ledger of ${region} cannot record the transfer: ${(err as Error).message}`);
    }
  });
}
