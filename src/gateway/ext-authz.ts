// The law as an external authorization service, for a data plane that is not Sovereign's own
// (Envoy / Istio ext_authz, nginx auth_request). The proxy asks before forwarding; Sovereign
// runs identify -> classify -> decide, records the decision durably in the chosen region's
// ledger, and answers "allow, to this region" or the denial. The proxy then forwards the
// original request to that region's cell itself.
//
// Envoy ext_authz, HTTP service (envoy.extensions.filters.http.ext_authz.v3.HttpService):
// the check request has the original method, the original path appended to the configured
// path_prefix, the original headers (those allowed), and, with with_request_body, the body up
// to max_request_bytes; a body cut at that size carries `x-envoy-auth-partial-body: true`.
// A 2xx answer allows: the headers listed in allowed_upstream_headers are set on the upstream
// request (overwriting what the client sent). Any other answer denies: its status, headers and
// body go to the client. Here: /sovereign/ext-authz/<original path>.
//
// nginx auth_request: the subrequest carries the original method and headers but never the
// body; only 2xx, 401 and 403 answers are understood (anything else becomes a 500), and the
// answer's body is discarded. So under /sovereign/auth-request/<original path> a denial is
// answered 403 with `x-sovereign-denial: <id>`, and nginx fetches the real answer (451/503
// and the JSON error, as Sovereign's own ingress sends it) from
// /sovereign/auth-request-denial/<id> in its error_page (see src/deploy/nginx.ts).
//
// What cannot be seen cannot be classified: without the complete body (nginx always, Envoy
// when the body is over max_request_bytes) the data class is taken as `special`, the
// strictest, and the model comes from the `x-sovereign-model` header. Fail closed.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, badRequest, notFound } from '../common/index.ts';
import { authenticate } from './auth.ts';
import { failedOver, regionsUnavailable, type Attempt } from './decision.ts';
import { countPassedOver, jurisdictionLabel, type GatewayMetrics } from './metrics.ts';
import { CLASS_HEADER, decideRequest } from './pipeline.ts';
import { bodyDigest, decisionEntry, ledgerUnavailable, recordDenial, recordRouted } from './record.ts';
import type { DepsHolder } from './server.ts';

export const EXT_AUTHZ_PREFIX = '/sovereign/ext-authz';
export const AUTH_REQUEST_PREFIX = '/sovereign/auth-request';
export const AUTH_REQUEST_DENIAL = '/sovereign/auth-request-denial';
/** Names the model when the body is not available to read it from. */
export const MODEL_HEADER = 'x-sovereign-model';
/** The original request's method, set by the nginx configuration on its (GET) auth subrequest. */
export const ORIGINAL_METHOD_HEADER = 'x-sovereign-original-method';
/** Envoy marks a check request whose body was cut at max_request_bytes. */
const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';

/** Headers of an allow answer; a data plane sets them on the request it forwards to the cell. */
export const ALLOW_HEADERS = {
  region: 'x-sovereign-region',
  decision: 'x-sovereign-decision-id',
  ledger: 'x-sovereign-ledger',
  dataClass: 'x-sovereign-data-class',
} as const;

interface Original {
  method: string;
  path: string;
  model: string;
  /** The parsed body when it was complete and is JSON; null when it cannot be inspected. */
  body: unknown;
  inspectable: boolean;
}

