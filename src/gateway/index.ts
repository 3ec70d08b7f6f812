// The gateway: HTTP ingress for every region, taking each request down the request path.
import { watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { createClassifier } from '../classify/index.ts';
import { createLogger, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { createClientAddressResolver, openGeoForTopology } from '../geo/index.ts';
import { FileRegionStateStore, HealthMonitor, PgRegionStateStore, type RegionState, type RegionStateStore } from '../health/index.ts';
import { PolicyEngine, policyFilePath } from '../policy/index.ts';
import { registerAdmin, type TriggerRecord } from './admin.ts';
import { adminToken } from './admin-token.ts';
import { Decider } from './decide.ts';
import { Forwarder } from './forward.ts';
import { createGatewayMetrics } from './metrics.ts';
import { Recorder } from './record.ts';
import { buildGatewayServer } from './server.ts';

export { hashApiKey } from './auth.ts';
export { adminToken, adminTokenFile } from './admin-token.ts';

export interface RunningGateway {
  url: string;
  app: FastifyInstance;
  health: HealthMonitor;
  policy: PolicyEngine;
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  topology: Topology;
  host?: string;
  port?: number;
  logger?: Logger;
  /** Name of this gateway replica (its ledger outbox and its row in a shared region state); default "gateway". */
  replica?: string;
}

async function openStateStore(topology: Topology, logger: Logger, replica?: string): Promise<RegionStateStore> {
  const st = topology.data.state;
  if (st.backend === 'file') return new FileRegionStateStore(topology.gatewayDataDir());
  const url = process.env[st.postgresUrlEnv];
  if (!url) throw new Error(`state.backend is postgres but ${st.postgresUrlEnv} is not set; export the connection string in that variable`);
  // Rows are per process, so two replicas that share a name still acknowledge separately.
  return PgRegionStateStore.open({ connectionString: url, cluster: st.cluster, replica: `${replica ?? 'gateway'}@${hostname()}/${process.pid}`, onError: (err) => logger.error({ err: err.message }, 'region state store') });
}

export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  const { topology } = opts;
  const logger = opts.logger ?? createLogger('sovereign-gateway');

  // Law first: a policy set that does not load stops start-up, with the reason.
  const policy = new PolicyEngine(topology);
  const loaded = policy.loadFile();
  if (!loaded.ok) throw loaded.error;
  for (const w of loaded.warnings) logger.warn({ warning: w }, 'policy warning');

  const geo = await openGeoForTopology(topology, {
    onReload: (i) => logger.info({ database: i.databasePath }, 'geo-IP database reloaded'),
    onError: (err) => logger.error({ err: err.message }, 'geo-IP database refused; the previous one stays in force'),
  });
  const clientAddress = createClientAddressResolver(topology.data.gateway.trustedProxies);
  const classifier = createClassifier({ customPatterns: topology.data.classify.patterns });
  const health = new HealthMonitor(
    topology.regions.map((r) => ({ region: r.id, url: r.url })),
    { intervalMs: topology.data.gateway.probeIntervalMs, onChange: (h) => logger.info({ region: h.region, healthy: h.healthy, reason: h.reason }, 'region health changed') },
  );
  const decider = new Decider(topology, policy, (id) => {
    const h = health.get(id);
    return h ? { healthy: health.admits(id), latencyMs: h.latencyMs, inflight: h.inflight } : undefined;
  });
  const forwarder = new Forwarder(topology, health);
  const recorder = new Recorder(topology, topology.gatewayDataDir(), opts.replica ?? 'gateway', logger);
  const store = await openStateStore(topology, logger, opts.replica);

  // Legal triggers: every new region state is applied to the decision table (recompiled for
  // the regions that changed) before it is acknowledged as in force on this replica.
  let applied: RegionState = { version: -1, suspensions: {} };
  const apply = (s: RegionState): void => {
    if (s.version <= applied.version) return;
    for (const r of topology.regions) {
      const sus = s.suspensions[r.id];
      const before = applied.suspensions[r.id];
      if (JSON.stringify(sus) === JSON.stringify(before)) continue;
      const result = policy.setRegionState(r.id, sus ? { suspended: sus.for === null, suspendedFor: sus.for ?? [] } : { suspended: false, suspendedFor: [] });
      if (!result.ok) {
        // Fail closed: a state we cannot apply suspends the region entirely.
        logger.error({ region: r.id, err: result.error.message }, 'region state could not be applied; suspending the region entirely');
        policy.setRegionState(r.id, { suspended: true, suspendedFor: [] });
      }
      if (sus?.mode === 'cut' && sus.for === null) {
        const n = forwarder.abortRegion(r.id, `region ${r.id} suspended (${sus.ref})`);
        if (n > 0) logger.warn({ region: r.id, aborted: n }, 'in-flight requests cut by a legal trigger');
      }
      logger.warn({ region: r.id, suspension: sus ?? null }, sus ? 'region suspended' : 'region resumed');
    }
    applied = s;
    void store.ack(s.version).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'cannot acknowledge region state'));
  };
  apply(await store.load());
  store.subscribe(apply);

  const recordTrigger = async (t: TriggerRecord): Promise<string[]> => {
    const affected = t.for ?? topology.jurisdictions;
    const regions = new Set<string>([t.region, ...affected.filter((j) => topology.regionsIn(j).length > 0).map((j) => recorder.homeRegion(j))]);
    const entry = { v: 1, kind: 'trigger', time: new Date().toISOString(), action: t.action, region: t.region, jurisdictions: [...affected], reason: t.reason, ref: t.ref };
    const receipts = await Promise.all([...regions].map(async (region) => {
      const r = await recorder.appendOrKeep({ region, entry });
      return r ? `${r.origin} ${r.index}` : `${region}: kept in the outbox until the region is back`;
    }));
    return receipts;
  };

  const metrics = createGatewayMetrics();
  const app = buildGatewayServer({ topology, health, decider, forwarder, recorder, classifier, geo, clientAddress, metrics, logger });
  registerAdmin(app, { topology, token: adminToken(topology, true) as string, store, health, recordTrigger });

  // A changed policy file is validated and hot-reloaded; a bad one is refused, with the reason,
  // and the previous table stays in force.
  const policyFile = policyFilePath(topology);
  let reloadTimer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(policyFile, { persistent: false }, () => {
      if (reloadTimer) clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => {
        const r = policy.loadFile(policyFile);
        if (r.ok) logger.warn({ file: policyFile, digest: r.table.digest }, 'policy set reloaded');
        else logger.error({ file: policyFile, err: r.error.message }, 'changed policy set refused; the previous one stays in force');
      }, 200);
    });
  } catch (err) {
    logger.warn({ file: policyFile, err: (err as Error).message }, 'cannot watch the policy file; restart to pick up changes');
  }

  const host = opts.host ?? topology.data.gateway.host;
  const port = opts.port ?? topology.data.gateway.port;
  const closeAll = async (): Promise<void> => {
    watcher?.close();
    health.stop();
    geo.close();
    await forwarder.close();
    await recorder.close();
    await store.close();
  };
  try {
    await app.listen({ host, port });
  } catch (err) {
    await closeAll();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`gateway: ${host}:${port} is already in use; stop what listens there or set gateway.port in ${topology.file}`);
    }
    throw err;
  }
  health.start();
  const addr = app.server.address();
  const url = `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
  logger.info({ url, policy: loaded.table.digest }, 'gateway ready');
  return {
    url,
    app,
    health,
    policy,
    async close() {
      await app.close();
      await closeAll();
    },
  };
}
export { openOfflineDecider, type OfflineDecider } from './offline.ts';
export { decideRequest, explanation, type PipelineDeps, type PipelineInput } from './pipeline.ts';
