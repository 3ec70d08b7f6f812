// Forward: send the request to the first candidate region that answers. A failure before
// any byte reached the client (connect error, reset, 5xx, timeout) moves on to the next
// candidate of the same ordered permitted list — never to a region outside it.
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { errors as undiciErrors, type Dispatcher, type Pool } from 'undici';
import { SERVED_FOR_HEADERS, servedForHeaders, sseData } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { HealthMonitor } from '../health/index.ts';
import type { Mesh } from '../mesh/index.ts';
import { regionsUnavailable, type Attempt, type Decision } from './decision.ts';

export interface ForwardRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
  contentType?: string;
  /** Client's abort (connection closed). */
  signal: AbortSignal;
  /**
   * Runs before the request is sent to `region` and must resolve only once the decision is
   * durable in that region's ledger; if it rejects, the region is not sent the request.
   */
  record: (region: string) => Promise<string>;
  /** The law in force now: checked before recording and again right before sending. */
  permitted: (region: string) => boolean;
}

const PASS_HEADERS = ['content-type', 'cache-control', 'x-sovereign-model-version', 'x-accel-buffering', 'retry-after'] as const;

function failureKind(err: unknown): Attempt['outcome'] {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError || e.name === 'TimeoutError') return 'timeout';
  if (e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e instanceof undiciErrors.ConnectTimeoutError) return 'connect_error';
  return 'reset';
}

/** Relays an SSE body; if the region fails mid-stream, ends it with an error event naming the failure. */
function relaySse(body: Dispatcher.ResponseData['body'], region: string): Readable {
  async function* frames(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } catch (err) {
      yield Buffer.from(sseData({ error: { type: 'region_failed_mid_stream', message: `region ${region} failed after the stream started: ${(err as Error).message}; the response is incomplete`, region } }));
    }
  }
  return Readable.from(frames(), { objectMode: false });
}

/** Connections to each region (the rendered Istio connection pools carry the same). */
export const FORWARD_POOL = { connections: 128, keepAliveMs: 60_000, connectTimeoutMs: 2_000 } as const;

export class Forwarder {
  readonly #pools = new Map<string, Pool>();
  readonly #health: HealthMonitor;
  readonly #timeoutMs: number;
  /** In-flight requests per region, so a legal trigger with --cut can abort them. */
  readonly #inflight = new Map<string, Set<AbortController>>();

  constructor(topology: Topology, health: HealthMonitor, mesh: Mesh) {
    for (const r of topology.regions) {
      // mTLS to the region's cell, which must present its own SVID; connections pooled, sessions resumed.
      this.#pools.set(r.id, mesh.cellPool(r.id, { connections: FORWARD_POOL.connections, pipelining: 1, keepAliveTimeout: FORWARD_POOL.keepAliveMs, connectTimeout: FORWARD_POOL.connectTimeoutMs }));
    }
    this.#health = health;
    this.#timeoutMs = topology.data.gateway.requestTimeoutMs;
  }

