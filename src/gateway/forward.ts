// Forward: send the request to the first candidate region that answers. A failure before
// any byte reached the client (connect error, reset, 5xx, timeout) moves on to the next
// candidate of the same ordered permitted list — never to a region outside it. A region whose
// runtime is known not to serve the model (its ready probe lists its models) comes last.
import { Readable } from 'node:stream';
import { errors as undiciErrors, type Pool } from 'undici';
import { CELL_REFUSED_HEADER, RECEIPT_HEADER, RECORD_HEADER, RECORD_REFUSED_HEADER, encodeRecord, servedForHeaders, sseData } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { HealthMonitor } from '../health/index.ts';
import type { Mesh } from '../mesh/index.ts';
import type { Attempt, Decision } from './decision.ts';
import { Exchange, type ExchangeHead } from './exchange.ts';
import type { RecordPlan, Recorder } from './record.ts';

export interface ForwardRequest {
  /** The model the request names: a region known not to serve it is tried after the others. */
  model: string;
  method: 'GET' | 'POST';
  path: string;
  /** The body the gateway judged, exactly the bytes whose digest the records carry. */
  body: Buffer | null;
  contentType?: string;
  /** The client: whether it went away (its connection closed before the answer was sent). */
  client: ClientWatch;
  /** What recording the decision for `region` takes, after the attempts `before` (data: see recordPlan). */
  plan: (region: string, before: readonly Attempt[]) => RecordPlan;
  /** The law in force now: checked before recording elsewhere and again right before sending. */
  permitted: (region: string) => boolean;
}

/**
 * The client of a request as the forwarder watches it: `gone` once it went away, and the one
 * callback told when it goes (the forwarder sets it while an attempt is in flight). A plain
 * object the HTTP layer sets from the response's 'close' event: an AbortController per request,
 * with its EventTarget listener added and removed, cost more than the rest of the bookkeeping.
 */
export interface ClientWatch {
  gone: boolean;
  /** Why it went (set with `gone`). */
  why?: Error;
  onGone: ((why: Error) => void) | null;
}

/** A client watch for a new request (the HTTP layer calls `clientGone` when its client leaves). */
export function newClientWatch(): ClientWatch {
  return { gone: false, onGone: null };
}

/** Marks the client gone and tells the forwarder (once). */
export function clientGone(c: ClientWatch, why: Error = new DOMException('the client went away', 'AbortError')): void {
  if (c.gone) return;
  c.gone = true;
  c.why = why;
  c.onGone?.(why);
}

/** A client watch following an abort signal (callers that have one). */
export function watchSignal(signal: AbortSignal): ClientWatch {
  const c = newClientWatch();
  const gone = (): void => clientGone(c, signal.reason instanceof Error ? signal.reason : new Error('the client went away'));
  if (signal.aborted) gone();
  else signal.addEventListener('abort', gone, { once: true });
  return c;
}

/** Where the request was served, and the answer to relay; or every attempt, when no region served it. */
export type ForwardResult =
  | {
      ok: true;
      region: string;
      /**
       * The serving region's receipt "<origin> <index>" for the decision it recorded before
       * processing; null for a client error the region answered before recording anything
       * (a request over the model's input limit, see src/cell/server.ts).
       */
      receipt: string | null;
      status: number;
      headers: Record<string, string>;
      /** A complete answer of bounded length, whole; or the answer as it streams (SSE, or larger or of unknown length). */
      body: Buffer | Readable;
      attempts: Attempt[];
      /** Milliseconds: recording in the serving region (as it reported), and its time to headers. */
      recordMs: number;
      regionMs: number;
    }
  | { ok: false; attempts: Attempt[] };

const PASS_HEADERS = ['content-type', 'cache-control', 'x-sovereign-model-version', 'x-accel-buffering', 'retry-after'] as const;

/** The headers of a cell's answer the forwarder reads (the others are not decoded). */
const HEAD_READ: ReadonlySet<string> = new Set([...PASS_HEADERS, 'content-length', 'server-timing', RECEIPT_HEADER, RECORD_REFUSED_HEADER, CELL_REFUSED_HEADER]);

/**
 * A cell's refusal, before its record, that another permitted region may not give (see
 * CELL_REFUSED_HEADER): `busy`, its inference queue is full (429); `no_model`, it does not serve
 * the model the topology names there (404). Neither is a failure of the region: no health penalty.
 */
function cellRefusal(res: ExchangeHead): 'busy' | 'no_model' | null {
  const v = res.headers[CELL_REFUSED_HEADER];
  if (res.status === 429 && v === 'busy') return 'busy';
  if (res.status === 404 && v === 'no_model') return 'no_model';
  return null;
}

function failureKind(err: unknown): Attempt['outcome'] {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError || e.name === 'TimeoutError') return 'timeout';
  if (e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e instanceof undiciErrors.ConnectTimeoutError) return 'connect_error';
  return 'reset';
}

