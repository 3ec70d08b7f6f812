// Prometheus metrics of the gateway (text format at /metrics). Label values are bounded: regions
// and jurisdictions come from the topology, classes and outcomes from the ledger schema.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RegionHealth } from '../health/index.ts';

export type RequestLabels = 'outcome' | 'region' | 'jurisdiction' | 'class';

export interface GatewayMetrics {
  registry: Registry;
  /** Inference requests by outcome, serving region, subject jurisdiction(s) and data class. */
  requests: Counter<RequestLabels>;
  /**
   * Attempts at a region that did not serve the request, by region and attempt outcome (`busy`,
   * `no_model`, `ledger_unavailable`, `connect_error`, ..., `skipped`): what made the gateway
   * move on to the next permitted region.
   */
  passedOver: Counter<'region' | 'outcome'>;
  decisionSeconds: Histogram;
  /** Time to make a decision durable in every ledger it belongs in (destination and home regions). */
  ledgerAppendSeconds: Histogram;
  /** Witness lag per region: entries of the log not yet covered by a witness-cosigned checkpoint. */
  witnessLagEntries: Gauge<'region'>;
  /** Seconds since the region's log last gained a witness cosignature on a new checkpoint. */
  witnessLagSeconds: Gauge<'region'>;
  /** Reads region health at scrape time (set by the gateway once its deps exist). */
  healthSource: { snapshot: () => RegionHealth[] } | null;
  /** Counts new outlier ejections seen in the health snapshot (called every second by the console's sampler, and at scrape time). */
  syncEjections: () => void;
}

/** The gateway's ledger records not in a ledger yet: kept for a region that is down, or refused for good. */
export interface OutboxView {
  pending: number;
  deadLetters: ReadonlyMap<string, number>;
}

/**
 * A gateway worker's registry: its own metrics go to the primary's aggregation (prom-client's
 * AggregatorRegistry, summed across workers unless a metric says otherwise), and its text
 * format is that aggregation, so /metrics shows the whole gateway whichever worker answers.
 */
class WorkerRegistry extends Registry {
  readonly #aggregate: () => Promise<string>;
  constructor(aggregate: () => Promise<string>) {
    super();
    this.#aggregate = aggregate;
  }
  override metrics(): Promise<string> {
    return this.#aggregate();
  }
}

export function createGatewayMetrics(outbox?: () => OutboxView, cluster?: { aggregate: () => Promise<string> }): GatewayMetrics {
  const registry = cluster ? new WorkerRegistry(cluster.aggregate) : new Registry();
  collectDefaultMetrics({ register: registry });
  if (outbox !== undefined) {
    new Gauge({
      name: 'sovereign_ledger_outbox_records',
      help: 'Ledger records kept in the outbox until their region can record them',
      registers: [registry],
      collect() {
        this.set(outbox().pending);
      },
    });
    new Gauge({
      name: 'sovereign_ledger_dead_letter_records',
      help: 'Ledger records their region refused for good, in the dead-letter file next to the outbox (never retried; an operator must look at them)',
      labelNames: ['region'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [region, n] of outbox().deadLetters) this.set({ region }, n);
      },
    });
  }
  const m: GatewayMetrics = {
    registry,
    requests: new Counter({
      name: 'sovereign_requests_total',
      help: 'Inference requests by outcome, serving region, subject jurisdiction(s) and data class',
      labelNames: ['outcome', 'region', 'jurisdiction', 'class'],
      registers: [registry],
    }),
    passedOver: new Counter({
      name: 'sovereign_region_passed_over_total',
      help: 'Attempts at a region that did not serve the request (the gateway moved on), by region and attempt outcome',
      labelNames: ['region', 'outcome'],
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: 'sovereign_decision_seconds',
      help: 'Time to identify, classify and decide for one request',
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01],
      registers: [registry],
    }),
    ledgerAppendSeconds: new Histogram({
      name: 'sovereign_ledger_append_seconds',
      help: 'Time to record a decision durably in the ledgers it belongs in, before forwarding',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    witnessLagEntries: new Gauge({ name: 'sovereign_witness_lag_entries', help: 'Log entries not yet covered by a witness-cosigned checkpoint', labelNames: ['region'], registers: [registry], aggregator: 'max' }),
    witnessLagSeconds: new Gauge({ name: 'sovereign_witness_lag_seconds', help: 'Seconds the log has had entries not covered by a witness-cosigned checkpoint', labelNames: ['region'], registers: [registry], aggregator: 'max' }),
    healthSource: null,
    syncEjections: () => undefined,
  };
  // The monitor keeps each region's ejection streak (reset once stable); the counter adds each rise.
  // Every worker sees the same ejections (the primary shares them): across workers, the most seen.
  const ejections = new Counter({ name: 'sovereign_ejections_total', help: 'Outlier ejections of a region by live traffic', labelNames: ['region'], registers: [registry], aggregator: 'max', collect: () => m.syncEjections() });
  const seen = new Map<string, number>();
  m.syncEjections = () => {
    for (const h of m.healthSource?.snapshot() ?? []) {
      const before = seen.get(h.region) ?? 0;
      if (h.ejections > before) ejections.inc({ region: h.region }, h.ejections - before);
      else ejections.inc({ region: h.region }, 0);
      seen.set(h.region, h.ejections);
    }
  };
  // Across workers: healthy only if every worker admits the region; the mean latency; the sum of in-flight requests.
  const perRegion = (name: string, help: string, value: (h: RegionHealth) => number, aggregator: 'min' | 'max' | 'sum' | 'average'): Gauge<'region'> =>
    new Gauge({
      name,
      help,
      labelNames: ['region'],
      registers: [registry],
      aggregator,
      collect() {
        for (const h of m.healthSource?.snapshot() ?? []) this.set({ region: h.region }, value(h));
      },
    });
  perRegion('sovereign_region_healthy', 'Whether the region admits traffic (1) or not (0)', (h) => (h.healthy ? 1 : 0), 'min');
  perRegion('sovereign_region_latency_ms', 'Latency EWMA of the region, ms', (h) => h.latencyMs, 'average');
  perRegion('sovereign_region_inflight', 'Requests in flight to the region', (h) => h.inflight, 'sum');
  perRegion('sovereign_region_ejections', 'Outlier ejections of the region since it was last stable', (h) => h.ejections, 'max');
  return m;
}

/** Counts the attempts of a request that did not serve it (nothing, on the common path of one attempt that did). */
export function countPassedOver(m: GatewayMetrics, attempts: readonly { region: string; outcome: string }[]): void {
  for (const a of attempts) if (a.outcome !== 'ok' && a.outcome !== 'client_error') m.passedOver.inc({ region: a.region, outcome: a.outcome });
}

/** The jurisdiction label of a request: its subjects' jurisdictions, sorted, joined by "+". */
export function jurisdictionLabel(jurisdictions: readonly { jurisdiction: string }[]): string {
  // Most requests have one subject jurisdiction: no set, no sort.
  if (jurisdictions.length === 1) return (jurisdictions[0] as { jurisdiction: string }).jurisdiction || 'none';
  return [...new Set(jurisdictions.map((j) => j.jurisdiction))].sort().join('+') || 'none';
}
