// The gateway: HTTP ingress for every region, taking each request down the request path.
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { HealthMonitor } from '../health/index.ts';
import { Decider } from './decide.ts';
import { Forwarder } from './forward.ts';
import { createGatewayMetrics } from './metrics.ts';
import { buildGatewayServer } from './server.ts';

export { hashApiKey } from './auth.ts';

export interface RunningGateway {
  url: string;
  app: FastifyInstance;
  health: HealthMonitor;
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  topology: Topology;
  host?: string;
  port?: number;
  logger?: Logger;
}

export async function startGateway(opts: StartGatewayOptions): Promise<RunningGateway> {
  const { topology } = opts;
  const logger = opts.logger ?? createLogger('sovereign-gateway');
  const health = new HealthMonitor(
    topology.regions.map((r) => ({ region: r.id, url: r.url })),
    { intervalMs: topology.data.gateway.probeIntervalMs, onChange: (h) => logger.info({ region: h.region, healthy: h.healthy, reason: h.reason }, 'region health changed') },
  );
  const decider = new Decider(topology, health);
  const forwarder = new Forwarder(topology, health);
  const app = buildGatewayServer({ topology, health, decider, forwarder, metrics: createGatewayMetrics(), logger });
  const host = opts.host ?? topology.data.gateway.host;
  const port = opts.port ?? topology.data.gateway.port;
  try {
    await app.listen({ host, port });
  } catch (err) {
    await forwarder.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`gateway: ${host}:${port} is already in use; stop what listens there or set gateway.port in ${topology.file}`);
    }
    throw err;
  }
  health.start();
  const addr = app.server.address();
  const url = `http://${host}:${typeof addr === 'object' && addr ? addr.port : port}`;
  logger.info({ url }, 'gateway ready');
  return {
    url,
    app,
    health,
    async close() {
      health.stop();
      await app.close();
      await forwarder.close();
    },
  };
}