/** Relays an SSE body; if the region fails mid-stream, ends it with an error event naming the failure. */
function relaySse(body: Readable, region: string): Readable {
  async function* frames(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } catch (err) {
      yield Buffer.from(sseData({ error: { type: 'region_failed_mid_stream', message: `region ${region} failed after the stream started: ${(err as Error).message}; the response is incomplete`, region } }));
    }
  }
  return Readable.from(frames(), { objectMode: false });
}

/** The cell's own time to make the record durable, from its Server-Timing "record;dur=<ms>" (0 when absent). */
function recordedIn(v: string | string[] | undefined): number {
  const m = typeof v === 'string' ? /(?:^|,)\s*record;dur=([0-9.]+)/.exec(v) : null;
  return m ? Number(m[1]) : 0;
}

/** Answers of at most this many bytes (declared) are read whole and relayed in one write. */
export const RELAY_BUFFER_MAX_BYTES = 1024 * 1024;

/** A Content-Length header's value; Infinity when absent or not a plain number. */
function declaredLength(v: string | string[] | undefined): number {
  return typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : Number.POSITIVE_INFINITY;
}

function isEventStream(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.startsWith('text/event-stream');
}

/** An answer relayed as it streams: an event stream, or one of unknown or large length. */
function isStream(head: ExchangeHead): boolean {
  return isEventStream(head.headers['content-type']) || declaredLength(head.headers['content-length']) > RELAY_BUFFER_MAX_BYTES;
}

/**
 * One request in flight: its deadline across all attempts and its client. Either ends the
 * exchange in flight; a legal trigger (abortRegion) ends it the same way, and `stopped` tells
 * the two apart.
 */
class Flight {
  readonly #client: ClientWatch;
  readonly #timer: NodeJS.Timeout;
  #current: Exchange | null = null;
  timedOut = false;

