// The gateway: HTTP ingress for every region, taking each request down the request path.
// A changed topology or policy file is validated and hot-reloaded: the new deps are built,
// probed and swapped in as a whole; a bad file is refused with the reason and the previous
// one stays in force.
import { watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { createClassifier } from '../classify/index.ts';
import { consoleToken, registerConsole } from '../console/index.ts';
import { createLogger, type Logger } from '../common/index.ts';
import { loadTopology, type Topology } from '../config/index.ts';
import { createClientAddressResolver, databasePathOf, openGeoForTopology, type Geo } from '../geo/index.ts';
import { FileRegionStateStore, HealthMonitor, PgRegionStateStore, type RegionState, type RegionStateStore } from '../health/index.ts';
import { followRevocations, Mesh, spiffeId } from '../mesh/index.ts';
import { PolicyEngine, policyFilePath } from '../policy/index.ts';
import { registerAdmin, type TriggerRecord } from './admin.ts';
import { adminToken } from './admin-token.ts';
import { Decider } from './decide.ts';
import { Forwarder } from './forward.ts';
import { deliverErasure, registerDataRights, storeStatusOf } from './data-rights.ts';
import { createGatewayMetrics } from './metrics.ts';
import { Recorder } from './record.ts';
import { buildGatewayServer, type DepsHolder, type GatewayDeps } from './server.ts';

export { hashApiKey } from './auth.ts';
export { adminToken, adminTokenFile } from './admin-token.ts';
export { openOfflineDecider, type OfflineDecider } from './offline.ts';
export { decideRequest, explanation, type PipelineDeps, type PipelineInput } from './pipeline.ts';
export { ALLOW_HEADERS, AUTH_REQUEST_DENIAL, AUTH_REQUEST_PREFIX, EXT_AUTHZ_PREFIX, MODEL_HEADER, ORIGINAL_METHOD_HEADER } from './ext-authz.ts';
export { FORWARD_POOL } from './forward.ts';

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
}

type Deps = GatewayDeps & { policy: PolicyEngine };

async function openStateStore(topology: Topology, logger: Logger, replica?: string): Promise<RegionStateStore> {
  const st = topology.data.state;
  if (st.backend === 'file') return new FileRegionStateStore(topology.gatewayDataDir());
  const url = process.env[st.postgresUrlEnv];
  if (!url) throw new Error(`state.backend is postgres but ${st.postgresUrlEnv} is not set; export the connection string in that variable`);
  // Rows are per process, so two replicas that share a name still acknowledge separately.
  return PgRegionStateStore.open({ connectionString: url, cluster: st.cluster, replica: `${replica ?? 'gateway'}@${hostname()}/${process.pid}`, onError: (err) => logger.error({ err: err.message }, 'region state store') });
}

/** Applies a region state (suspensions) to a policy engine; returns the regions that changed. */
function applyState(policy: PolicyEngine, topology: Topology, s: RegionState, before: RegionState, logger: Logger): string[] {
  const changed: string[] = [];
  for (const r of topology.regions) {
    const sus = s.suspensions[r.id];
    if (JSON.stringify(sus) === JSON.stringify(before.suspensions[r.id])) continue;
    changed.push(r.id);
    const result = policy.setRegionState(r.id, sus ? { suspended: sus.for === null, suspendedFor: (sus.for ?? []).filter((j) => topology.jurisdictions.includes(j)) } : { suspended: false, suspendedFor: [] });
    if (!result.ok) {
      // Fail closed: a state we cannot apply suspends the region entirely.
      logger.error({ region: r.id, err: result.error.message }, 'region state could not be applied; suspending the region entirely');
      policy.setRegionState(r.id, { suspended: true, suspendedFor: [] });
    }
  }
  return changed;
}

