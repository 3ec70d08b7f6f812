// Decide: tier one, the regions the law permits (the compiled policy table; strictest wins
// across the request's jurisdictions); tier two, their order by routing mode, among healthy
// regions that serve the model. Nothing here can add a region the table denies.
import type { DataClass } from '../classify/index.ts';
import type { Topology } from '../config/index.ts';
import type { PolicyEngine } from '../policy/index.ts';
import { Router, routingOptionsFrom, type RegionStatsLookup, type RouteDecision } from '../routing/index.ts';
import type { ApplicableJurisdiction } from './identify.ts';

/** Most policy ids a ledger entry records for one decision. */
export const MAX_POLICY_IDS = 64;

export interface DecideInput {
  jurisdictions: readonly ApplicableJurisdiction[];
  dataClass: DataClass;
  tenant: string | null;
  model: string;
}

export interface Decided {
  route: RouteDecision;
  /** Permitted regions that serve the model, ordered; the law's set intersected, never widened. */
  permitted: string[];
  /** The regions to try, in order: permitted, healthy, serving the model. */
  candidates: string[];
  /** Ids of the policies that decided (for the destination: its allowing policies; for a denial: the denying ones). */
  policiesFor(region: string | null): string[];
  rationale: string[];
}

// The table's verdicts are shared by every request with the same (jurisdictions, class), so
// the policy ids of a verdict are computed once per verdict, not per request.
const idsCache = new WeakMap<object, Map<string | null, string[]>>();

function policyIds(route: RouteDecision, region: string | null): string[] {
  const key = region === null ? route.denied : route.perRegion;
  let byRegion = idsCache.get(key);
  if (!byRegion) idsCache.set(key, (byRegion = new Map<string | null, string[]>()));
  let out = byRegion.get(region);
  if (out) return out;
  const ids = new Set<string>();
  if (region !== null) {
    for (const v of route.perRegion) if (v.region === region) for (const j of v.byJurisdiction) for (const p of j.policies) ids.add(p.id);
  } else {
    for (const d of route.denied) for (const p of d.policies) ids.add(p.id);
  }
  // The ledger keeps at most MAX_POLICY_IDS (its schema's bound); the table digest in the
  // decision identifies the whole policy set.
  out = [...ids].sort().slice(0, MAX_POLICY_IDS);
  byRegion.set(region, out);
  return out;
}

export class Decider {
  readonly #engine: PolicyEngine;
  readonly #router: Router;
  readonly #servesModel = new Map<string, Set<string>>();
  readonly #stats: RegionStatsLookup | undefined;

  /** `stats`: live health per region; without it (offline explain) every region counts as healthy. */
  constructor(topology: Topology, engine: PolicyEngine, stats?: RegionStatsLookup) {
    this.#stats = stats;
    this.#engine = engine;
    this.#router = new Router(routingOptionsFrom(topology));
    for (const r of topology.regions) {
      for (const m of r.models) {
        let s = this.#servesModel.get(m);
        if (!s) this.#servesModel.set(m, (s = new Set()));
        s.add(r.id);
      }
    }
  }

  /**
   * Does the law in force now still permit `region` for these jurisdictions and class? Asked
   * again right before each attempt, so a suspension that lands while a request is being
   * recorded or retried is obeyed by that request too (the table lookup is cached).
   */
  permitsNow(jurisdictions: readonly ApplicableJurisdiction[], dataClass: DataClass, region: string): boolean {
    const names = [...new Set(jurisdictions.map((j) => j.jurisdiction))];
    return this.#engine.table.permitted(names, dataClass).regions.includes(region);
  }

  servesAnywhere(model: string): boolean {
    return this.#servesModel.has(model);
  }

  decide(input: DecideInput): Decided {
    const names = [...new Set(input.jurisdictions.map((j) => j.jurisdiction))];
    const route = this.#router.decide(this.#engine.table, { jurisdictions: names, dataClass: input.dataClass, ...(input.tenant ? { tenant: input.tenant } : {}) }, this.#stats);
    const serving = this.#servesModel.get(input.model);
    const permitted = route.permitted.filter((id) => serving?.has(id) === true);
    const candidates = route.candidates.filter((id) => serving?.has(id) === true);
    const rationale = [route.rationale];
    if (route.permitted.length > 0 && permitted.length === 0) {
      rationale.push(`model "${input.model}" is not served in any permitted region (${route.permitted.join(', ')})`);
    }
    return {
      route,
      permitted,
      candidates,
      rationale,
      policiesFor: (region) => policyIds(route, region),
    };
  }
}
