// The gateway: HTTP ingress for every region, taking each request down the request path.
// This file wires the parts: deps.ts builds what a topology needs, suspension.ts follows the
// region state (legal triggers), reload.ts hot-reloads the topology and policy files, and
// workers/ runs the gateway on every core (a primary and gateway.workers processes).
import cluster from 'node:cluster';
import { watch, type FSWatcher } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { consoleToken, registerConsole } from '../console/index.ts';
import { createLogger, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { RegionStateStore } from '../health/index.ts';
import { followRevocations, Mesh, spiffeId } from '../mesh/index.ts';
import { policyFilePath } from '../policy/index.ts';
import { registerAdmin } from './admin.ts';
import { adminToken } from './admin-token.ts';
import { storeStatusOf, registerDataRights } from './data-rights.ts';
import { buildDeps, type Deps } from './deps.ts';
import { createGatewayMetrics } from './metrics.ts';
import { adoptOrphanOutboxes, Outbox, pendingInAll, type PendingErasure } from './outbox.ts';
import { fingerprintOf, Reloader } from './reload.ts';
import { buildGatewayServer, type DepsHolder, type GatewayDeps } from './server.ts';
import { openStateStore } from './state-store.ts';
import { recordTrigger, RegionStateFollower } from './suspension.ts';
import { startGatewayPrimary, WORKER_SLOT_ENV, WorkerLink, workerReplica } from './workers/index.ts';
import type { PolicyEngine } from '../policy/index.ts';

export { hashApiKey } from './auth.ts';
export { adminToken, adminTokenFile } from './admin-token.ts';
export { openOfflineDecider, type OfflineDecider } from './offline.ts';
export { decideRequest, explanation, type PipelineDeps, type PipelineInput } from './pipeline.ts';
export { ALLOW_HEADERS, AUTH_REQUEST_DENIAL, AUTH_REQUEST_PREFIX, EXT_AUTHZ_PREFIX, MODEL_HEADER, ORIGINAL_METHOD_HEADER } from './ext-authz.ts';
export { FORWARD_POOL } from './forward.ts';
export { workerReplica } from './workers/index.ts';

export interface RunningGateway {
  url: string;
  app: FastifyInstance;
  /** The deps in force (replaced on reload). */
  current(): GatewayDeps & { policy: PolicyEngine };
  /** Re-reads the topology and policy files; resolves with the outcome. */
  reload(): Promise<{ ok: boolean; reason?: string }>;
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  topology: Topology;
  host?: string;
  port?: number;
  logger?: Logger;
  /** Name of this gateway replica (its ledger outbox and its row in a shared region state); default "gateway". */
  replica?: string;
  /** Watch the topology and policy files and reload them when they change (default true). */
  watch?: boolean;
  /** Set in a gateway worker: its link to the primary (region state, health view, reloads, metrics). */
  worker?: WorkerLink;
}

export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  const logger = opts.logger ?? createLogger('sovereign-gateway');
  const replica = opts.replica ?? 'gateway';
  const link = opts.worker;
  // The gateway's identity (spiffe://<td>/gateway/<replica>) before anything talks to a cell.
  // Each worker holds an SVID of its own for that identity: its key never leaves its process.
  const mesh = await Mesh.open(opts.topology, spiffeId.gateway(opts.topology.data.mesh.trustDomain, replica), logger);
  // Revocations made on another machine reach this replica through the shared state database.
  const revocations =
    opts.topology.data.mesh.mode === 'mtls'
      ? await followRevocations(opts.topology, (l) => mesh.setSharedRevocations(l), (err) => logger.error({ err: err.message }, 'shared revocation list'), mesh)
      : null;
  // A worker's store is its primary's (over IPC); its outbox is its own, named by its slot.
  const store: RegionStateStore = link ? link.store : await openStateStore(opts.topology, logger, mesh, opts.replica);
  const outbox = new Outbox(opts.topology.gatewayDataDir(), link ? workerReplica(replica, link.slot) : replica, logger);
  const parts = { logger, mesh, outbox, ...(link ? { shared: link } : {}) };
  await link?.start();
  const initial = await store.load();
  const holder: DepsHolder & { current: Deps } = { current: await buildDeps(opts.topology, initial, parts) };
  link?.use(holder.current.health);

  // Legal triggers: every new region state is applied to the decision table before it is
  // acknowledged as in force in this process.
  const follower = new RegionStateFollower(store, initial, () => holder.current, logger);
  await follower.start();

  const metrics = createGatewayMetrics(() => ({ pending: outbox.size, deadLetters: outbox.deadLetters() }), link ? { aggregate: () => link.metricsText() } : undefined);
  link?.useRegistry(metrics.registry);
  const admin = adminToken(opts.topology, true) as string;
  const app = buildGatewayServer(holder, metrics, logger, admin);
  if (link) {
    // Which worker answered (operators and tests tell the workers apart by it).
    const worker = String(link.slot);
    app.addHook('onRequest', (_req, reply, done) => {
      void reply.header('x-sovereign-worker', worker);
      done();
    });
  }
  registerAdmin(app, { current: () => holder.current, store, recordTrigger: (t) => recordTrigger(holder.current.recorder, holder.current.topology, t), storeStatus: (region) => storeStatusOf(holder.current.mesh, region) });
  registerDataRights(app, {
    current: () => holder.current,
    // With workers, an erasure may wait in another worker's outbox: the files say what waits.
    ...(link ? { pendingErasures: () => pendingInAll(opts.topology.gatewayDataDir(), replica).filter((i): i is PendingErasure => i.kind === 'erasure') } : {}),
  });
  // The operator's console (src/console): read-only with the console token, actions with the admin token.
  registerConsole(app, { current: () => holder.current, store, metrics, tokens: { admin, viewer: consoleToken(opts.topology, true) as string } });
  metrics.healthSource = { snapshot: () => holder.current.health.snapshot() };

  // Hot reload of the topology and policy files: by this process, or on the primary's word.
  const reloader = new Reloader({
    holder,
    build: (topology, state, geo) => buildDeps(topology, state, parts, geo),
    state: () => follower.applied,
    logger,
    probe: !link,
  });
  link?.reloadWith(async () => {
    const p = await reloader.prepare();
    return {
      ...p,
      commit: () => {
        p.commit();
        link.use(p.next.health);
      },
    };
  });
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  const onChange = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reloader.reload(), 200);
  };
  if (opts.watch !== false && !link) {
    for (const file of [opts.topology.file, policyFilePath(opts.topology)]) {
      if (file === '<inline>') continue;
      try {
        watchers.push(watch(file, { persistent: false }, onChange));
      } catch (err) {
        logger.warn({ file, err: (err as Error).message }, 'cannot watch file; restart to pick up changes');
      }
    }
  }

  const host = opts.host ?? opts.topology.data.gateway.host;
  const port = opts.port ?? opts.topology.data.gateway.port;
  const closeAll = async (): Promise<void> => {
    for (const w of watchers) w.close();
    const d = holder.current;
    d.health.stop();
    d.geo.close();
    await d.forwarder.close();
    await d.recorder.close();
    outbox.stop();
    await store.close();
    await mesh.closeClients();
    await revocations?.close();
    mesh.close();
  };
  try {
    await app.listen({ host, port });
  } catch (err) {
    await closeAll();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`gateway: ${host}:${port} is already in use; stop what listens there or set gateway.port in ${opts.topology.file}`);
    }
    throw err;
  }
  // A worker's health view is the primary's: it does not probe.
  if (!link) holder.current.health.start();
  const addr = app.server.address();
  const url = `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
  logger.info({ url, policy: holder.current.policy.table.digest, ...(link ? { worker: link.slot } : {}) }, 'gateway ready');
  link?.ready(url, fingerprintOf(holder.current));
  return {
    url,
    app,
    current: () => holder.current,
    reload: () => reloader.reload(),
    async close() {
      await app.close();
      await closeAll();
    },
  };
}

export interface RunGatewayOptions extends Omit<StartGatewayOptions, 'worker'> {
  /** Worker processes (default: gateway.workers of the topology, else one per core). */
  workers?: number;
}

/** What `sovereign gateway` runs: one process, or a primary and its workers. */
export interface GatewayProcess {
  url: string;
  close(): Promise<void>;
}

/**
 * Runs the gateway as `sovereign gateway` does: in this process with one worker, else as the
 * primary of gateway.workers processes (node:cluster forks this same command line for each;
 * in a forked worker, this starts that worker's gateway).
 */
export async function runGateway(opts: RunGatewayOptions): Promise<GatewayProcess> {
  const slot = Number(process.env[WORKER_SLOT_ENV] ?? 0);
  if (cluster.isWorker && slot > 0) return startGateway({ ...opts, watch: false, worker: new WorkerLink(slot) });
  const workers = opts.workers ?? opts.topology.gatewayWorkers();
  const logger = opts.logger ?? createLogger('sovereign-gateway');
  // Before any outbox is opened: what slots above this count kept goes to the slots that run.
  const replica = opts.replica ?? 'gateway';
  adoptOrphanOutboxes(opts.topology.gatewayDataDir(), replica, Math.max(1, workers), (slot) => workerReplica(replica, slot), logger);
  if (workers <= 1) return startGateway({ ...opts, logger });
  return startGatewayPrimary({ topology: opts.topology, workers, logger, replica, ...(opts.watch !== undefined ? { watch: opts.watch } : {}) });
}
