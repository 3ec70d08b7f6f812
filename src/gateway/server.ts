// The gateway's HTTP ingress. Every inference request takes the one path of the design:
// identify -> classify -> decide -> record -> forward; 451 when the law permits no region,
// 503 when every permitted region is down.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChatRequestSchema, V2InferRequestSchema, badRequest, createHttpServer, firstIssue, notFound, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { HealthMonitor } from '../health/index.ts';
import { authenticate } from './auth.ts';
import { jurisdictionDenied, type Decision } from './decision.ts';
import type { Decider } from './decide.ts';
import type { Forwarder } from './forward.ts';
import { identify } from './identify.ts';
import type { GatewayMetrics } from './metrics.ts';

export interface GatewayDeps {
  topology: Topology;
  health: HealthMonitor;
  decider: Decider;
  forwarder: Forwarder;
  metrics: GatewayMetrics;
  logger: Logger;
}

interface InferenceRoute {
  model: string;
  method: 'GET' | 'POST';
  path: string;
}

export function buildGatewayServer(deps: GatewayDeps): FastifyInstance {
  const { topology, health, decider, forwarder, metrics } = deps;
  const app = createHttpServer({ bodyLimit: topology.data.gateway.bodyLimitBytes, logger: deps.logger });

  async function route(req: FastifyRequest, reply: FastifyReply, r: InferenceRoute): Promise<FastifyReply> {
    const started = performance.now();
    const tenant = authenticate(topology, req.headers);
    if (!decider.servesAnywhere(r.model)) {
      throw notFound(`model "${r.model}" is not served by any region; GET /v1/models lists the models`);
    }
    // Identify.
    const jurisdictions = identify(topology, tenant, req.headers);
    // Classify (declared class; content classification plugs in here).
    const declared = req.headers['x-data-classification'];
    const dataClass = typeof declared === 'string' && declared !== '' ? declared.toLowerCase() : 'public';
    // Decide.
    const d: Decision = {
      id: randomUUID(),
      tenant: tenant?.name ?? null,
      jurisdictions,
      dataClass,
      detectedTypes: [],
      mode: topology.data.routing.mode,
      model: r.model,
      permitted: [],
      candidates: [],
      rationale: [],
      attempts: [],
    };
    const out = decider.decide({ jurisdictions, dataClass, model: r.model });
    d.permitted = out.permitted;
    d.candidates = out.candidates;
    d.rationale = out.rationale;
    void reply.header('x-sovereign-decision-id', d.id);
    metrics.decisionSeconds.observe((performance.now() - started) / 1000);
    if (d.permitted.length === 0) {
      metrics.requests.inc({ outcome: 'denied', region: 'none' });
      throw jurisdictionDenied(d, `the law permits no region of Sovereign to process this request (${jurisdictions.map((j) => `${j.jurisdiction} from ${j.source}`).join(', ') || 'no jurisdiction'})`);
    }
    // Forward.
    const ac = new AbortController();
    // The response's 'close' before it finished means the client went away.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) ac.abort();
    });
    try {
      const res = await forwarder.send(
        d,
        { method: r.method, path: r.path, ...(req.rawBody ? { body: req.rawBody } : {}), contentType: 'application/json', signal: ac.signal },
        reply,
      );
      metrics.requests.inc({ outcome: d.attempts.length > 1 ? 'failed_over' : 'routed', region: d.attempts[d.attempts.length - 1]?.region ?? 'none' });
      return res;
    } catch (err) {
      metrics.requests.inc({ outcome: 'unavailable', region: 'none' });
      throw err;
    }
  }

  // OpenAI-compatible ingress.
  app.post('/v1/chat/completions', async (req, reply) => {
    const parsed = ChatRequestSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'chat request'));
    return route(req, reply, { model: parsed.data.model, method: 'POST', path: '/v1/chat/completions' });
  });
  app.get('/v1/models', async (req) => {
    authenticate(topology, req.headers);
    const byModel = new Map<string, string[]>();
    for (const r of topology.regions) for (const m of r.models) byModel.set(m, [...(byModel.get(m) ?? []), r.id]);
    return { object: 'list', data: [...byModel].map(([id, regions]) => ({ id, object: 'model', created: 0, owned_by: 'sovereign', regions })) };
  });

  // Open Inference Protocol V2 ingress.
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => {
    // Ready only when a ready cell is reachable in every region.
    const regions = health.snapshot();
    const ready = regions.every((r) => r.healthy);
    return reply.code(ready ? 200 : 503).send({ ready, regions: Object.fromEntries(regions.map((r) => [r.region, r.healthy])) });
  });
  app.get('/v2', async () => ({ name: 'sovereign-gateway', version: '0.1.0', extensions: ['sovereign'] }));
  app.get<{ Params: { model: string } }>('/v2/models/:model', async (req, reply) =>
    route(req, reply, { model: req.params.model, method: 'GET', path: `/v2/models/${encodeURIComponent(req.params.model)}` }),
  );
  app.post<{ Params: { model: string } }>('/v2/models/:model/infer', async (req, reply) => {
    const parsed = V2InferRequestSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'inference request'));
    return route(req, reply, { model: req.params.model, method: 'POST', path: `/v2/models/${encodeURIComponent(req.params.model)}/infer` });
  });

  // Operators.
  app.get('/sovereign/regions', async () => ({
    regions: health.snapshot().map((h) => {
      const r = topology.region(h.region);
      return { ...h, jurisdiction: r?.jurisdiction, country: r?.country, url: r?.url };
    }),
  }));
  app.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));

  return app;
}
