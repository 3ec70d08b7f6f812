// Region health as the gateway sees it (after Envoy's health checking and outlier detection):
// - active probes of each cell's /v2/health/ready at a jittered interval;
// - passive outlier detection on live traffic: consecutive failures (connect error, reset,
//   5xx, timeout) eject a region; a refused connection ejects at once; repeat ejections back
//   off exponentially (base × 2^(n-1), capped) and the count decays after a quiet period;
// - a latency EWMA per region, fed by probes and traffic;
// - a circuit breaker on in-flight requests per region;
// - the models each region's runtime serves, as its ready probe says: a region that lacks the
//   model of a request is tried after those that have it (servingFirst), never skipped, so a
//   view one probe old costs an exchange at worst, not a refusal.
// An ejected region is readmitted when its ejection time has passed and a probe succeeds.
import { request, type Dispatcher } from 'undici';
import { CellReadySchema, readUpTo } from '../common/index.ts';

export interface RegionHealth {
  region: string;
  healthy: boolean;
  /** Why the region is in its state, for operators ("probe: ECONNREFUSED ...", ...). */
  reason: string;
  /** Exponentially weighted moving average of response latency, ms (probes and traffic). */
  latencyMs: number;
  inflight: number;
  lastProbeAt: number | null;
  consecutiveFailures: number;
  /** Times traffic ejected the region since it was last stable. */
  ejections: number;
  ejectedUntil: number | null;
  /**
   * The models the region's runtime serves, from its last successful ready probe; null when it
   * has not said (not probed yet, or a ready answer without the list).
   */
  models: string[] | null;
}

export interface HealthTarget {
  region: string;
  url: string;
  /** The client to probe with (an mTLS pool to the cell); undici's global one when absent. */
  dispatcher?: Dispatcher;
}

export interface HealthMonitorOptions {
  intervalMs: number;
  /** Probe timeout, ms (default: the interval, at least 1000). */
  timeoutMs?: number;
  /**
   * Consecutive failed probes that mark a region down (as Envoy's unhealthy_threshold); a
   * refused connection counts as certain and marks it down at once.
   */
  unhealthyThreshold?: number;
  /** EWMA smoothing factor for latency (weight of the newest sample). */
  alpha?: number;
  /** Consecutive live-traffic failures that eject a region. */
  ejectAfter?: number;
  /** First ejection time, ms; doubled on each repeat. */
  baseEjectionMs?: number;
  maxEjectionMs?: number;
  /** In-flight requests above which a region is skipped (circuit breaker). */
  maxInflight?: number;
  onChange?: (h: RegionHealth) => void;
  /** Live traffic ejected a region (gateway workers report it, so every worker's view shares it). */
  onEject?: (region: string, why: string) => void;
}

/** A ready answer longer than this is not read for its models (1,024 names of 256 characters fit). */
const READY_BODY_MAX_BYTES = 300 * 1024;

