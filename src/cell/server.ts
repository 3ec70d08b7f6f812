// A cell's HTTP API: the Open Inference Protocol V2 and the OpenAI-compatible API, served
// by this region's runtime only. Every response names the region and the model version.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CELL_REFUSED_HEADER,
  HttpError,
  OPENAI_ENDPOINTS,
  RECEIPT_HEADER,
  RECORD_HEADER,
  RECORD_REFUSED_HEADER,
  SERVED_FOR_HEADERS,
  V2InferRequestSchema,
  badRequest,
  createHttpServer,
  decodeRecord,
  firstIssue,
  formatReceipt,
  inputBytes,
  requestSegments,
  sseReadable,
  SSE_HEADERS,
  type CellReady,
  type ChatRequest,
  type ForwardRecord,
  type Logger,
  type Receipt,
  type V2InferRequest,
} from '../common/index.ts';
import type { ZodType } from 'zod';
import { InferenceGate } from './inference-gate.ts';
import type { ModelInfo, ModelRuntime } from './runtime.ts';

export interface CellServerOptions {
  region: string;
  runtime: ModelRuntime;
  bodyLimit: number;
  logger: Logger;
  /** A model's input limit in UTF-8 bytes of model input (the same the gateway applies). */
  inputLimit?: (model: string) => number | undefined;
  /** Inference requests run at once, and waiting (then 429). */
  maxConcurrentInference?: number;
  maxQueuedInference?: number;
  bodyTimeoutMs?: number;
  /** Mutual TLS: the server's TLS settings and what secures the app (guards, authorization hook) before any route exists. */
  mesh?: { https: object | null; secure: (app: FastifyInstance) => void };
  /**
   * Appends a record to this region's log, resolving once it is durable (rejecting with an
   * HttpError otherwise). Without it, a request that carries a record is refused.
   */
  record?: (r: ForwardRecord) => Promise<Receipt>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a decision record with the request (RECORD_HEADER); see src/mesh/exposure.ts. */
    records?: boolean;
    /**
     * The request body's schema (and what to call the body in an error): checked before the
     * record is appended, and the handler gets the parsed body as `req.body`.
     */
    body?: { schema: ZodType; what: string };
  }
}

/** A refusal of the record that travels with a request: the request is not processed. */
function recordRefused(status: number, type: string, message: string, why: 'invalid' | 'unavailable'): HttpError {
  return new HttpError(status, type, message, {}, { [RECORD_REFUSED_HEADER]: why, ...(status === 503 ? { 'retry-after': '1' } : {}) });
}

/** What an inference response's close must do: see the 'close' listener in buildCellServer. */
interface Watch {
  /** The response closed (finished, or the client went away). */
  closed: boolean;
  /** Gives the inference slot back; set once the request holds one. */
  release: (() => void) | null;
  /** Aborts the model's work if the response closes before it finished. */
  abort: AbortController | null;
}

function modelHeaders(reply: FastifyReply, region: string, m: ModelInfo | undefined): void {
  void reply.header('x-sovereign-region', region);
  if (m) void reply.header('x-sovereign-model-version', `${m.name}@${m.version} ${m.digest}`);
}

