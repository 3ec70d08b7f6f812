// The gateway's HTTP ingress. Every inference request takes the one path of the design:
// identify -> classify -> decide -> record -> forward -> reply; 451 when the law permits no
// region, 503 when every permitted region is down.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, OPENAI_ENDPOINTS, UNKNOWN_JURISDICTION, V2InferRequestSchema, badRequest, createHttpServer, firstIssue, notFound, type Logger } from '../common/index.ts';
import type { Classifier } from '../classify/index.ts';
import type { Topology } from '../config/index.ts';
import type { ClientAddressResolver, Geo } from '../geo/index.ts';
import { unservedModels, type HealthMonitor } from '../health/index.ts';
import type { Mesh } from '../mesh/index.ts';
import { registerAccess } from './access.ts';
import { authenticate, tenantIfAny } from './auth.ts';
import { failedOver, modelNotServed, regionsUnavailable, type Decision } from './decision.ts';
import type { Decided, Decider } from './decide.ts';
import { clientGone, newClientWatch, type ForwardResult, type Forwarder } from './forward.ts';
import { registerLedgerProxy } from './ledger-proxy.ts';
import { decideRequest, explanation } from './pipeline.ts';
import { countPassedOver, jurisdictionLabel, type GatewayMetrics } from './metrics.ts';
import { registerExtAuthz } from './ext-authz.ts';
import { bodyDigest, decisionEntry, ledgerUnavailable, recordDenial, recordPlan, type Recorder } from './record.ts';

/** Everything a request needs; replaced as a whole when the topology file is reloaded. */
export interface GatewayDeps {
  topology: Topology;
  health: HealthMonitor;
  decider: Decider;
  forwarder: Forwarder;
  recorder: Recorder;
  classifier: Classifier;
  geo: Geo;
  clientAddress: ClientAddressResolver;
  /** This gateway's mesh identity and mTLS clients to the cells. */
  mesh: Mesh;
}

/** The deps in force; a request takes one snapshot at its start and keeps it to the end. */
export interface DepsHolder {
  current: GatewayDeps;
}

interface InferenceRoute {
  model: string;
  method: 'GET' | 'POST';
  path: string;
}