  constructor(client: ClientWatch, timeoutMs: number) {
    this.#client = client;
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#current?.abort(new DOMException(`no answer within gateway.requestTimeoutMs (${timeoutMs} ms)`, 'TimeoutError'));
    }, timeoutMs);
    // Like AbortSignal.timeout's: the deadline alone never keeps the process running.
    this.#timer.unref();
    client.onGone = this.#onClientGone;
  }

  readonly #onClientGone = (why: Error): void => {
    this.#current?.abort(why);
  };

  /** The deadline passed or the client went away: no further attempt. */
  get stopped(): boolean {
    return this.timedOut || this.#client.gone;
  }

  /** The exchange of the attempt now in flight (the deadline and the client end it). */
  attempt(ex: Exchange): void {
    this.#current = ex;
  }

  /** The request is answered (or given up): the deadline and the client no longer matter. */
  end(): void {
    clearTimeout(this.#timer);
    if (this.#client.onGone === this.#onClientGone) this.#client.onGone = null;
    this.#current = null;
  }
}

/** Connections to each region (the rendered Istio connection pools carry the same). */
export const FORWARD_POOL = { connections: 128, keepAliveMs: 60_000, connectTimeoutMs: 2_000 } as const;

export class Forwarder {
  readonly #pools = new Map<string, Pool>();
  readonly #health: HealthMonitor;
  readonly #timeoutMs: number;
  /** In-flight requests per region, so a legal trigger with --cut can abort them. */
  readonly #inflight = new Map<string, Set<Exchange>>();

  readonly #recorder: Pick<Recorder, 'recordElsewhere'>;

  /** `recorder`: where records that belong to other regions go (transfers to the subjects' home regions). */
  constructor(topology: Topology, health: HealthMonitor, mesh: Mesh, recorder: Pick<Recorder, 'recordElsewhere'>) {
    this.#recorder = recorder;
    for (const r of topology.regions) {
      // mTLS to the region's cell, which must present its own SVID; connections pooled, sessions resumed.
      this.#pools.set(r.id, mesh.cellPool(r.id, { connections: FORWARD_POOL.connections, pipelining: 1, keepAliveTimeout: FORWARD_POOL.keepAliveMs, connectTimeout: FORWARD_POOL.connectTimeoutMs }));
    }
    this.#health = health;
    this.#timeoutMs = topology.data.gateway.requestTimeoutMs;
  }

  /**
   * Records and forwards: for each candidate in order, the records other regions must hold
   * first (made durable, or kept in the outbox), then one exchange with the region carrying the
   * request with its own record, which the cell makes durable before processing anything.
   * Resolves with the answer to relay, or with every attempt when no region served it; rejects
   * only when the client went away.
   */
  async send(d: Decision, req: ForwardRequest): Promise<ForwardResult> {
    // What the region's store needs to keep its record of the request (src/common/served-for.ts).
    const tenant = d.tenant ?? 'anonymous';
    const base: Record<string, string> = servedForHeaders({ decisionId: d.id, tenant, subject: d.subject ?? tenant, dataClass: d.dataClass, retentionDays: d.retentionDays, receipt: null });
    if (req.contentType) base['content-type'] = req.contentType;
    const attempts: Attempt[] = [];
    // One deadline for the request across all attempts (gateway.requestTimeoutMs), one timer,
    // and the client's going away: each ends the exchange in flight (no abort signals per request).
    const flight = new Flight(req.client, this.#timeoutMs);

    for (const region of this.#health.servingFirst(d.candidates, req.model)) {
      const pool = this.#pools.get(region);
      if (!pool) continue;
      if (flight.stopped) break;
      if (!this.#health.admits(region) || !req.permitted(region)) {
        attempts.push({ region, outcome: 'skipped', ms: 0 });
        continue;
      }
      const started = performance.now();
      const plan = req.plan(region, attempts);
      // Records of this decision that belong to other regions (a cross-border transfer in the
      // subjects' home regions): durable, or kept in the outbox, before the request is sent.
      if (plan.elsewhere.length > 0) await this.#recorder.recordElsewhere(plan.elsewhere);
      // A legal trigger may have landed since the last check.
      if (!req.permitted(region)) {
        attempts.push({ region, outcome: 'skipped', ms: performance.now() - started });
        continue;
      }
      if (flight.stopped) break;
      const headers = { ...base, [RECORD_HEADER]: encodeRecord(plan.record) };
      // Read whole: refusals and failures (small, and read to the end to keep the connection),
      // and a complete answer of bounded length; an event stream or a large or unknown-length
      // answer streams.
      const ex = new Exchange((head) => head.status >= 300 || !isStream(head), HEAD_READ);
      flight.attempt(ex);
      let set = this.#inflight.get(region);
      if (!set) this.#inflight.set(region, (set = new Set()));
      set.add(ex);
      const done = (): void => {
        set.delete(ex);
        this.#health.end(region);
      };
      this.#health.begin(region);
      // A failure of the attempt (before any byte reached the client): the next candidate, or the end.
      const failed = (err: unknown, ms: number): 'next' | 'end' => {
        done();
        if (ex.abortedWith !== null && !flight.stopped) {
          // Cut by a legal trigger (abortRegion): the region is no longer permitted.
          attempts.push({ region, outcome: 'skipped', ms });
          return 'next';
        }
        const outcome = flight.timedOut ? 'timeout' : failureKind(err);
        attempts.push({ region, outcome, ms });
        if (req.client.gone) return 'end';
        this.#health.recordFailure(region, `${outcome}: ${(err as Error).message}`, outcome === 'connect_error');
        return 'next';
      };
      pool.dispatch({ method: req.method, path: req.path, headers, body: req.body, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs }, ex);
      let res: ExchangeHead;
      let whole: Buffer | null = null;
      try {
        res = await ex.head;
        if (!ex.streams) whole = await ex.whole();
      } catch (err) {
        if (failed(err, performance.now() - started) === 'end') {
          flight.end();
          throw err;
        }
        continue;
      }
      const ms = performance.now() - started;
      const refused = res.headers[RECORD_REFUSED_HEADER];
      const receipt = res.headers[RECEIPT_HEADER];
      if (refused !== undefined || (res.status < 300 && typeof receipt !== 'string')) {
        // The region did not record the decision (its log cannot write, or it refused the
        // record), so it processed nothing: the next permitted region may record and serve it.
        // A success without a receipt is treated the same way (a cell that ignored the record):
        // the gateway cannot show that the decision is in the region's log.
        if (whole === null) ex.stream().destroy();
        done();
        this.#health.recordFailure(region, `ledger: ${res.status} ${refused === undefined ? 'answered without a receipt' : (whole?.toString('utf8') ?? '').slice(0, 200)}`);
        attempts.push({ region, outcome: 'ledger_unavailable', status: res.status, ms });
        continue;
      }
      const refusal = cellRefusal(res);
      if (refusal !== null) {
        // Busy or without the model, not failing: the next permitted region may serve it.
        done();
        attempts.push({ region, outcome: refusal, status: res.status, ms });
        continue;
      }
      if (res.status >= 500) {
        done();
        this.#health.recordFailure(region, `answered ${res.status}`);
        attempts.push({ region, outcome: 'http_5xx', status: res.status, ms });
        continue;
      }
      const out: Record<string, string> = {};
      for (const h of PASS_HEADERS) {
        const v = res.headers[h];
        if (typeof v === 'string') out[h] = v;
      }
      let body: Buffer | Readable;
      if (whole !== null) {
        // A complete answer of known, bounded length (or a client error), read whole: relayed
        // in one write with its length.
        body = whole;
        done();
        flight.end();
      } else {
        const stream = ex.stream();
        stream.once('close', () => {
          done();
          flight.end();
        });
        body = isEventStream(res.headers['content-type']) ? relaySse(stream, region) : stream;
      }
      this.#health.recordSuccess(region, ms);
      attempts.push({ region, outcome: res.status < 400 ? 'ok' : 'client_error', status: res.status, ms });
      return { ok: true, region, receipt: typeof receipt === 'string' ? receipt : null, status: res.status, headers: out, body, attempts, recordMs: recordedIn(res.headers['server-timing']), regionMs: ms };
    }
    flight.end();
    return { ok: false, attempts };
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