/** The models a ready answer lists; null when it lists none, is too long or is not a ready answer (it stays ready either way). */
function servedModels(body: Buffer | null): string[] | null {
  if (body === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  const parsed = CellReadySchema.safeParse(json);
  return parsed.success ? (parsed.data.models ?? null) : null;
}

/** The models `named` (the topology's, for the region) that the region's runtime does not serve; null when it has not said. */
export function unservedModels(named: readonly string[], h: Pick<RegionHealth, 'models'>): string[] | null {
  const { models } = h;
  return models === null ? null : named.filter((m) => !models.includes(m));
}

/** Sovereign's outlier settings (the rendered Istio DestinationRules carry the same). */
export const OUTLIER_DEFAULTS = { unhealthyThreshold: 2, alpha: 0.3, ejectAfter: 3, baseEjectionMs: 1000, maxEjectionMs: 30_000, maxInflight: 1024 } as const;

/** A region is considered stable again after this long without an ejection. */
const STABLE_AFTER_MS = 30_000;

export class HealthMonitor {
  readonly #targets: HealthTarget[];
  readonly #state = new Map<string, RegionHealth>();
  readonly #opts: Required<Omit<HealthMonitorOptions, 'onChange' | 'onEject'>> & Pick<HealthMonitorOptions, 'onChange' | 'onEject'>;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #lastEjectionAt = new Map<string, number>();
  readonly #probeFailures = new Map<string, number>();
  #stopped = false;

  constructor(targets: HealthTarget[], opts: HealthMonitorOptions) {
    this.#targets = targets;
    this.#opts = {
      timeoutMs: Math.max(1000, opts.intervalMs),
      ...OUTLIER_DEFAULTS,
      ...opts,
    };
    for (const t of targets) {
      this.#state.set(t.region, { region: t.region, healthy: false, reason: 'not probed yet', latencyMs: 0, inflight: 0, lastProbeAt: null, consecutiveFailures: 0, ejections: 0, ejectedUntil: null, models: null });
    }
  }

  start(): void {
    for (const t of this.#targets) void this.#loop(t);
  }

  async #loop(t: HealthTarget): Promise<void> {
    if (this.#stopped) return;
    await this.probe(t.region);
    if (this.#stopped) return;
    // ±20% jitter so that many gateways do not probe in lock-step.
    const delay = this.#opts.intervalMs * (0.8 + Math.random() * 0.4);
    const timer = setTimeout(() => void this.#loop(t), delay);
    timer.unref();
    this.#timers.set(t.region, timer);
  }

  /** Probes one region now; resolves once its state is updated. */
  async probe(region: string): Promise<RegionHealth> {
    const t = this.#targets.find((x) => x.region === region);
    const s = this.#state.get(region);
    if (!t || !s) throw new Error(`unknown region "${region}"`);
    const started = performance.now();
    let ok = false;
    let refused = false;
    let reason: string;
    try {
      const res = await request(`${t.url}/v2/health/ready`, { signal: AbortSignal.timeout(this.#opts.timeoutMs), ...(t.dispatcher ? { dispatcher: t.dispatcher } : {}) });
      ok = res.statusCode === 200;
      if (ok) s.models = servedModels(await readUpTo(res.body, READY_BODY_MAX_BYTES));
      else await res.body.dump();
      reason = ok ? 'probe: ready' : `probe: /v2/health/ready answered ${res.statusCode}`;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      refused = e.code === 'ECONNREFUSED' || (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
      reason = `probe: ${[e.code, e.message].filter(Boolean).join(' ')}`;
    }
    s.lastProbeAt = Date.now();
    if (!ok) {
      const n = (this.#probeFailures.get(region) ?? 0) + 1;
      this.#probeFailures.set(region, n);
      if (refused || n >= this.#opts.unhealthyThreshold || !s.healthy) this.#set(s, false, reason);
      return s;
    }
    this.#probeFailures.set(region, 0);
    this.#sample(s, performance.now() - started);
    const now = Date.now();
    if (s.ejectedUntil !== null && now < s.ejectedUntil) {
      this.#set(s, false, `ejected by outlier detection for ${Math.ceil((s.ejectedUntil - now) / 1000)} s more (ejection ${s.ejections}); ${s.reason.replace(/^ejected.*?; /, '')}`);
      return s;
    }
    s.ejectedUntil = null;
    s.consecutiveFailures = 0;
    if (now - (this.#lastEjectionAt.get(region) ?? 0) > STABLE_AFTER_MS) s.ejections = 0;
    this.#set(s, true, reason);
    return s;
  }

  #sample(s: RegionHealth, ms: number): void {
    s.latencyMs = s.latencyMs === 0 ? ms : s.latencyMs + this.#opts.alpha * (ms - s.latencyMs);
  }

  #set(s: RegionHealth, healthy: boolean, reason: string): void {
    const changed = s.healthy !== healthy;
    s.healthy = healthy;
    s.reason = reason;
    if (changed) this.#opts.onChange?.({ ...s });
  }

  /**
   * `candidates` with the regions whose runtime is known not to serve `model` moved to the end
   * (their order kept): the same list when every region serves it or has not said.
   */
  servingFirst(candidates: readonly string[], model: string): readonly string[] {
    const lacks = (region: string): boolean => {
      const m = this.#state.get(region)?.models;
      return m !== null && m !== undefined && !m.includes(model);
    };
    if (!candidates.some(lacks)) return candidates;
    return [...candidates.filter((r) => !lacks(r)), ...candidates.filter(lacks)];
  }

  /** Live traffic: a response arrived from the region after `ms`. */
  recordSuccess(region: string, ms: number): void {
    const s = this.#state.get(region);
    if (!s) return;
    this.#sample(s, ms);
    s.consecutiveFailures = 0;
  }

  /** Live traffic: connect error, reset, 5xx or timeout. */
  recordFailure(region: string, why: string, connectError = false): void {
    const s = this.#state.get(region);
    if (!s) return;
    s.consecutiveFailures++;
    if (!s.healthy) return;
    // A refused connection is certain: the cell is not there. Eject at once.
    if (connectError || s.consecutiveFailures >= this.#opts.ejectAfter) {
      s.ejections++;
      const ms = Math.min(this.#opts.maxEjectionMs, this.#opts.baseEjectionMs * 2 ** (s.ejections - 1));
      s.ejectedUntil = Date.now() + ms;
      this.#lastEjectionAt.set(region, Date.now());
      this.#set(s, false, `ejected by outlier detection for ${ms / 1000} s (ejection ${s.ejections}); traffic: ${why}`);
      this.#opts.onEject?.(region, why);
    }
  }

  /**
   * Takes the view of a monitor in another process (a gateway worker follows the primary's
   * probes instead of probing itself). In-flight counts stay this process's own; a region
   * this process ejected stays out until its own ejection time has passed.
   */
  adopt(shared: readonly RegionHealth[]): void {
    const now = Date.now();
    for (const h of shared) {
      const s = this.#state.get(h.region);
      if (!s) continue;
      if (h.healthy && s.ejectedUntil !== null && now < s.ejectedUntil) continue;
      s.latencyMs = h.latencyMs;
      s.lastProbeAt = h.lastProbeAt;
      s.ejections = h.ejections;
      s.ejectedUntil = h.ejectedUntil;
      s.models = h.models;
      if (h.healthy) s.consecutiveFailures = 0;
      this.#set(s, h.healthy, h.reason);
    }
  }

  /** Circuit breaker: may one more request be sent to the region now? */
  admits(region: string): boolean {
    const s = this.#state.get(region);
    return s !== undefined && s.healthy && s.inflight < this.#opts.maxInflight;
  }

  begin(region: string): void {
    const s = this.#state.get(region);
    if (s) s.inflight++;
  }

  end(region: string): void {
    const s = this.#state.get(region);
    if (s && s.inflight > 0) s.inflight--;
  }

  get(region: string): RegionHealth | undefined {
    return this.#state.get(region);
  }

  isHealthy(region: string): boolean {
    return this.#state.get(region)?.healthy === true;
  }

  snapshot(): RegionHealth[] {
    return [...this.#state.values()].map((s) => ({ ...s }));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
