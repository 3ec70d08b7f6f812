// The two-tier decision. Tier one: the permitted set, from the policy table (law, cached per
// jurisdiction set and class). Tier two: order it by mode. A mode orders; it never adds a region.
import type { Topology } from '../config/index.ts';
import type { DecisionTable, PermittedSet, PolicyRef } from '../policy/index.ts';
import type {
  HybridRule,
  OrderingMode,
  RegionStats,
  RegionStatsLookup,
  RouteDecision,
  RouteRequest,
  RoutingOptions,
} from './types.ts';

/** Routing options from the topology's `routing` section plus hybrid rules (until the topology carries them). */
export function routingOptionsFrom(topology: Topology, hybrid: readonly HybridRule[] = []): RoutingOptions {
  const fromConfig = topology.data.routing.hybrid;
  return { mode: topology.data.routing.mode, preference: topology.data.routing.preference, hybrid: hybrid.length > 0 ? hybrid : fromConfig };
}

interface LegalOrder {
  /** Permitted regions, legal-first order. */
  readonly order: readonly string[];
  /** Preference rank of each permitted region. */
  readonly rank: ReadonlyMap<string, number>;
  /** 451 rationale, computed once. */
  readonly denial: string;
}

export class Router {
  readonly options: RoutingOptions;
  readonly #preference: ReadonlyMap<string, number>;
  readonly #legal = new WeakMap<PermittedSet, LegalOrder>();

  constructor(options: RoutingOptions) {
    this.options = options;
    this.#preference = new Map(options.preference.map((id, i) => [id, i]));
  }

  /** The ordering mode for a request, and the hybrid rule that chose it (null when not hybrid or no rule matched). */
  modeFor(request: Pick<RouteRequest, 'dataClass' | 'tenant'>): { mode: OrderingMode; rule: number | null } {
    if (this.options.mode !== 'hybrid') return { mode: this.options.mode, rule: null };
    const rules = this.options.hybrid ?? [];
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (r.dataClass !== undefined && r.dataClass !== request.dataClass) continue;
      if (r.tenant !== undefined && r.tenant !== request.tenant) continue;
      return { mode: r.mode, rule: i };
    }
    return { mode: 'legal-first', rule: null };
  }

  /**
   * Decides where a request may go and in what order. Microseconds: the permitted set and its
   * legal-first order are cached; performance-first sorts the (few) permitted regions by stats.
   */
  decide(table: DecisionTable, request: RouteRequest, stats?: RegionStatsLookup): RouteDecision {
    const set = table.permitted(request.jurisdictions, request.dataClass);
    const legal = this.#legalOrder(table, set);
    const { mode, rule } = this.modeFor(request);

    let permitted: readonly string[] = legal.order;
    let candidates: readonly string[] = legal.order;
    let unhealthy: readonly string[] = EMPTY;
    if (stats !== undefined && legal.order.length > 0) {
      const healthy: string[] = [];
      const sick: string[] = [];
      const known = new Map<string, RegionStats | undefined>();
      for (const id of legal.order) {
        const s = stats(id);
        known.set(id, s);
        (s === undefined || s.healthy ? healthy : sick).push(id);
      }
      if (mode === 'performance-first') {
        const cmp = byPerformance(known, legal.rank);
        healthy.sort(cmp);
        sick.sort(cmp);
      }
      candidates = healthy;
      unhealthy = sick;
      permitted = sick.length === 0 ? healthy : [...healthy, ...sick];
    }
    // Without stats there is nothing to rank by: performance-first keeps the legal-first order.

    const outcome = set.regions.length === 0 ? 'deny' : candidates.length === 0 ? 'unavailable' : 'route';
    const rationale =
      outcome === 'deny'
        ? legal.denial
        : outcome === 'unavailable'
          ? `The law permits ${list(legal.order)} for ${describe(set)}, but every one of them is unhealthy; retry later.`
          : `${describe(set)}: permitted in ${list(legal.order)}; ordered ${mode}.`;
    return {
      outcome,
      status: outcome === 'deny' ? 451 : outcome === 'unavailable' ? 503 : 200,
      jurisdictions: set.jurisdictions,
      dataClass: set.dataClass,
      tenant: request.tenant,
      mode,
      configuredMode: this.options.mode,
      hybridRule: rule,
      permitted,
      candidates,
      unhealthy,
      denied: set.denied,
      perRegion: set.perRegion,
      rationale,
      tableDigest: table.digest,
    };
  }

  #legalOrder(table: DecisionTable, set: PermittedSet): LegalOrder {
    const hit = this.#legal.get(set);
    if (hit !== undefined) return hit;
    const own = new Set(set.jurisdictions);
    const regionJurisdiction = new Map(set.perRegion.map((v) => [v.region, v.regionJurisdiction]));
    const tableIndex = new Map(table.regions.map((r, i) => [r, i]));
    const pref = (id: string): number => this.#preference.get(id) ?? this.#preference.size + (tableIndex.get(id) ?? 0);
    const rank = new Map(set.regions.map((id) => [id, pref(id)]));
    const order = [...set.regions].sort((a, b) => {
      const oa = own.has(regionJurisdiction.get(a) ?? '') ? 0 : 1;
      const ob = own.has(regionJurisdiction.get(b) ?? '') ? 0 : 1;
      return oa - ob || rank.get(a)! - rank.get(b)!;
    });
    const result: LegalOrder = { order: Object.freeze(order), rank, denial: denialRationale(set) };
    this.#legal.set(set, result);
    return result;
  }
}

