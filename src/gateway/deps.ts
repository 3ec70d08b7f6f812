// Builds everything a request needs for one topology (the deps a reload replaces as a whole).
// The region state in force is applied before anything is served. Parts that belong to the
// process, not to a topology, are passed in: the mesh identity and the ledger outbox.
import { createClassifier } from '../classify/index.ts';
import type { Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { createClientAddressResolver, openGeoForTopology, type Geo } from '../geo/index.ts';
import { HealthMonitor, type RegionState } from '../health/index.ts';
import type { Mesh } from '../mesh/index.ts';
import { PolicyEngine } from '../policy/index.ts';
import { deliverErasure } from './data-rights.ts';
import { Decider } from './decide.ts';
import { Forwarder } from './forward.ts';
import type { Outbox } from './outbox.ts';
import { Recorder } from './record.ts';
import type { GatewayDeps } from './server.ts';
import { applyState, NO_STATE } from './suspension.ts';

export type Deps = GatewayDeps & { policy: PolicyEngine };

/** How a gateway worker shares the health view of its primary (absent: this process probes). */
export interface SharedHealth {
  /** A monitor just built: it starts from the shared view, and reports its ejections. */
  seed(h: HealthMonitor): void;
  /** The monitor in force from now on: it receives the shared view. */
  use(h: HealthMonitor): void;
  /** Live traffic in this process ejected a region. */
  ejected(region: string, why: string): void;
}

export interface ProcessParts {
  logger: Logger;
  mesh: Mesh;
  /** The process's one ledger outbox (survives reloads). */
  outbox: Outbox;
  shared?: SharedHealth;
}

export async function buildDeps(topology: Topology, state: RegionState, p: ProcessParts, geoReuse?: Geo): Promise<Deps> {
  const { logger, mesh } = p;
  // Law first: a policy set that does not load is refused, with the reason.
  const policy = new PolicyEngine(topology);
  const loaded = policy.loadFile();
  if (!loaded.ok) throw loaded.error;
  for (const w of loaded.warnings) logger.warn({ warning: w }, 'policy warning');
  applyState(policy, topology, state, NO_STATE, logger);
  const geo =
    geoReuse ??
    (await openGeoForTopology(topology, {
      onReload: (i) => logger.info({ database: i.databasePath }, 'geo-IP database reloaded'),
      onError: (err) => logger.error({ err: err.message }, 'geo-IP database refused; the previous one stays in force'),
    }));
  const health = new HealthMonitor(
    topology.regions.map((r) => ({ region: r.id, url: mesh.cellOrigin(r.id), dispatcher: mesh.cellClient(r.id) })),
    {
      intervalMs: topology.data.gateway.probeIntervalMs,
      // A worker's changes come from the primary, which logs them once.
      onChange: p.shared ? undefined : (h) => logger.info({ region: h.region, healthy: h.healthy, reason: h.reason }, 'region health changed'),
      onEject: p.shared ? (region, why) => p.shared?.ejected(region, why) : undefined,
    },
  );
  p.shared?.seed(health);
  const decider = new Decider(topology, policy, (id) => {
    const h = health.get(id);
    return h ? { healthy: health.admits(id), latencyMs: h.latencyMs, inflight: h.inflight } : undefined;
  });
  const recorder = new Recorder(topology, p.outbox, mesh);
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
