// A region's cell: one OS process with its own data directory, registry, model and runtime.
// Nothing here reads another region's files: every path comes from this region's data dir, and
// models come from this region's registry only (verified against the publisher keys first).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger, writeFileDurable, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { materializeModel, RegistryError, regionRegistryDir, registerTransferRoute, startRegionRegistry, trustedPublishers, type ActiveRelease, type RegionRegistry } from '../registry/index.ts';
import { authorizeByIdentity, followRevocations, Mesh, spiffeId } from '../mesh/index.ts';
import { EMBEDDED_MODEL, EMBEDDED_RUNTIME, EmbeddedRuntime } from './embedded-runtime.ts';
import { openLedgerService, recordAppender, registerLedgerRoutes, type LedgerService } from './ledger-service.ts';
import { recordModelArrivals } from './model-arrivals.ts';
import { ModelSlot } from './model-slot.ts';
import type { ModelRuntime } from './runtime.ts';
import type { RegionStore } from '../store/index.ts';
import { buildCellServer } from './server.ts';
import { openStoreService, registerStoreRoutes } from './store-service.ts';
import { UpstreamRuntime } from './upstream-runtime.ts';

export type { ModelRuntime, ModelInfo } from './runtime.ts';
export { EMBEDDED_MODEL, shippedModel } from './embedded-runtime.ts';

export interface RunningCell {
  region: string;
  url: string;
  app: FastifyInstance;
  runtime: ModelRuntime;
  ledger: LedgerService;
  /** The region's own model registry (models are loaded from it only). */
  modelRegistry: RegionRegistry;
  /** Resolves once the cell serves a model (for the embedded runtime: once a release is active). */
  ready: Promise<void>;
  /** This cell's identity and mTLS channels. */
  mesh: Mesh;
  /** The region's store of served requests (null when store.enabled is false). */
  store: RegionStore | null;
  close(): Promise<void>;
}

export interface StartCellOptions {
  topology: Topology;
  region: string;
  /** Overrides the port of the region's configured URL (0 picks a free one). */
  port?: number;
  /** Overrides the address to listen on (e.g. 0.0.0.0 in a container, where the URL names a Service). */
  host?: string;
  logger?: Logger;
}