const EMPTY: readonly string[] = Object.freeze([]);

function byPerformance(stats: ReadonlyMap<string, RegionStats | undefined>, rank: ReadonlyMap<string, number>) {
  const latency = (id: string): number => {
    const l = stats.get(id)?.latencyMs;
    return l === undefined || Number.isNaN(l) ? Infinity : l;
  };
  const inflight = (id: string): number => {
    const n = stats.get(id)?.inflight;
    return n === undefined || Number.isNaN(n) ? Infinity : n;
  };
  return (a: string, b: string): number => {
    const la = latency(a);
    const lb = latency(b);
    if (la !== lb) return la < lb ? -1 : 1;
    const ia = inflight(a);
    const ib = inflight(b);
    if (ia !== ib) return ia < ib ? -1 : 1;
    return rank.get(a)! - rank.get(b)!;
  };
}

function describe(set: PermittedSet): string {
  return `${set.dataClass} data of ${set.jurisdictions.join(' + ')} subjects`;
}

function list(ids: readonly string[]): string {
  return ids.length === 0 ? 'no region' : ids.join(', ');
}

/** The 451 rationale: every determining policy once, with its rationale and legal reference. */
function denialRationale(set: PermittedSet): string {
  const policies = new Map<string, PolicyRef>();
  let defaultDeny = false;
  let errors = false;
  for (const d of set.denied) {
    for (const p of d.policies) policies.set(p.id, p);
    if (d.causes.includes('default-deny')) defaultDeny = true;
    if (d.causes.includes('error')) errors = true;
  }
  const parts = [...policies.values()].map((p) => `${p.id}: ${p.rationale}${p.legalRef ? ` [${p.legalRef}]` : ''}`);
  if (defaultDeny) parts.push('no policy permits it in the remaining regions');
  if (errors) parts.push('a policy could not be evaluated (fail closed)');
  return `No region may process ${describe(set)}. ${parts.join('; ')}.`;
}

const routers = new WeakMap<RoutingOptions, Router>();

/**
 * Decides with `options` (a Router is built once per options object and cached).
 * Returns the permitted set, the healthy ordered candidates and the explanation.
 */
export function decide(table: DecisionTable, request: RouteRequest, options: RoutingOptions | Router, stats?: RegionStatsLookup): RouteDecision {
  let router = options instanceof Router ? options : routers.get(options);
  if (router === undefined) {
    router = new Router(options as RoutingOptions);
    routers.set(options as RoutingOptions, router);
  }
  return router.decide(table, request, stats);
}