/** The inference routes of Sovereign's ingress, and where each names its model. */
function originalRequest(req: FastifyRequest, prefix: string): Original {
  // nginx makes its auth subrequest a GET whatever the original method; its configuration
  // passes the original in a header (Envoy keeps the method).
  const forwarded = req.headers[ORIGINAL_METHOD_HEADER];
  const method = prefix === AUTH_REQUEST_PREFIX && typeof forwarded === 'string' && forwarded !== '' ? forwarded.toUpperCase() : req.method;
  const full = req.url.slice(prefix.length);
  const path = full.split('?')[0] ?? '';
  const raw = req.rawBody;
  const partial = req.headers[PARTIAL_BODY_HEADER] === 'true';
  let body: unknown = null;
  let inspectable = false;
  // A GET carries no body: there is nothing to classify, and nothing unseen.
  if (method === 'GET' || method === 'HEAD') inspectable = true;
  else if (raw !== null && raw.length > 0 && !partial) {
    try {
      body = JSON.parse(raw.toString('utf8'));
      inspectable = true;
    } catch (err) {
      throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  const declared = req.headers[MODEL_HEADER];
  const v2 = /^\/v2\/models\/([^/]+)(\/infer)?$/.exec(path);
  let model: string | undefined;
  if (v2) model = decodeURIComponent(v2[1] as string);
  else if (path === '/v1/chat/completions' || path === '/v1/completions' || path === '/v1/embeddings') {
    const m = inspectable ? (body as { model?: unknown } | null)?.model : declared;
    if (typeof m === 'string' && m !== '') model = m;
    else throw badRequest(inspectable ? 'the request body names no "model"' : `the body of this request is not available to the authorization check; name the model in the ${MODEL_HEADER} header`, { param: inspectable ? 'model' : MODEL_HEADER });
  } else {
    throw notFound(`no inference route ${method} ${path}; Sovereign authorizes /v1/chat/completions, /v1/completions, /v1/embeddings and /v2/models/{model}[/infer]`);
  }
  return { method, path, model, body, inspectable };
}

/** Denials waiting for nginx to fetch them (one read each, short-lived, bounded). */
class DenialBook {
  readonly #items = new Map<string, { err: HttpError; expires: number }>();
  readonly #max: number;
  readonly #ttlMs: number;

  constructor(max = 10_000, ttlMs = 30_000) {
    this.#max = max;
    this.#ttlMs = ttlMs;
  }

  put(id: string, err: HttpError): void {
    const now = Date.now();
    for (const [k, v] of this.#items) {
      if (v.expires > now && this.#items.size < this.#max) break;
      this.#items.delete(k); // insertion order = expiry order
    }
    this.#items.set(id, { err, expires: now + this.#ttlMs });
  }

  take(id: string): HttpError | undefined {
    const v = this.#items.get(id);
    this.#items.delete(id);
    return v && v.expires > Date.now() ? v.err : undefined;
  }
}

export function registerExtAuthz(app: FastifyInstance, holder: DepsHolder, metrics: GatewayMetrics): void {
  const denials = new DenialBook();

  async function check(req: FastifyRequest, reply: FastifyReply, prefix: string): Promise<FastifyReply> {
    const deps = holder.current;
    const { topology, decider, recorder } = deps;
    const o = originalRequest(req, prefix);
    if (!decider.servesAnywhere(o.model)) {
      authenticate(topology, req.headers);
      throw notFound(`model "${o.model}" is not served by any region; GET /v1/models lists the models`);
    }
    const tenant = authenticate(topology, req.headers);
    const client = deps.clientAddress(req.raw.socket.remoteAddress ?? '', req.headers['x-forwarded-for']);
    // Unseen content is taken as the strictest class (a declared class cannot lower it).
    const headers = o.inspectable ? req.headers : { ...req.headers, [CLASS_HEADER]: 'special' };
    const started = performance.now();
    const { d, decided } = decideRequest(deps, { tenant, headers, client, body: o.body, model: o.model });
    metrics.decisionSeconds.observe((performance.now() - started) / 1000);
    if (!o.inspectable) d.rationale.push('the body was not available to the authorization check: classified special, the strictest class');
    void reply.header(ALLOW_HEADERS.decision, d.id);
    const bodySha = bodyDigest(req.rawBody);

    if (d.permitted.length === 0) {
      metrics.requests.inc({ outcome: 'denied', region: 'none', jurisdiction: jurisdictionLabel(d.jurisdictions), class: d.dataClass });
      throw await recordDenial(recorder, d, decided.policiesFor(null), bodySha);
    }

    // The first candidate that is still permitted and records the decision gets the request;
    // like the forwarder, a region whose ledger cannot record it is passed over, never a
    // region outside the permitted list taken. A region known not to serve the model comes last
    // (the data plane would relay its refusal: no other region is tried after the check).
    const attempts: Attempt[] = [];
    for (const region of deps.health.servingFirst(d.candidates, o.model)) {
      if (!deps.health.admits(region) || !holder.current.decider.permitsNow(d.jurisdictions, d.dataClass, region)) {
        attempts.push({ region, outcome: 'skipped', ms: 0 });
        continue;
      }
      const t0 = performance.now();
      let receipt: string;
      try {
        receipt = await recordRouted(recorder, topology, d, decided.policiesFor(region), region, bodySha, attempts);
      } catch (err) {
        attempts.push({ region, outcome: 'ledger_unavailable', ms: performance.now() - t0 });
        deps.health.recordFailure(region, `ledger: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code === 'ECONNREFUSED');
        continue;
      }
      // A legal trigger may have landed while the entry was being recorded.
      if (!holder.current.decider.permitsNow(d.jurisdictions, d.dataClass, region)) {
        attempts.push({ region, outcome: 'skipped', ms: performance.now() - t0 });
        continue;
      }
      countPassedOver(metrics, attempts);
      metrics.requests.inc({ outcome: failedOver(attempts) ? 'failed_over' : 'routed', region, jurisdiction: jurisdictionLabel(d.jurisdictions), class: d.dataClass });
      return reply
        .code(200)
        .header(ALLOW_HEADERS.region, region)
        .header(ALLOW_HEADERS.ledger, receipt)
        .header(ALLOW_HEADERS.dataClass, d.dataClass)
        .header('server-timing', `record;dur=${(performance.now() - t0).toFixed(2)}`)
        .send();
    }
    countPassedOver(metrics, attempts);
    metrics.requests.inc({ outcome: 'unavailable', region: 'none', jurisdiction: jurisdictionLabel(d.jurisdictions), class: d.dataClass });
    const home = recorder.homeRegion(d.jurisdictions[0]?.jurisdiction ?? 'unknown');
    void recorder.appendOrKeep({ region: home, entry: decisionEntry(d, 'unavailable', null, decided.policiesFor(null), undefined, attempts), body_sha256: bodySha });
    if (attempts.length > 0 && attempts.every((a) => a.outcome === 'ledger_unavailable')) {
      throw ledgerUnavailable(attempts.map((a) => a.region).join(', '), new Error('no permitted region could record the decision'));
    }
    throw regionsUnavailable(d, attempts, `no permitted region is healthy and able to record the decision right now (permitted: ${d.permitted.join(', ')}); retry shortly`);
  }

  // Each flavor in its own encapsulated context: the body is kept as bytes (never parsed by
  // content type, as a cut body is not valid JSON), and errors take the flavor's shape.
  void app.register(async (envoy) => {
    envoy.removeAllContentTypeParsers();
    envoy.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
      req.rawBody = body as Buffer;
      done(null, undefined);
    });
    // The check authenticates the tenant itself, as the inference routes do.
    envoy.all(`${EXT_AUTHZ_PREFIX}/*`, { config: { access: 'tenant' } }, (req, reply) => check(req, reply, EXT_AUTHZ_PREFIX));
  });

  void app.register(async (nginx) => {
    nginx.setErrorHandler((err: Error, req, reply) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal_error', 'internal error; the log of this service has the details');
      if (!(err instanceof HttpError)) req.log.error({ err }, 'authorization check failed');
      const id = e.headers[ALLOW_HEADERS.decision] ?? randomUUID();
      denials.put(id, e);
      void reply.code(403).header('x-sovereign-denial', id).send();
    });
    nginx.all(`${AUTH_REQUEST_PREFIX}/*`, { config: { access: 'tenant' } }, (req, reply) => check(req, reply, AUTH_REQUEST_PREFIX));
    // Public: the id is random, known only to the data plane that was denied, and read once.
    nginx.get<{ Params: { id: string } }>(`${AUTH_REQUEST_DENIAL}/:id`, { config: { access: 'public' } }, async (req, reply) => {
      const e = denials.take(req.params.id);
      if (!e) return reply.code(403).send({ error: { type: 'permission_error', message: 'the request was denied by the authorization check (its answer is no longer available)' } });
      return reply.code(e.statusCode).headers(e.headers).send(e.body());
    });
  });
}
