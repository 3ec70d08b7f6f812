// Public entry of the routing component: the two-tier decision (law, then mode).

/** `decide(table, request, options, stats?)`, the `Router` it caches, and options from the topology. */
export { Router, decide, routingOptionsFrom } from './decide.ts';
/** Request, options, health stats, hybrid rules (and their zod schema) and the decision returned. */
export {
  HybridRuleSchema,
  type HybridRule,
  type OrderingMode,
  type RegionStats,
  type RegionStatsLookup,
  type RouteDecision,
  type RouteOutcome,
  type RouteRequest,
  type RoutingMode,
  type RoutingOptions,
} from './types.ts';
