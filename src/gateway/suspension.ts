// Legal triggers inside one gateway process: the mapping from a region state (suspensions) to
// the decision table, the follower that applies each new state version before acknowledging
// it (cutting in-flight requests on --cut), and the trigger's ledger entries.
import type { Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { RegionState, RegionStateStore } from '../health/index.ts';
import type { PolicyEngine } from '../policy/index.ts';
import type { TriggerRecord } from './admin.ts';
import type { Forwarder } from './forward.ts';
import type { Recorder } from './record.ts';

/** Applies a region state (suspensions) to a policy engine; returns the regions that changed. */
export function applyState(policy: PolicyEngine, topology: Topology, s: RegionState, before: RegionState, logger: Logger): string[] {
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

/** The state before any suspension: applying a state over it sets every region it names. */
export const NO_STATE: RegionState = { version: -1, suspensions: {} };

interface InForce {
  policy: PolicyEngine;
  topology: Topology;
  forwarder: Forwarder;
}

/**
 * Follows a region state store: each new version is applied to the decision table in force
 * (recompiled for the regions that changed), in-flight requests to a region cut for everyone
 * are aborted, and only then is the version acknowledged as in force in this process.
 */
export class RegionStateFollower {
  #applied: RegionState;
  readonly #store: RegionStateStore;
  readonly #current: () => InForce;
  readonly #logger: Logger;

  constructor(store: RegionStateStore, initial: RegionState, current: () => InForce, logger: Logger) {
    this.#store = store;
    this.#applied = initial;
    this.#current = current;
    this.#logger = logger;
  }

  /** The state applied to the decision table in force (a reload builds the next table from it). */
  get applied(): RegionState {
    return this.#applied;
  }

  /** Subscribes to the store and acknowledges the state applied at start. */
  async start(): Promise<void> {
    this.#store.subscribe((s) => this.apply(s));
    await this.#store.ack(this.#applied.version).catch(() => undefined);
  }

  apply(s: RegionState): void {
    if (s.version <= this.#applied.version) return;
    const { policy, topology, forwarder } = this.#current();
    for (const id of applyState(policy, topology, s, this.#applied, this.#logger)) {
      const sus = s.suspensions[id];
      if (sus?.mode === 'cut' && sus.for === null) {
        const n = forwarder.abortRegion(id, `region ${id} suspended (${sus.ref})`);
        if (n > 0) this.#logger.warn({ region: id, aborted: n }, 'in-flight requests cut by a legal trigger');
      }
      this.#logger.warn({ region: id, suspension: sus ?? null }, sus ? 'region suspended' : 'region resumed');
    }
    this.#applied = s;
    void this.#store.ack(s.version).catch((err: unknown) => this.#logger.error({ err: (err as Error).message }, 'cannot acknowledge region state'));
  }
}

/** The ledger entry of a legal trigger (ledger schema v1, kind "trigger"). */
export function triggerEntry(t: TriggerRecord, jurisdictions: readonly string[], time = new Date()): Record<string, unknown> {
  return { v: 1, kind: 'trigger', time: time.toISOString(), action: t.action, region: t.region, jurisdictions: [...jurisdictions], reason: t.reason, ref: t.ref };
}

/**
 * Records a trigger in the region it names and in the home region of every jurisdiction it
 * affects (kept in the outbox for a region that is down); resolves with one line per region.
 */
export async function recordTrigger(recorder: Recorder, topology: Topology, t: TriggerRecord): Promise<string[]> {
  const affected = t.for ?? topology.jurisdictions;
  const regions = new Set<string>([t.region, ...affected.filter((j) => topology.regionsIn(j).length > 0).map((j) => recorder.homeRegion(j))]);
  const entry = triggerEntry(t, affected);
  return Promise.all(
    [...regions].map(async (region) => {
      const r = await recorder.appendOrKeep({ region, entry });
      return r ? `${r.origin} ${r.index}` : `${region}: kept in the outbox until the region is back`;
    }),
  );
}
