// Decisions per second, by subject jurisdiction, data class, outcome and serving region, from
// the gateway's request counter sampled once a second over a sliding window.
import type { Topology } from '../config/index.ts';
import type { GatewayMetrics } from '../gateway/metrics.ts';

export interface RateRow {
  jurisdiction: string;
  class: string;
  outcome: string;
  region: string;
  perSecond: number;
  total: number;
  /** Served in a region outside every one of the subjects' jurisdictions. */
  transfer: boolean;
}

const WINDOW = 5;

export class DecisionRates {
  readonly #metrics: GatewayMetrics;
  readonly #samples: { at: number; values: Map<string, number> }[] = [];

  constructor(metrics: GatewayMetrics) {
    this.#metrics = metrics;
  }

  async sample(): Promise<void> {
    const values = new Map<string, number>();
    for (const v of (await this.#metrics.requests.get()).values) values.set(JSON.stringify([v.labels.jurisdiction, v.labels.class, v.labels.outcome, v.labels.region]), v.value);
    this.#samples.push({ at: Date.now(), values });
    if (this.#samples.length > WINDOW + 1) this.#samples.shift();
  }

  rows(topology: Topology): RateRow[] {
    const last = this.#samples[this.#samples.length - 1];
    const first = this.#samples[0];
    if (last === undefined || first === undefined) return [];
    const dt = Math.max(1, (last.at - first.at) / 1000);
    const out: RateRow[] = [];
    for (const [key, total] of last.values) {
      const [jurisdiction, cls, outcome, region] = JSON.parse(key) as [string, string, string, string];
      const where = topology.region(region)?.jurisdiction;
      out.push({
        jurisdiction,
        class: cls,
        outcome,
        region,
        perSecond: first === last ? 0 : (total - (first.values.get(key) ?? 0)) / dt,
        total,
        transfer: where !== undefined && !jurisdiction.split('+').includes(where),
      });
    }
    return out.sort((a, b) => b.perSecond - a.perSecond || b.total - a.total);
  }
}