/** Builds every per-topology part; the region state in force is applied before anything is served. */
async function buildDeps(topology: Topology, state: RegionState, logger: Logger, replica: string, mesh: Mesh, geoReuse?: Geo): Promise<Deps> {
  // Law first: a policy set that does not load is refused, with the reason.
  const policy = new PolicyEngine(topology);
  const loaded = policy.loadFile();
  if (!loaded.ok) throw loaded.error;
  for (const w of loaded.warnings) logger.warn({ warning: w }, 'policy warning');
  applyState(policy, topology, state, { version: -1, suspensions: {} }, logger);
  const geo =
    geoReuse ??
    (await openGeoForTopology(topology, {
      onReload: (i) => logger.info({ database: i.databasePath }, 'geo-IP database reloaded'),
      onError: (err) => logger.error({ err: err.message }, 'geo-IP database refused; the previous one stays in force'),
    }));
  const health = new HealthMonitor(
    topology.regions.map((r) => ({ region: r.id, url: mesh.cellOrigin(r.id), dispatcher: mesh.cellClient(r.id) })),
    { intervalMs: topology.data.gateway.probeIntervalMs, onChange: (h) => logger.info({ region: h.region, healthy: h.healthy, reason: h.reason }, 'region health changed') },
  );
  const decider = new Decider(topology, policy, (id) => {
    const h = health.get(id);
    return h ? { healthy: health.admits(id), latencyMs: h.latencyMs, inflight: h.inflight } : undefined;
  });
  const recorder = new Recorder(topology, topology.gatewayDataDir(), replica, logger, mesh);
  recorder.deliverErasuresWith(async (e) => {
    const done = await deliverErasure(mesh, e);
    logger.warn({ region: e.region, status: done.status, ledger: done.ledger ?? null }, 'pending erasure delivered');
  });
  return {
    topology,
    policy,
    health,
    decider,
    forwarder: new Forwarder(topology, health, mesh, recorder),
    recorder,
    classifier: createClassifier({ customPatterns: topology.data.classify.patterns, uninspectable: topology.data.classify.uninspectable }),
    geo,
    clientAddress: createClientAddressResolver(topology.data.gateway.trustedProxies),
    mesh,
  };
}

/** Settings a running gateway cannot change: a new file that changes them needs a restart. */
function restartOnly(a: Topology, b: Topology): string | null {
  const keys: [string, unknown, unknown][] = [
    ['gateway.host', a.data.gateway.host, b.data.gateway.host],
    ['gateway.port', a.data.gateway.port, b.data.gateway.port],
    ['gateway.bodyLimitBytes', a.data.gateway.bodyLimitBytes, b.data.gateway.bodyLimitBytes],
    ['dataDir', a.dataDir, b.dataDir],
    ['state', JSON.stringify(a.data.state), JSON.stringify(b.data.state)],
    ['mesh', JSON.stringify(a.data.mesh), JSON.stringify(b.data.mesh)],
  ];
  const changed = keys.filter(([, x, y]) => x !== y).map(([k]) => k);
  return changed.length > 0 ? `${changed.join(', ')} changed: restart the gateway to apply` : null;
}

