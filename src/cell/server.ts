// A cell's HTTP API: the Open Inference Protocol V2 and the OpenAI-compatible API, served
// by this region's runtime only. Every response names the region and the model version.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ChatRequestSchema, V2InferRequestSchema, badRequest, createHttpServer, firstIssue, sseReadable, SSE_HEADERS, type Logger } from '../common/index.ts';
import type { ModelInfo, ModelRuntime } from './runtime.ts';

export interface CellServerOptions {
  region: string;
  runtime: ModelRuntime;
  bodyLimit: number;
  logger: Logger;
  /** Mutual TLS: the server's TLS settings and what secures the app (guards, authorization hook) before any route exists. */
  mesh?: { https: object | null; secure: (app: FastifyInstance) => void };
}

function modelHeaders(reply: FastifyReply, region: string, m: ModelInfo | undefined): void {
  void reply.header('x-sovereign-region', region);
  if (m) void reply.header('x-sovereign-model-version', `${m.name}@${m.version} ${m.digest}`);
}

export function buildCellServer(opts: CellServerOptions): FastifyInstance {
  const { region, runtime } = opts;
  const app = createHttpServer({ bodyLimit: opts.bodyLimit, logger: opts.logger, https: opts.mesh?.https ?? null });
  opts.mesh?.secure(app);
  let draining = false;

  app.addHook('onRequest', async (_req, reply) => {
    void reply.header('x-sovereign-region', region);
  });

  // Open Inference Protocol V2 — health, server and model metadata, inference.
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => {
    const ready = !draining && (await runtime.ready());
    return reply.code(ready ? 200 : 503).send({ ready, region });
  });
  app.get('/v2', async () => ({ name: 'sovereign-cell', version: '0.1.0', extensions: [], region }));
  app.get<{ Params: { model: string } }>('/v2/models/:model', async (req, reply) => {
    const m = runtime.model(req.params.model);
    if (!m) return reply.code(404).send({ error: `model "${req.params.model}" is not served in region ${region}` });
    modelHeaders(reply, region, m);
    return {
      name: m.name,
      versions: [m.version],
      platform: m.platform,
      region,
      digest: m.digest,
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
      outputs: [
        { name: 'sentiment', datatype: 'FP32', shape: [-1] },
        { name: 'entities', datatype: 'BYTES', shape: [-1] },
        { name: 'token_count', datatype: 'INT32', shape: [-1] },
      ],
    };
  });
  app.get<{ Params: { model: string } }>('/v2/models/:model/ready', async (req, reply) => {
    const m = runtime.model(req.params.model);
    return reply.code(m ? 200 : 404).send({ name: req.params.model, ready: Boolean(m) });
  });
  app.post<{ Params: { model: string } }>('/v2/models/:model/infer', async (req, reply) => {
    const parsed = V2InferRequestSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'inference request'));
    const out = await runtime.infer(req.params.model, parsed.data, AbortSignal.timeout(120_000));
    modelHeaders(reply, region, runtime.model(req.params.model));
    return out;
  });

  // OpenAI-compatible API.
  app.get('/v1/models', async () => ({
    object: 'list',
    data: runtime.models.map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: `sovereign/${region}`, version: m.version, digest: m.digest })),
  }));
  app.post('/v1/chat/completions', async (req, reply) => {
    const parsed = ChatRequestSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'chat request'));
    const body = parsed.data;
    const model = runtime.model(body.model);
    modelHeaders(reply, region, model);
    const ac = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) ac.abort();
    });
    if (model && model.platform === 'upstream-openai' && runtime.relayChat && req.rawBody) {
      const raw = await runtime.relayChat(req.rawBody, ac.signal);
      void reply.code(raw.statusCode).type(raw.contentType);
      if (raw.contentType.startsWith('text/event-stream')) void reply.headers(SSE_HEADERS);
      return reply.send(raw.body);
    }
    if (body.stream === true) {
      // Resolve the first chunk before sending headers so that "model not found" is still a 404.
      const it = runtime.chatStream(body, ac.signal)[Symbol.asyncIterator]();
      const first = await it.next();
      async function* rest(): AsyncGenerator<unknown> {
        if (!first.done) yield first.value;
        for (;;) {
          const n = await it.next();
          if (n.done) return;
          yield n.value;
        }
      }
      void reply.headers(SSE_HEADERS);
      return reply.send(sseReadable(rest(), (e) => `region ${region}: ${(e as Error).message}`));
    }
    return runtime.chat(body, ac.signal);
  });

  return Object.assign(app, {
    drain(): void {
      draining = true;
    },
  });
}
