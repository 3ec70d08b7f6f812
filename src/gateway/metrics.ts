// Prometheus metrics of the gateway (text format at /metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'outcome' | 'region'>;
  decisionSeconds: Histogram;
}

/** The gateway's ledger records not in a ledger yet: kept for a region that is down, or refused for good. */
export interface OutboxView {
  pending: number;
  deadLetters: ReadonlyMap<string, number>;
}

export function createGatewayMetrics(outbox?: () => OutboxView): GatewayMetrics {
  const registry = new Registry();
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
  return {
    registry,
    requests: new Counter({ name: 'sovereign_requests_total', help: 'Inference requests by outcome and serving region', labelNames: ['outcome', 'region'], registers: [registry] }),
    decisionSeconds: new Histogram({
      name: 'sovereign_decision_seconds',
      help: 'Time to identify, classify and decide for one request',
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01],
      registers: [registry],
    }),
  };
}