export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  const logger = opts.logger ?? createLogger('sovereign-gateway');
  const replica = opts.replica ?? 'gateway';
  // The gateway's identity (spiffe://<td>/gateway/<replica>) before anything talks to a cell.
  const mesh = await Mesh.open(opts.topology, spiffeId.gateway(opts.topology.data.mesh.trustDomain, replica), logger);
  // Revocations made on another machine reach this replica through the shared state database.
  const revocations =
    opts.topology.data.mesh.mode === 'mtls'
      ? await followRevocations(opts.topology, (l) => mesh.setSharedRevocations(l), (err) => logger.error({ err: err.message }, 'shared revocation list'))
      : null;
  const store = await openStateStore(opts.topology, logger, opts.replica);
  let applied: RegionState = await store.load();
  const holder: DepsHolder & { current: Deps } = { current: await buildDeps(opts.topology, applied, logger, replica, mesh) };

  // Legal triggers: every new region state is applied to the decision table (recompiled for
  // the regions that changed) before it is acknowledged as in force on this replica.
  store.subscribe((s) => {
    if (s.version <= applied.version) return;
    const { policy, topology, forwarder } = holder.current;
    for (const id of applyState(policy, topology, s, applied, logger)) {
      const sus = s.suspensions[id];
      if (sus?.mode === 'cut' && sus.for === null) {
        const n = forwarder.abortRegion(id, `region ${id} suspended (${sus.ref})`);
        if (n > 0) logger.warn({ region: id, aborted: n }, 'in-flight requests cut by a legal trigger');
      }
      logger.warn({ region: id, suspension: sus ?? null }, sus ? 'region suspended' : 'region resumed');
    }
    applied = s;
    void store.ack(s.version).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'cannot acknowledge region state'));
  });
  await store.ack(applied.version).catch(() => undefined);

  const recordTrigger = async (t: TriggerRecord): Promise<string[]> => {
    const { topology, recorder } = holder.current;
    const affected = t.for ?? topology.jurisdictions;
    const regions = new Set<string>([t.region, ...affected.filter((j) => topology.regionsIn(j).length > 0).map((j) => recorder.homeRegion(j))]);
    const entry = { v: 1, kind: 'trigger', time: new Date().toISOString(), action: t.action, region: t.region, jurisdictions: [...affected], reason: t.reason, ref: t.ref };
    return Promise.all(
      [...regions].map(async (region) => {
        const r = await recorder.appendOrKeep({ region, entry });
        return r ? `${r.origin} ${r.index}` : `${region}: kept in the outbox until the region is back`;
      }),
    );
  };

  const metrics = createGatewayMetrics(() => ({ pending: holder.current.recorder.pending, deadLetters: holder.current.recorder.deadLetters() }));
  const admin = adminToken(opts.topology, true) as string;
  const app = buildGatewayServer(holder, metrics, logger, admin);
  registerAdmin(app, { current: () => holder.current, store, recordTrigger, storeStatus: (region) => storeStatusOf(holder.current.mesh, region) });
  registerDataRights(app, { current: () => holder.current, token: admin });
  // The operator's console (src/console): read-only with the console token, actions with the admin token.
  registerConsole(app, { current: () => holder.current, store, metrics, tokens: { admin, viewer: consoleToken(opts.topology, true) as string } });
  metrics.healthSource = { snapshot: () => holder.current.health.snapshot() };

  // Hot reload of the topology and policy files.
  let reloading: Promise<{ ok: boolean; reason?: string }> | null = null;
  const reload = (): Promise<{ ok: boolean; reason?: string }> => {
    if (reloading) return reloading;
    const run = (async () => {
      await Promise.resolve(); // `reloading` is set before the body runs
      const old = holder.current;
      try {
        const topology = old.topology.file === '<inline>' ? old.topology : loadTopology(old.topology.file);
        const why = restartOnly(old.topology, topology);
        if (why) throw new Error(why);
        const sameGeo = databasePathOf(topology) === databasePathOf(old.topology);
        const next = await buildDeps(topology, applied, logger, replica, mesh, sameGeo ? old.geo : undefined);
        // Probe every region before the swap, so the new deps start with real health.
        await Promise.all(topology.regions.map((r) => next.health.probe(r.id)));
        next.health.start();
        holder.current = next;
        old.health.stop();
        if (!sameGeo) old.geo.close();
        // Requests already under way finish on the old pools.
        setTimeout(() => void Promise.all([old.forwarder.close(), old.recorder.close()]), 30_000).unref();
        logger.warn({ file: topology.file, policy: next.policy.table.digest, regions: topology.regions.map((r) => r.id) }, 'topology and policies reloaded');
        return { ok: true };
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'changed topology or policy refused; the previous one stays in force');
        return { ok: false, reason: (err as Error).message };
      } finally {
        reloading = null;
      }
    })();
    reloading = run;
    return run;
  };
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  const onChange = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), 200);
  };
  if (opts.watch !== false) {
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
  holder.current.health.start();
  const addr = app.server.address();
  const url = `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
  logger.info({ url, policy: holder.current.policy.table.digest }, 'gateway ready');
  return {
    url,
    app,
    current: () => holder.current,
    reload,
    async close() {
      await app.close();
      await closeAll();
    },
  };
}
