// A region's cell: one OS process with its own data directory, model store and runtime.
// Nothing here reads another region's files: every path comes from this region's data dir.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createLogger, loadToken, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { EmbeddedRuntime } from './embedded-runtime.ts';
import { openLedgerService, registerLedgerRoutes, type LedgerService } from './ledger-service.ts';
import { recordModelArrivals } from './model-arrivals.ts';
import type { ModelRuntime } from './runtime.ts';
import { buildCellServer } from './server.ts';
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

  const runtime: ModelRuntime =
    cfg.runtime.kind === 'embedded'
      ? EmbeddedRuntime.open(path.join(dataDir, 'models'), cfg.id, opts.topology.data.cell.maxConcurrentInference)
      : new UpstreamRuntime(cfg.runtime, cfg.models, cfg.id);

  let ledger: LedgerService;
  try {
    ledger = await openLedgerService(opts.topology, cfg.id, dataDir, logger);
  } catch (err) {
    await runtime.close();
    throw new Error(`region ${cfg.id}: cannot open the ledger in ${dataDir}: ${(err as Error).message}`);
  }
  try {
    await recordModelArrivals(ledger.ledger, cfg.id, runtime.models, path.join(dataDir, 'ledger-models'), logger);
  } catch (err) {
    await runtime.close();
    await ledger.close();
    throw new Error(`region ${cfg.id}: cannot record the arrival of its models in the ledger: ${(err as Error).message}`);
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
  });
  const appendToken = loadToken(opts.topology.ledgerAppendTokenFile(), opts.topology.data.ledger.appendTokenEnv, true) as string;
  registerLedgerRoutes(app, cfg.id, ledger, appendToken, (m) => {
    const d = runtime.model(m)?.digest;
    return d && d.startsWith('sha256:') ? d : null;
  });
  const configured = new URL(cfg.url);
  const port = opts.port ?? Number(configured.port || 80);
  try {
    await app.listen({ host: configured.hostname, port });
  } catch (err) {
    await runtime.close();
    await ledger.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw new Error(`region ${cfg.id}: ${configured.hostname}:${port} is already in use; stop what listens there or change regions[].url in ${opts.topology.file}`);
    }
    throw err;
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${configured.hostname}:${actualPort}`;
  logger.info({ url, models: runtime.models.map((m) => `${m.name}@${m.version}`), dataDir }, 'cell ready');
  return {
    region: cfg.id,
    url,
    app,
    runtime,
    ledger,
    async close() {
      await app.close();
      await runtime.close();
      await ledger.close();
    },
  };
}