  async send(d: Decision, req: ForwardRequest, reply: FastifyReply): Promise<FastifyReply> {
    const deadline = AbortSignal.any([req.signal, AbortSignal.timeout(this.#timeoutMs)]);
    // What the region's store needs to keep its record of the request (src/common/served-for.ts).
    const tenant = d.tenant ?? 'anonymous';
    const headers: Record<string, string> = servedForHeaders({ decisionId: d.id, tenant, subject: d.subject ?? tenant, dataClass: d.dataClass, retentionDays: d.retentionDays, receipt: null });
    if (req.contentType) headers['content-type'] = req.contentType;

    for (const region of d.candidates) {
      const pool = this.#pools.get(region);
      if (!pool) continue;
      if (deadline.aborted) break;
      if (!this.#health.admits(region) || !req.permitted(region)) {
        d.attempts.push({ region, outcome: 'skipped', ms: 0 });
        continue;
      }
      const started = performance.now();
      let receipt: string;
      let recordMs = 0;
      try {
        receipt = await req.record(region);
        recordMs = performance.now() - started;
      } catch (err) {
        d.attempts.push({ region, outcome: 'ledger_unavailable', ms: performance.now() - started });
        this.#health.recordFailure(region, `ledger: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code === 'ECONNREFUSED');
        continue;
      }
      headers[SERVED_FOR_HEADERS.ledger] = receipt;
      // A legal trigger may have landed while the entry was being recorded.
      if (!req.permitted(region)) {
        d.attempts.push({ region, outcome: 'skipped', ms: performance.now() - started });
        continue;
      }
      const cut = new AbortController();
      let set = this.#inflight.get(region);
      if (!set) this.#inflight.set(region, (set = new Set()));
      set.add(cut);
      const signal = AbortSignal.any([deadline, cut.signal]);
      const done = (): void => {
        set.delete(cut);
        this.#health.end(region);
      };
      this.#health.begin(region);
      let res: Dispatcher.ResponseData;
      try {
        res = await pool.request({ method: req.method, path: req.path, headers, body: req.body ?? null, signal, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs });
      } catch (err) {
        done();
        if (cut.signal.aborted) {
          d.attempts.push({ region, outcome: 'skipped', ms: performance.now() - started });
          continue;
        }
        const outcome = failureKind(err);
        d.attempts.push({ region, outcome, ms: performance.now() - started });
        if (req.signal.aborted) throw err;
        this.#health.recordFailure(region, `${outcome}: ${(err as Error).message}`, outcome === 'connect_error');
        continue;
      }
      const ms = performance.now() - started - recordMs;
      if (res.statusCode === 429 && res.headers['x-sovereign-cell-busy'] !== undefined) {
        // The region's inference queue is full: it is busy, not failing (no health penalty);
        // the next permitted region may have room.
        await res.body.dump().catch(() => undefined);
        done();
        d.attempts.push({ region, outcome: 'busy', status: res.statusCode, ms });
        continue;
      }
      if (res.statusCode >= 500) {
        await res.body.dump().catch(() => undefined);
        done();
        this.#health.recordFailure(region, `answered ${res.statusCode}`);
        d.attempts.push({ region, outcome: 'http_5xx', status: res.statusCode, ms });
        continue;
      }
      this.#health.recordSuccess(region, ms);
      d.attempts.push({ region, outcome: res.statusCode < 400 ? 'ok' : 'client_error', status: res.statusCode, ms });
      res.body.once('close', done);

      void reply.code(res.statusCode);
      for (const h of PASS_HEADERS) {
        const v = res.headers[h];
        if (typeof v === 'string') void reply.header(h, v);
      }
      void reply.header('x-sovereign-region', region);
      void reply.header('x-sovereign-ledger', receipt);
      void reply.header('x-sovereign-attempts', d.attempts.map((a) => `${a.region}=${a.outcome}`).join(', '));
      // W3C Server-Timing: where the time went (ledger record, the region's time to headers).
      void reply.header('server-timing', `record;dur=${recordMs.toFixed(2)}, region;dur=${ms.toFixed(2)}`);
      const isSse = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
      return reply.send(isSse ? relaySse(res.body, region) : res.body);
    }
    throw regionsUnavailable(
      d,
      d.attempts.length === 0
        ? `no permitted region is healthy right now (permitted: ${d.permitted.join(', ')}); retry shortly`
        : `every permitted region failed (${d.attempts.map((a) => `${a.region}: ${a.outcome}`).join('; ')}); retry shortly`,
    );
  }

  /** Aborts every in-flight request to `region` (a legal trigger with --cut); returns how many. */
  abortRegion(region: string, why: string): number {
    const set = this.#inflight.get(region);
    if (!set) return 0;
    const n = set.size;
    for (const c of set) c.abort(new Error(why));
    set.clear();
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }
}