export function buildCellServer(opts: CellServerOptions): FastifyInstance {
  const { region, runtime } = opts;
  // HTTP/2 for peers that offer it (the gateway's ledger channel: one connection, many
  // records at once), HTTP/1.1 for the others (the forwarder's pool, probes, curl).
  const app = createHttpServer({ bodyLimit: opts.bodyLimit, logger: opts.logger, https: opts.mesh?.https ?? null, http2: true, ...(opts.bodyTimeoutMs ? { bodyTimeoutMs: opts.bodyTimeoutMs } : {}) });
  opts.mesh?.secure(app);
  const gate = new InferenceGate(opts.maxConcurrentInference ?? 2, opts.maxQueuedInference ?? 32);
  let draining = false;

  // A callback hook, not an async one: it runs for every request (see src/common/http-server.ts).
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-sovereign-region', region);
    // A data plane that routes on Sovereign's decision (ext_authz, auth_request) names the
    // region decided; a request that arrives anywhere else was misrouted and is refused
    // (RFC 9110 §15.5.20, 421 Misdirected Request), so a routing mistake cannot cross a border.
    const decided = req.headers['x-sovereign-region'];
    if (decided !== undefined && decided !== region) {
      done(new HttpError(421, 'misdirected_request', `this is region ${region}; the request was authorized for ${String(decided).slice(0, 64)} and is not served here`));
      return;
    }
    done();
  });

  // Routes that take a record: first what this cell refuses anyway, before the record below is
  // appended. A record saying "routed to this region" for a request the region turned away
  // unprocessed would mislead an auditor, and on a 429 the gateway records the request again in
  // the next region. A body outside the route's schema, a model this region does not serve and
  // the input limit (the same reading and limit as the gateway) are deterministic. The gate is
  // only looked at, not entered: a slot held through the durable append would lower the cell's
  // useful concurrency. A callback hook: nothing here waits, and an async hook would cost every
  // inference request a promise and a turn.
  app.addHook('preHandler', (req, _reply, done) => {
    const { inference, records, body: shape } = req.routeOptions.config;
    if (!inference && !records) return done();
    if (shape) {
      const parsed = shape.schema.safeParse(req.body);
      if (!parsed.success) return done(badRequest(firstIssue(parsed.error, shape.what)));
      req.body = parsed.data;
    }
    const body = req.body as { model?: unknown } | undefined;
    const model = (req.params as { model?: string }).model ?? (typeof body?.model === 'string' ? body.model : '');
    // The header tells the gateway another permitted region may serve it (a topology may name a
    // model here that this runtime does not serve: a reload that reached the gateway before this
    // cell, or an embedded runtime, which serves one model).
    if (!runtime.model(model)) return done(new HttpError(404, 'not_found_error', `model "${model.slice(0, 128)}" is not served in region ${region}; GET /v1/models lists the models served here`, { code: 'model_not_found' }, { [CELL_REFUSED_HEADER]: 'no_model' }));
    if (!inference) return done();
    const limit = opts.inputLimit?.(model);
    if (limit !== undefined) {
      const bytes = inputBytes(requestSegments(req.body));
      if (bytes > limit) return done(badRequest(`the input of this request is ${bytes} bytes; model "${model}" reads at most ${limit} bytes`, { param: 'messages', code: 'context_length_exceeded' }));
    }
    if (gate.full) return done(gate.busy(region));
    done();
  });

  // One hop (src/common/ledger-append.ts): a request that carries its decision record is
  // recorded here, durably in this region's log, before any byte of it reaches the model; a
  // record this cell cannot make or will not take stops the request with nothing processed.
  // Registered after the refusals above and before the inference gate, so a refused record
  // never takes a slot either.
  app.addHook('preHandler', async (req, reply) => {
    const header = req.headers[RECORD_HEADER];
    if (header === undefined) return;
    const receipt = await recordCarried(req, header);
    const value = formatReceipt(receipt.receipt);
    // The region's store keeps the receipt with its record of the request (served-for headers).
    req.headers[SERVED_FOR_HEADERS.ledger] = value;
    void reply.header(RECEIPT_HEADER, value);
    // W3C Server-Timing: how long the record took to become durable here.
    void reply.header('server-timing', `record;dur=${receipt.ms.toFixed(2)}`);
  });

  async function recordCarried(req: FastifyRequest, header: string | string[]): Promise<{ receipt: Receipt; ms: number }> {
    if (!req.routeOptions.config.records || !opts.record) {
      throw recordRefused(400, 'invalid_request_error', `${req.method} ${req.routeOptions.url ?? req.url} takes no decision record (${RECORD_HEADER}); send it with an inference request only`, 'invalid');
    }
    if (typeof header !== 'string') throw recordRefused(400, 'invalid_request_error', `${RECORD_HEADER}: sent more than once; send one record per request`, 'invalid');
    const decoded = decodeRecord(header);
    if (!decoded.ok) throw recordRefused(400, 'invalid_request_error', decoded.error, 'invalid');
    const { record } = decoded;
    // The record speaks for the bytes that arrived here, or for nothing: a digest of other
    // bytes would put a request in the log that this region never received.
    const digest = createHash('sha256')
      .update(req.rawBody ?? Buffer.alloc(0))
      .digest('hex');
    if (digest !== record.body_sha256) {
      throw recordRefused(400, 'record_mismatch', `${RECORD_HEADER}: body_sha256 ${record.body_sha256} is not the SHA-256 of the ${req.rawBody?.length ?? 0}-byte body received (${digest}); nothing was recorded or processed`, 'invalid');
    }
    if (record.entry.region !== region) {
      throw recordRefused(400, 'record_mismatch', `${RECORD_HEADER}: the record is for region ${String(record.entry.region).slice(0, 64)}; this is region ${region}`, 'invalid');
    }
    const decision = req.headers[SERVED_FOR_HEADERS.decision];
    if (decision !== undefined && decision !== record.entry.decision_id) {
      throw recordRefused(400, 'record_mismatch', `${RECORD_HEADER}: the record is for decision ${String(record.entry.decision_id).slice(0, 64)}, the request for ${String(decision).slice(0, 64)}`, 'invalid');
    }
    const started = performance.now();
    try {
      return { receipt: await opts.record(record), ms: performance.now() - started };
    } catch (err) {
      const e = err as HttpError;
      if (e instanceof HttpError && e.statusCode === 400) throw recordRefused(400, e.type, e.message, 'invalid');
      // Fail closed: whatever else stops the append, the request is not processed here.
      throw recordRefused(503, 'ledger_unavailable', e instanceof HttpError ? e.message : `the ledger of ${region} cannot record: ${(err as Error).message}`, 'unavailable');
    }
  }

  // Whether the client of an inference request has gone: watched from the request's arrival, so
  // a client that leaves while its record is being made durable (before the gate below) is seen
  // too. A close missed there would take a slot that no 'close' ever gives back, and the cell
  // would answer 429 to everyone from then on.
  // One 'close' listener per inference response does all that a close means (the client gone,
  // the slot given back, the model's work aborted) instead of one listener each.
  const watches = new WeakMap<object, Watch>();
  app.addHook('onRequest', (req, reply, done) => {
    if (req.routeOptions.config.inference) {
      const res = reply.raw;
      const w: Watch = { closed: false, release: null, abort: null };
      watches.set(res, w);
      res.once('close', () => {
        w.closed = true;
        const release = w.release;
        w.release = null;
        release?.();
        if (w.abort !== null && !res.writableFinished) w.abort.abort();
      });
    }
    done();
  });

  // Inference routes, once recorded: a slot of the inference gate, held until the answer is sent
  // or the client goes away. The queue may have filled while the record was made durable (after
  // the check above); then the answer is still 429, with the record in the log. That race is
  // left as it is, without a lock: the gateway's next attempt lists this region as `busy` in
  // the entry of the region that serves the request, so the logs together tell what happened.
  app.addHook('preHandler', async (req, reply) => {
    if (!req.routeOptions.config.inference) return;
    const clientClosed = (): HttpError => new HttpError(499, 'client_closed', 'the client closed the connection before the request got an inference slot');
    const w = watches.get(reply.raw) as Watch;
    if (w.closed) throw clientClosed();
    const release = await gate.acquire(region);
    // A client that left while waiting gives its slot back as soon as it gets one.
    if (w.closed) {
      release();
      throw clientClosed();
    }
    w.release = release;
  });

  // Open Inference Protocol V2 — health, server and model metadata, inference.
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_req, reply) => {
    const ready = !draining && (await runtime.ready());
    const body: CellReady = ready ? { ready, region, models: runtime.models.map((m) => m.name) } : { ready, region };
    return reply.code(ready ? 200 : 503).send(body);
  });
  app.get('/v2', async () => ({ name: 'sovereign-cell', version: '0.1.0', extensions: [], region }));
  app.get<{ Params: { model: string } }>('/v2/models/:model', { config: { records: true } }, async (req, reply) => {
    // The model is served: the refusals before the record checked it.
    const m = runtime.model(req.params.model) as ModelInfo;
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
  app.post<{ Params: { model: string }; Body: V2InferRequest }>('/v2/models/:model/infer', { config: { inference: true, records: true, body: { schema: V2InferRequestSchema, what: 'inference request' } } }, async (req, reply) => {
    const out = await runtime.infer(req.params.model, req.body, AbortSignal.timeout(120_000));
    modelHeaders(reply, region, runtime.model(req.params.model));
    return out;
  });

  // OpenAI-compatible API.
  app.get('/v1/models', async () => ({
    object: 'list',
    data: runtime.models.map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: `sovereign/${region}`, version: m.version, digest: m.digest })),
  }));
  /** The client's abort (the gateway closed the connection) as a signal (inference routes only: see `watches`). */
  function clientGone(reply: FastifyReply): AbortSignal {
    const ac = new AbortController();
    const w = watches.get(reply.raw) as Watch;
    w.abort = ac;
    if (w.closed && !reply.raw.writableFinished) ac.abort();
    return ac.signal;
  }

  /**
   * An OpenAI-compatible model server gets the body the gateway judged, and its answer is relayed
   * as is. True when the request was relayed (the reply is on its way): the caller returns the
   * reply and runs nothing else. (Returning the reply itself from here would not do: a reply is
   * a thenable, so awaiting it waits for the response to end and yields undefined, and the
   * caller would then run the model a second time.)
   */
  async function relayed(reply: FastifyReply, model: ModelInfo | undefined, path: string, raw: Buffer | null, signal: AbortSignal): Promise<boolean> {
    if (!model || model.platform !== 'upstream-openai' || !runtime.relay || !raw) return false;
    const res = await runtime.relay(path, raw, signal);
    void reply.code(res.statusCode).type(res.contentType);
    if (res.contentType.startsWith('text/event-stream')) void reply.headers(SSE_HEADERS);
    void reply.send(res.body);
    return true;
  }

  const others = [
    { e: OPENAI_ENDPOINTS.completions, run: (b: never, s: AbortSignal) => runtime.complete(b, s) },
    { e: OPENAI_ENDPOINTS.embeddings, run: (b: never, s: AbortSignal) => runtime.embed(b, s) },
    { e: OPENAI_ENDPOINTS.responses, run: (b: never, s: AbortSignal) => runtime.respond(b, s) },
  ] as const;
  for (const { e, run } of others) {
    app.post<{ Body: { model: string } }>(e.path, { config: { inference: true, records: true, body: e } }, async (req, reply) => {
      const model = runtime.model(req.body.model);
      modelHeaders(reply, region, model);
      const signal = clientGone(reply);
      if (await relayed(reply, model, e.path, req.rawBody, signal)) return reply;
      return run(req.body as never, signal);
    });
  }

  app.post<{ Body: ChatRequest }>('/v1/chat/completions', { config: { inference: true, records: true, body: OPENAI_ENDPOINTS.chat } }, async (req, reply) => {
    const body = req.body;
    const model = runtime.model(body.model);
    modelHeaders(reply, region, model);
    const signal = clientGone(reply);
    const ac = { signal };
    if (await relayed(reply, model, '/v1/chat/completions', req.rawBody, signal)) return reply;
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
