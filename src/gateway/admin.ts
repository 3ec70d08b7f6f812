// Admin API: legal triggers (suspend / resume a region) and region status. Every route
// declares `access: 'admin'` (the admin token; enforced by the hook in access.ts). A trigger
// returns only once every live gateway replica (and every worker of each) has it in force.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, badRequest, firstIssue } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { resume, suspend, unservedModels, type HealthMonitor, type RegionStateStore, type Suspension } from '../health/index.ts';

const SuspendBody = z.strictObject({
  for: z.array(z.string().min(1)).min(1).optional(),
  reason: z.string().min(1, 'say why the region is suspended (--reason)'),
  ref: z.string().min(1, 'give the reference of the order or authority (--ref)'),
  mode: z.enum(['drain', 'cut']).default('drain'),
});

const ResumeBody = z.strictObject({ reason: z.string().optional(), ref: z.string().optional() }).default({});

export interface TriggerRecord {
  action: 'suspend' | 'resume';
  region: string;
  for: string[] | null;
  reason: string;
  ref: string;
  mode?: 'drain' | 'cut';
}

export interface AdminDeps {
  /** The topology and health in force (they change when the topology file is reloaded). */
  current: () => { topology: Topology; health: HealthMonitor };
  store: RegionStateStore;
  /** Writes the trigger to the ledgers it belongs in; returns their receipts. */
  recordTrigger: (t: TriggerRecord) => Promise<string[]>;
  /** Time allowed for every replica to apply a trigger. */
  replicaTimeoutMs?: number;
  /** A region's store status (null when its cell cannot be reached). */
  storeStatus?: (region: string) => Promise<unknown>;
}

export function registerAdmin(app: FastifyInstance, deps: AdminDeps): void {
  const { store } = deps;
  const timeout = deps.replicaTimeoutMs ?? 5000;

  function regionOf(id: string): string {
    const { topology } = deps.current();
    if (!topology.region(id)) throw new HttpError(404, 'not_found_error', `no region "${id}"; regions: ${topology.regions.map((r) => r.id).join(', ')}`);
    return id;
  }

  app.get('/sovereign/admin/regions', { config: { access: 'admin' } }, async () => {
    const state = await store.load();
    const snapshot = deps.current().health.snapshot();
    const stores = await Promise.all(snapshot.map((h) => (deps.storeStatus ? deps.storeStatus(h.region) : Promise.resolve(null))));
    return {
      version: state.version,
      regions: snapshot.map((h, i) => ({ ...h, unserved_models: unservedModels(deps.current().topology.region(h.region)?.models ?? [], h), suspension: state.suspensions[h.region] ?? null, store: stores[i] ?? null })),
    };
  });

  app.post<{ Params: { region: string } }>('/sovereign/admin/regions/:region/suspend', { config: { access: 'admin' } }, async (req) => {
    const region = regionOf(req.params.region);
    const parsed = SuspendBody.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'suspension'));
    const b = parsed.data;
    const { topology } = deps.current();
    const forJ = b.for ? b.for.map((v) => {
      const r = topology.resolveJurisdiction(v);
      if (!r.ok) throw badRequest(`for: ${r.reason}`);
      return r.jurisdiction;
    }) : null;
    const sus: Suspension = { region, for: forJ, reason: b.reason, ref: b.ref, mode: b.mode, at: new Date().toISOString() };
    // A suspension takes effect first (the law must be obeyed even if a ledger is down),
    // then it is recorded; a resume is recorded first and lifts nothing if that fails.
    const state = await store.update((s) => suspend(s, sus));
    const { replicas, workers } = await store.waitForReplicas(state.version, timeout);
    let receipts: string[];
    try {
      receipts = await deps.recordTrigger({ action: 'suspend', region, for: forJ, reason: b.reason, ref: b.ref, mode: b.mode });
    } catch (err) {
      throw new HttpError(503, 'ledger_unavailable', `region ${region} IS suspended (state version ${state.version}, ${replicas} replicas), but the trigger could not be recorded in the ledger: ${(err as Error).message}; retry the command to record it`);
    }
    return { suspended: sus, version: state.version, in_force_on_replicas: replicas, in_force_on_workers: workers ?? 1, ledger: receipts };
  });

  app.post<{ Params: { region: string } }>('/sovereign/admin/regions/:region/resume', { config: { access: 'admin' } }, async (req) => {
    const region = regionOf(req.params.region);
    const parsed = ResumeBody.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'resume'));
    const before = await store.load();
    const prior = before.suspensions[region];
    if (!prior) throw new HttpError(409, 'conflict_error', `region ${region} is not suspended`);
    const receipts = await deps.recordTrigger({ action: 'resume', region, for: prior.for, reason: parsed.data.reason ?? 'resumed', ref: parsed.data.ref ?? prior.ref });
    const state = await store.update((s) => resume(s, region));
    const { replicas, workers } = await store.waitForReplicas(state.version, timeout);
    return { resumed: region, version: state.version, in_force_on_replicas: replicas, in_force_on_workers: workers ?? 1, ledger: receipts };
  });
}