export function buildGatewayServer(holder: DepsHolder, metrics: GatewayMetrics, logger: Logger, adminToken: string): FastifyInstance {
  const gw = holder.current.topology.data.gateway;
  const app = createHttpServer({ bodyLimit: gw.bodyLimitBytes, logger, bodyTimeoutMs: gw.bodyTimeoutMs, headersTimeoutMs: gw.headersTimeoutMs, maxConnectionsPerClient: gw.maxConnectionsPerClient });
  registerAccess(app, { topology: () => holder.current.topology, adminToken });
  // An inference body larger than any served model could read is refused from its declared
  // length, before a byte of it is read or parsed (the parse would cost every other user).
  // A hook of the inference routes only; a callback hook (an async one costs a promise and a turn).
  // The limit of a topology, computed once for it (a reload brings a new topology).
  let limitOf: { topology: Topology; limit: number | undefined } | null = null;
  const inferenceBodyLimit = (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    const { topology } = holder.current;
    if (limitOf?.topology !== topology) limitOf = { topology, limit: topology.inferenceBodyLimitBytes() };
    const { limit } = limitOf;
    const declared = Number(req.headers['content-length'] ?? 0);
    // At the body limit itself, the body limit's own 413 answers.
    if (limit === undefined || limit >= topology.data.gateway.bodyLimitBytes || !(declared > limit)) return done();
    done(new HttpError(413, 'request_too_large', `the request body is ${declared} bytes; no model served here reads more than a ${limit}-byte body (4x the largest models.<name>.maxInputBytes, plus 1 MiB); send less input`, { code: 'context_length_exceeded' }, { connection: 'close' }));
  };

  /** identify -> classify -> decide, for a request (also what /sovereign/explain returns). */
  function decideFor(deps: GatewayDeps, req: FastifyRequest, model: string, admitted = false): { d: Decision; decided: Decided } {
    const { topology } = deps;
    const started = performance.now();
    // Inference authenticates its tenant here; explain was admitted by the access hook.
    const tenant = admitted ? tenantIfAny(topology, req.headers) : authenticate(topology, req.headers);
    const client = deps.clientAddress(req.raw.socket.remoteAddress ?? '', req.headers['x-forwarded-for']);
    const out = decideRequest(deps, { tenant, headers: req.headers, client, body: req.body, model });
    metrics.decisionSeconds.observe((performance.now() - started) / 1000);
    return out;
  }

  /**
   * One direction: identify, classify, decide; record and forward (the forwarder, one exchange
   * per region tried: the record travels with the request); reply with what it returns.
   */
  async function route(req: FastifyRequest, reply: FastifyReply, r: InferenceRoute): Promise<FastifyReply> {
    const deps = holder.current;
    const { topology, decider, forwarder, recorder } = deps;
    if (!decider.servesAnywhere(r.model)) {
      authenticate(topology, req.headers);
      throw notFound(`model "${r.model}" is not served by any region; GET /v1/models lists the models`);
    }
    const { d, decided } = decideFor(deps, req, r.model);
    void reply.header('x-sovereign-decision-id', d.id);
    // The cell is sent the body the gateway judged: its own parse, re-serialised.
    const body = r.method === 'POST' && req.body !== undefined ? Buffer.from(JSON.stringify(req.body)) : null;
    const bodySha = bodyDigest(body);
    const jurisdiction = jurisdictionLabel(d.jurisdictions);

    if (d.permitted.length === 0) {
      metrics.requests.inc({ outcome: 'denied', region: 'none', jurisdiction, class: d.dataClass });
      throw await recordDenial(recorder, d, decided.policiesFor(null), bodySha);
    }

    const client = newClientWatch();
    // The response's 'close' before it finished means the client went away.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientGone(client);
    });
    let out: ForwardResult;
    try {
      out = await forwarder.send(d, {
        model: r.model,
        method: r.method,
        path: r.path,
        body,
        contentType: 'application/json',
        client,
        // The deps in force at each attempt (a reload or a legal trigger may change them).
        permitted: (region) => holder.current.decider.permitsNow(d.jurisdictions, d.dataClass, region),
        plan: (region, before) => recordPlan(topology, recorder, d, decided.policiesFor(region), region, bodySha, before),
      });
    } catch (err) {
      // The client went away while its request was being sent.
      metrics.requests.inc({ outcome: 'unavailable', region: 'none', jurisdiction, class: d.dataClass });
      throw err;
    }

    countPassedOver(metrics, out.attempts);
    if (!out.ok) {
      const { attempts } = out;
      metrics.requests.inc({ outcome: 'unavailable', region: 'none', jurisdiction, class: d.dataClass });
      const home = recorder.homeRegion(d.jurisdictions[0]?.jurisdiction ?? UNKNOWN_JURISDICTION);
      void recorder.appendOrKeep({ region: home, entry: decisionEntry(d, 'unavailable', null, decided.policiesFor(null), undefined, attempts), body_sha256: bodySha });
      if (attempts.length > 0 && attempts.every((a) => a.outcome === 'ledger_unavailable')) {
        throw ledgerUnavailable(attempts.map((a) => a.region).join(', '), new Error('no permitted region could record the decision'));
      }
      const notServed = modelNotServed(d, attempts);
      if (notServed !== null) throw notServed;
      throw regionsUnavailable(
        d,
        attempts,
        attempts.length === 0
          ? `no permitted region is healthy right now (permitted: ${d.permitted.join(', ')}); retry shortly`
          : `every permitted region failed (${attempts.map((a) => `${a.region}: ${a.outcome}`).join('; ')}); retry shortly`,
      );
    }

    // Failed over: the same definition the serving region's ledger entry was written with.
    metrics.requests.inc({ outcome: failedOver(out.attempts.slice(0, -1)) ? 'failed_over' : 'routed', region: out.region, jurisdiction, class: d.dataClass });
    metrics.ledgerAppendSeconds.observe(out.recordMs / 1000);
    void reply.code(out.status).headers(out.headers);
    void reply.header('x-sovereign-region', out.region);
    // No receipt: the region refused the request before recording it (a client error).
    if (out.receipt !== null) void reply.header('x-sovereign-ledger', out.receipt);
    void reply.header('x-sovereign-attempts', out.attempts.map((a) => `${a.region}=${a.outcome}`).join(', '));
    // W3C Server-Timing: where the time went (the record in the region, the region's time to headers, record included).
    void reply.header('server-timing', `record;dur=${out.recordMs.toFixed(2)}, region;dur=${out.regionMs.toFixed(2)}`);
    // A complete answer of bounded length goes out in one write (Node corks the socket for end()).
    return reply.send(out.body);
  }

  // OpenAI-compatible ingress: chat, completions, embeddings and responses, each routed by law.
  for (const e of Object.values(OPENAI_ENDPOINTS)) {
    app.post(e.path, { config: { access: 'tenant', inference: true }, onRequest: inferenceBodyLimit }, async (req, reply) => {
      const parsed = e.schema.safeParse(req.body);
      if (!parsed.success) throw badRequest(firstIssue(parsed.error, e.what));
      return route(req, reply, { model: parsed.data.model, method: 'POST', path: e.path });
    });
  }
  app.get('/v1/models', async (req) => {
    const { topology } = holder.current;
    authenticate(topology, req.headers);
    const byModel = new Map<string, string[]>();
    for (const r of topology.regions) for (const m of r.models) byModel.set(m, [...(byModel.get(m) ?? []), r.id]);
    return { object: 'list', data: [...byModel].map(([id, regions]) => ({ id, object: 'model', created: 0, owned_by: 'sovereign', regions })) };
  });

  // Open Inference Protocol V2 ingress.
  app.get('/v2/health/live', { config: { access: 'public' } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { config: { access: 'public' } }, async (_req, reply) => {
    // Ready only when a ready cell is reachable in every region.
    const regions = holder.current.health.snapshot();
    const ready = regions.every((r) => r.healthy);
    return reply.code(ready ? 200 : 503).send({ ready, regions: Object.fromEntries(regions.map((r) => [r.region, r.healthy])) });
  });
  app.get('/v2', { config: { access: 'public' } }, async () => ({ name: 'sovereign-gateway', version: '0.1.0', extensions: ['sovereign'] }));
  app.get<{ Params: { model: string } }>('/v2/models/:model', async (req, reply) =>
    route(req, reply, { model: req.params.model, method: 'GET', path: `/v2/models/${encodeURIComponent(req.params.model)}` }),
  );
  app.post<{ Params: { model: string } }>('/v2/models/:model/infer', { config: { inference: true }, onRequest: inferenceBodyLimit }, async (req, reply) => {
    const parsed = V2InferRequestSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'inference request'));
    return route(req, reply, { model: req.params.model, method: 'POST', path: `/v2/models/${encodeURIComponent(req.params.model)}/infer` });
  });

  // Explain: the full decision for an inference request, with nothing forwarded or recorded.
  app.post<{ Querystring: { model?: string } }>('/sovereign/explain', { config: { access: 'oracle' } }, async (req) => {
    const deps = holder.current;
    const { topology } = deps;
    const body = req.body as { model?: unknown } | undefined;
    const model = typeof body?.model === 'string' ? body.model : (req.query.model ?? topology.regions[0]?.models[0] ?? '');
    const { d, decided } = decideFor(deps, req, model, true);
    return explanation(d, decided);
  });

  app.post('/sovereign/classify', { config: { access: 'oracle' } }, async (req) => {
    const body = req.body as { text?: unknown } | undefined;
    if (typeof body?.text !== 'string') throw badRequest('expected {"text": "..."}');
    const c = holder.current.classifier.classifyText(body.text);
    return { class: c.class, detections: c.detections.map((x) => ({ type: x.type, start: x.start, end: x.end })) };
  });

  // Operators.
  app.get('/sovereign/regions', { config: { access: 'operator' } }, async () => {
    const { topology, health, recorder } = holder.current;
    return {
    regions: health.snapshot().map((h) => {
      const r = topology.region(h.region);
      return { ...h, unserved_models: unservedModels(r?.models ?? [], h), jurisdiction: r?.jurisdiction, country: r?.country, url: r?.url };
    }),
    ledger_outbox: recorder.pending,
    };
  });
  app.get('/metrics', { config: { access: 'operator' } }, async (_req, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));

  // Each region's log, read-only: the C2SP static paths only, fetched from the cell over the mesh.
  registerLedgerProxy(app, () => holder.current.topology, (region) => holder.current.mesh.cellClient(region));

  // The same decision for a data plane in front of the cells (Envoy ext_authz, nginx auth_request).
  registerExtAuthz(app, holder, metrics);

  return app;
}
