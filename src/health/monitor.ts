// Region health as the gateway sees it: active probes of each cell's /v2/health/ready at a
// jittered interval, passive signals from live traffic, a latency EWMA and in-flight counts.
import { request } from 'undici';

export interface RegionHealth {
  region: string;
  healthy: boolean;
  /** Why the region is in its state, for operators ("probe: connect ECONNREFUSED", ...). */
  reason: string;
  /** Exponentially weighted moving average of response latency, ms (probes and traffic). */
  latencyMs: number;
  inflight: number;
  lastProbeAt: number | null;
  consecutiveFailures: number;
  ejectedUntil: number | null;
}

export interface HealthTarget {
  region: string;
  url: string;
}

export interface HealthMonitorOptions {
  intervalMs: number;
  /** Probe timeout, ms. */
  timeoutMs?: number;
  /** EWMA smoothing factor for latency (weight of the newest sample). */
  alpha?: number;
  /** Consecutive live-traffic failures that eject a region until a probe succeeds. */
  ejectAfter?: number;
  onChange?: (h: RegionHealth) => void;
}

const EWMA_ALPHA = 0.3;

export class HealthMonitor {
  readonly #targets: HealthTarget[];
  readonly #state = new Map<string, RegionHealth>();
  readonly #opts: Required<Omit<HealthMonitorOptions, 'onChange'>> & Pick<HealthMonitorOptions, 'onChange'>;
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(targets: HealthTarget[], opts: HealthMonitorOptions) {
    this.#targets = targets;
    this.#opts = { timeoutMs: Math.max(500, opts.intervalMs), alpha: EWMA_ALPHA, ejectAfter: 3, ...opts };
    for (const t of targets) {
      this.#state.set(t.region, {
        region: t.region,
        healthy: false,
        reason: 'not probed yet',
        latencyMs: 0,
        inflight: 0,
        lastProbeAt: null,
        consecutiveFailures: 0,
        ejectedUntil: null,
      });
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
    this.#timers.push(timer);
    if (this.#timers.length > 64) this.#timers = this.#timers.slice(-this.#targets.length);
  }

  /** Probes one region now; resolves once its state is updated. */
  async probe(region: string): Promise<RegionHealth> {
    const t = this.#targets.find((x) => x.region === region);
    const s = this.#state.get(region);
    if (!t || !s) throw new Error(`unknown region "${region}"`);
    const started = performance.now();
    let ok = false;
    let reason: string;
    try {
      const res = await request(`${t.url}/v2/health/ready`, { signal: AbortSignal.timeout(this.#opts.timeoutMs) });
      await res.body.dump();
      ok = res.statusCode === 200;
      reason = ok ? 'probe: ready' : `probe: /v2/health/ready answered ${res.statusCode}`;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      reason = `probe: ${e.code ?? e.name} ${e.message}`.trim();
    }
    s.lastProbeAt = Date.now();
    if (ok) {
      this.#sample(s, performance.now() - started);
      s.consecutiveFailures = 0;
      s.ejectedUntil = null;
    }
    this.#set(s, ok, reason);
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

  /** Live traffic: a response arrived from the region after `ms`. */
  recordSuccess(region: string, ms: number): void {
    const s = this.#state.get(region);
    if (!s) return;
    this.#sample(s, ms);
    s.consecutiveFailures = 0;
  }

  /** Live traffic: connect error, reset, 5xx or timeout. Ejects after `ejectAfter` in a row. */
  recordFailure(region: string, why: string, connectError = false): void {
    const s = this.#state.get(region);
    if (!s) return;
    s.consecutiveFailures++;
    // A refused connection is certain: the cell is not there. Eject at once.
    if (connectError || s.consecutiveFailures >= this.#opts.ejectAfter) {
      s.ejectedUntil = Date.now() + this.#opts.intervalMs;
      this.#set(s, false, `traffic: ${why}`);
    }
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
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
  }
}