export async function startCell(opts: StartCellOptions): Promise<RunningCell> {
  const cfg = opts.topology.region(opts.region);
  if (!cfg) {
    throw new Error(`unknown region "${opts.region}"; the topology ${opts.topology.file} defines: ${opts.topology.regions.map((r) => r.id).join(', ')}`);
  }
  const logger = opts.logger ?? createLogger('sovereign-cell', { region: cfg.id });
  const dataDir = opts.topology.regionDataDir(cfg.id);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The cell's identity first: without it the cell cannot serve anyone.
  // Its address goes in the SVID too, so an operator's curl can check the server by address.
  const mesh = await Mesh.open(opts.topology, spiffeId.cell(opts.topology.data.mesh.trustDomain, cfg.id), logger, { hosts: [new URL(cfg.url).hostname] });

  const concurrency = opts.topology.inferenceConcurrency(cfg.id);
  const slot = cfg.runtime.kind === 'embedded' ? new ModelSlot(cfg.id) : null;
  const runtime: ModelRuntime = slot ?? new UpstreamRuntime(cfg.runtime as Extract<typeof cfg.runtime, { kind: 'upstream' }>, cfg.models, cfg.id, concurrency);

  let ledger: LedgerService;
  try {
    ledger = await openLedgerService(opts.topology, cfg.id, dataDir, logger, mesh);
  } catch (err) {
    await runtime.close();
    mesh.close();
    throw new Error(`region ${cfg.id}: cannot open the ledger in ${dataDir}: ${(err as Error).message}`);
  }
  const markerDir = path.join(dataDir, 'ledger-models');
  try {
    await recordModelArrivals(ledger.ledger, cfg.id, runtime.models, markerDir, logger);
  } catch (err) {
    await runtime.close();
    await ledger.close();
    mesh.close();
    throw new Error(`region ${cfg.id}: cannot record the arrival of its models in the ledger: ${(err as Error).message}`);
  }

  // The release the cell serves: verified and loaded from this region's registry only.
  const activeFile = path.join(regionRegistryDir(opts.topology, cfg.id), 'active.json');
  let active: ActiveRelease | null = null;
  let switching: Promise<unknown> = Promise.resolve();
  // Ready to serve: a release is active (an upstream runtime is ready at once).
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  if (!slot) markReady();
  let modelRegistry: RegionRegistry | undefined;
  const activate = (name: string, version: string): Promise<ActiveRelease> => {
    const run = switching.then(async () => {
      if (!slot) throw new RegistryError('UNSUPPORTED', `region ${cfg.id} runs an upstream model server; it loads no release from the registry`);
      if (name !== EMBEDDED_MODEL) throw new RegistryError('UNSUPPORTED', `the embedded runtime of ${cfg.id} serves ${EMBEDDED_MODEL} only, not ${name}`);
      const loaded = await materializeModel((modelRegistry as RegionRegistry).reader, name, version, trustedPublishers(opts.topology), path.join(dataDir, 'models', name));
      const kind = loaded.artifact.config.runtime.kind;
      if (kind !== EMBEDDED_RUNTIME) throw new RegistryError('UNSUPPORTED', `${name}:${version} needs the ${kind} runtime; this cell runs ${EMBEDDED_RUNTIME}`);
      const next = EmbeddedRuntime.fromDir(loaded.dir, { version: loaded.artifact.version, digest: loaded.artifact.digest }, cfg.id, concurrency);
      const release = { name, version: loaded.artifact.version, digest: loaded.artifact.digest };
      await writeFileDurable(activeFile, JSON.stringify(release), { mode: 0o644 });
      // Requests already running finish on the runtime they started with.
      const prev = slot.swap(next);
      active = release;
      // Its workers go once the requests it took have had time to finish.
      if (prev) setTimeout(() => void prev.close(), 30_000).unref();
      return release;
    });
    switching = run.catch(() => undefined);
    return run;
  };
  try {
    modelRegistry = await startRegionRegistry({
      topology: opts.topology,
      region: cfg.id,
      ledger: ledger.ledger,
      logger,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      // A transfer out of golden goes to the ledger of golden's region over the mesh (cell to cell).
      sendTransfer: async (from, entry) => {
        const res = await mesh.cellClient(from).request({ method: 'POST', path: '/sovereign/registry/transfer', headers: { 'content-type': 'application/json' }, body: JSON.stringify(entry), signal: AbortSignal.timeout(10_000) });
        const body = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} ${body.slice(0, 200)}`);
      },
      recordArrival: (a, from) => recordModelArrivals(ledger.ledger, cfg.id, [{ name: a.name, digest: a.digest, version: a.version, from }], markerDir, logger),
      onArrival: (a) => {
        // The region's first release of the model is served as soon as it is here.
        if (slot && active === null && a.name === EMBEDDED_MODEL) {
          activate(a.name, a.version).then(
            () => markReady(),
            (err: unknown) => logger.error({ err: (err as Error).message }, 'first release could not be activated'),
          );
        }
      },
      activate,
      active: () => active,
    });
  } catch (err) {
    await runtime.close();
    await ledger.close();
    mesh.close();
    throw err;
  }
  if (slot && existsSync(activeFile)) {
    const want = JSON.parse(readFileSync(activeFile, 'utf8')) as ActiveRelease;
    try {
      await activate(want.name, want.version);
      markReady();
    } catch (err) {
      // Never serve what does not verify: the cell stays not ready and says why.
      logger.error({ release: `${want.name}:${want.version}`, err: (err as Error).message }, 'the active release does not verify; not serving it');
    }
  }
  const registry = new Registry();
  let store: RegionStore | null;
  try {
    store = await openStoreService(opts.topology, cfg.id, ledger.ledger, logger, registry, mesh);
  } catch (err) {
    await runtime.close();
    await ledger.close();
    mesh.close();
    await modelRegistry.close();
    throw new Error(`region ${cfg.id}: cannot open the store: ${(err as Error).message}`);
  }
  // Revocations made on another machine reach this cell through the database it already uses
  // (its ledger's or its store's), as they reach gateways through the region state's.
  let revocations: { close(): Promise<void>; setting: string } | null = null;
  try {
    if (mesh.mode === 'mtls') {
      revocations = await followRevocations(opts.topology, (l) => mesh.setSharedRevocations(l), (err) => logger.error({ err: err.message }, 'shared revocation list'), mesh, ['ledger', 'store']);
      if (revocations) logger.info({ from: revocations.setting }, 'following the shared revocation list in PostgreSQL');
    }
  } catch (err) {
    await modelRegistry.close();
    await runtime.close();
    await store?.close();
    await ledger.close();
    mesh.close();
    throw new Error(`region ${cfg.id}: cannot follow the shared revocation list: ${(err as Error).message}`);
  }
  const cc = opts.topology.data.cell;
  const modelDigest = (m: string): string | null => {
    const d = runtime.model(m)?.digest;
    return d && d.startsWith('sha256:') ? d : null;
  };
  const app = buildCellServer({
    region: cfg.id,
    runtime,
    bodyLimit: cc.bodyLimitBytes,
    logger,
    inputLimit: (m) => opts.topology.inputLimitBytes(m),
    maxConcurrentInference: concurrency,
    maxQueuedInference: cc.maxQueuedInference,
    // The decision record that travels with a forwarded request goes into this region's log.
    record: recordAppender(cfg.id, ledger.ledger, modelDigest),
    mesh: {
      https: mesh.serverTls(),
      secure: (a) => {
        mesh.guardServer(a.server as unknown as import('node:tls').Server);
        authorizeByIdentity(a, mesh, cfg.id, logger);
      },
    },
  });
  registerStoreRoutes(app, cfg.id, store, registry, ledger.ledger);
  registerTransferRoute(app, opts.topology, cfg.id, ledger.ledger, mesh);
  registerLedgerRoutes(app, cfg.id, ledger, modelDigest);
  const configured = new URL(cfg.url);
  const port = opts.port ?? Number(configured.port || 80);
  try {
    await app.listen({ host: opts.host ?? configured.hostname, port });
  } catch (err) {
    await modelRegistry.close();
    await runtime.close();
    await store?.close();
    await ledger.close();
    await revocations?.close();
    mesh.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw new Error(`region ${cfg.id}: ${opts.host ?? configured.hostname}:${port} is already in use; stop what listens there or change regions[].url in ${opts.topology.file}`);
    }
    throw err;
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `${new URL(mesh.cellOrigin(cfg.id)).protocol}//${configured.hostname}:${actualPort}`;
  logger.info({ url, models: runtime.models.map((m) => `${m.name}@${m.version}`), dataDir }, 'cell ready');
  // The gateway routes by the topology's list: a model named there but not served here is
  // answered 404 no_model and the gateway tries the next permitted region (every such request
  // pays one more exchange). Said once the first release is active (an embedded runtime has no
  // model before that).
  void ready.then(() => {
    const missing = cfg.models.filter((m) => !runtime.model(m));
    if (missing.length > 0) logger.warn({ missing }, `regions[${cfg.id}].models in ${opts.topology.file} names models this cell does not serve: ${missing.join(', ')}; the gateway passes over this region for them (the embedded runtime serves ${EMBEDDED_MODEL} only; point the region at a model server with an upstream runtime)`);
  });
  return {
    region: cfg.id,
    url,
    app,
    runtime,
    ledger,
    modelRegistry,
    mesh,
    store,
    ready,
    async close() {
      await app.close();
      await modelRegistry.close();
      await runtime.close();
      // The store's last records are written (and its erasures recorded) before the ledger closes.
      await store?.close();
      await ledger.close();
      await revocations?.close();
      mesh.close();
    },
  };
}
