// Inputs and outputs of the routing decision.
import { z } from 'zod';
import type { RoutingMode } from '../config/index.ts';
import { DATA_CLASSES, type DataClass, type DeniedRegion, type RegionVerdict } from '../policy/index.ts';

/** A mode that orders regions. `hybrid` picks one of these per request. */
export type OrderingMode = 'legal-first' | 'performance-first';
export type { RoutingMode };

/**
 * A hybrid-mode rule: the first rule whose given fields all match the request picks the mode;
 * a rule with neither field matches everything. No match: legal-first.
 * Config key to add (topology `routing.hybrid`): a list of these, e.g.
 *   routing: { mode: hybrid, hybrid: [{ dataClass: special, mode: legal-first }, { tenant: acme, mode: performance-first }] }
 */
export interface HybridRule {
  dataClass?: DataClass;
  tenant?: string;
  mode: OrderingMode;
}

/** zod schema of one hybrid rule, for the topology schema's `routing.hybrid: z.array(HybridRuleSchema).default([])`. */
export const HybridRuleSchema = z.strictObject({
  dataClass: z.enum(DATA_CLASSES).optional(),
  tenant: z.string().min(1).optional(),
  mode: z.enum(['legal-first', 'performance-first']),
});

/** What the health component knows about a region. */
export interface RegionStats {
  healthy: boolean;
  /** Latency EWMA in milliseconds. */
  latencyMs: number;
  /** Requests in flight. */
  inflight: number;
}

/** Health lookup by region id; `undefined` = no data yet (treated as healthy, latency unknown: after measured regions). */
export type RegionStatsLookup = (regionId: string) => RegionStats | undefined;

export interface RoutingOptions {
  mode: RoutingMode;
  /** Region order among equals; unlisted regions follow in topology order. */
  preference: readonly string[];
  /** Rules for `hybrid` mode. */
  hybrid?: readonly HybridRule[];
}

export interface RouteRequest {
  /** The data subjects' jurisdictions: names or ISO country codes ('EU', 'DE', 'US'); empty = unknown. */
  jurisdictions: readonly string[];
  dataClass: DataClass;
  tenant?: string;
}

/**
 * - `route`: forward to `candidates[0]`, retry only within `candidates`
 * - `deny`: HTTP 451, the law permits no region (`rationale`, `denied`)
 * - `unavailable`: HTTP 503, every permitted region is unhealthy
 */
export type RouteOutcome = 'route' | 'deny' | 'unavailable';

export interface RouteDecision {
  readonly outcome: RouteOutcome;
  readonly status: 200 | 451 | 503;
  /** Resolved policy jurisdictions (sorted; 'DE' → 'EU', 'US' → 'third_country'). */
  readonly jurisdictions: readonly string[];
  readonly dataClass: DataClass;
  readonly tenant: string | undefined;
  /** The mode that ordered the regions, and the configured one. */
  readonly mode: OrderingMode;
  readonly configuredMode: RoutingMode;
  /** Index of the hybrid rule that chose `mode`, or null. */
  readonly hybridRule: number | null;
  /** Every region the law permits, ordered by mode, unhealthy regions last. */
  readonly permitted: readonly string[];
  /** Healthy permitted regions, ordered by mode: the only regions a request may be sent to. */
  readonly candidates: readonly string[];
  /** Permitted but unhealthy. */
  readonly unhealthy: readonly string[];
  /** Regions the law excludes, with the determining policies. */
  readonly denied: readonly DeniedRegion[];
  /** Per-region legal verdict with each jurisdiction's determining policies (for explain). */
  readonly perRegion: readonly RegionVerdict[];
  /** One paragraph for a 451 body, an explain endpoint or a log line. */
  readonly rationale: string;
  /** The decision table's digest: which policy set and region state decided. */
  readonly tableDigest: string;
}
