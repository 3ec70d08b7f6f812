// A region's cell: one OS process with its own data directory, model store and runtime.
// Nothing here reads another region's files: every path comes from this region's data dir.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { authorizeByIdentity, Mesh, spiffeId } from '../mesh/index.ts';
import { EmbeddedRuntime } from './embedded-runtime.ts';
import { openLedgerService, registerLedgerRoutes, type LedgerService } from './ledger-service.ts';
import { recordModelArrivals } from './model-arrivals.ts';
import type { ModelRuntime } from './runtime.ts';
import type { RegionStore } from '../store/index.ts';
import { buildCellServer } from './server.ts';
import { openStoreService, registerStoreRoutes } from './store-service.ts';
import { UpstreamRuntime } from './upstream-runtime.ts';

export type { ModelRuntime, ModelInfo } from './runtime.ts';
export { EMBEDDED_MODEL } from './embedded-runtime.ts';
export { treeDigest } from './model-store.ts';

export interface RunningCell {
  region: string;
  url: string;
  app: FastifyInstance;
  runtime: ModelRuntime;
  ledger: LedgerService;
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

  const runtime: ModelRuntime =
    cfg.runtime.kind === 'embedded'
      ? EmbeddedRuntime.open(path.join(dataDir, 'models'), cfg.id, opts.topology.data.cell.maxConcurrentInference)
      : new UpstreamRuntime(cfg.runtime, cfg.models, cfg.id);

  let ledger: LedgerService;
  try {
    ledger = await openLedgerService(opts.topology, cfg.id, dataDir, logger, mesh);
  } catch (err) {
    await runtime.close();
    mesh.close();
    throw new Error(`region ${cfg.id}: cannot open the ledger in ${dataDir}: ${(err as Error).message}`);
  }
  try {
    await recordModelArrivals(ledger.ledger, cfg.id, runtime.models, path.join(dataDir, 'ledger-models'), logger);
  } catch (err) {
    await runtime.close();
    await ledger.close();
    mesh.close();
    throw new Error(`region ${cfg.id}: cannot record the arrival of its models in the ledger: ${(err as Error).message}`);
  }
  const registry = new Registry();
  let store: RegionStore | null;
  try {
    store = await openStoreService(opts.topology, cfg.id, ledger.ledger, logger, registry);
  } catch (err) {
    await runtime.close();
    await ledger.close();
    mesh.close();
    throw new Error(`region ${cfg.id}: cannot open the store: ${(err as Error).message}`);
  }
  const cc = opts.topology.data.cell;
  const app = buildCellServer({
    region: cfg.id,
    runtime,
    bodyLimit: cc.bodyLimitBytes,
    logger,
    inputLimit: (m) => opts.topology.inputLimitBytes(m),
    maxConcurrentInference: cc.maxConcurrentInference,
    maxQueuedInference: cc.maxQueuedInference,
    mesh: {
      https: mesh.serverTls(),
      secure: (a) => {
        mesh.guardServer(a.server as import('node:https').Server);
        authorizeByIdentity(a, mesh, cfg.id, logger);
      },
    },
  });
  registerStoreRoutes(app, cfg.id, store, registry, ledger.ledger);
  registerLedgerRoutes(app, cfg.id, ledger, (m) => {
    const d = runtime.model(m)?.digest;
    return d && d.startsWith('sha256:') ? d : null;
  });
  const configured = new URL(cfg.url);
  const port = opts.port ?? Number(configured.port || 80);
  try {
    await app.listen({ host: configured.hostname, port });
  } catch (err) {
    await runtime.close();
    await store?.close();
    await ledger.close();
    mesh.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw new Error(`region ${cfg.id}: ${configured.hostname}:${port} is already in use; stop what listens there or change regions[].url in ${opts.topology.file}`);
    }
    throw err;
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `${new URL(mesh.cellOrigin(cfg.id)).protocol}//${configured.hostname}:${actualPort}`;
  logger.info({ url, models: runtime.models.map((m) => `${m.name}@${m.version}`), dataDir }, 'cell ready');
  return {
    region: cfg.id,
    url,
    app,
    runtime,
    ledger,
    mesh,
    store,
    async close() {
      await app.close();
      await runtime.close();
      // The store's last records are written (and its erasures recorded) before the ledger closes.
      await store?.close();
      await ledger.close();
      mesh.close();
    },
  };
}
