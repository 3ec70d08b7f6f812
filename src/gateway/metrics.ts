// Prometheus metrics of the gateway (text format at /metrics).
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<'outcome' | 'region'>;
  decisionSeconds: Histogram;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
