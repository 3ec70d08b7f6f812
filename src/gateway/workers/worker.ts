// A gateway worker's side of the cluster: the region state store, the health view and the
// metrics are the primary's, reached over IPC; reloads are prepared and committed on its word.
import type { Registry } from 'prom-client';
import { EMPTY_STATE, type HealthMonitor, type RegionHealth, type RegionState, type RegionStateStore } from '../../health/index.ts';
import type { SharedHealth } from '../deps.ts';
import type { Prepared } from '../reload.ts';
import { isOurs, type Call, type FromPrimary, type FromWorker } from './messages.ts';

class Conflict extends Error {}

/**
 * The region state store of a worker: the primary's store over IPC. A state that arrives before
 * the gateway subscribes is acknowledged at once: the gateway applies it before it listens, so
 * no request is ever served under an older one.
 */
class WorkerStateStore implements RegionStateStore {
  readonly #link: WorkerLink;
  #latest: RegionState = { ...EMPTY_STATE, version: -1 };
  #subscribers: ((s: RegionState) => void)[] = [];

  constructor(link: WorkerLink) {
    this.#link = link;
  }

  receive(s: RegionState): void {
    if (s.version <= this.#latest.version) return;
    this.#latest = s;
    if (this.#subscribers.length === 0) this.#link.send({ sovereign: 1, t: 'ack', version: s.version });
    for (const cb of this.#subscribers) cb(s);
  }

  async load(): Promise<RegionState> {
    this.receive((await this.#link.call({ op: 'load' })) as RegionState);
    return this.#latest;
  }

  /** Compare-and-set on the primary's store, retried when another worker changed it first. */
  async update(change: (s: RegionState) => RegionState): Promise<RegionState> {
    for (let i = 0; ; i++) {
      const cur = (await this.#link.call({ op: 'load' })) as RegionState;
      const next = change(cur);
      try {
        const s = (await this.#link.call({ op: 'replace', expect: cur.version, suspensions: next.suspensions })) as RegionState;
        this.receive(s);
        return s;
      } catch (err) {
        if (!(err instanceof Conflict) || i >= 20) throw err;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
      }
    }
  }

  subscribe(onState: (s: RegionState) => void): void {
    this.#subscribers.push(onState);
    if (this.#latest.version >= 0) onState(this.#latest);
  }

  async ack(version: number): Promise<void> {
    this.#link.send({ sovereign: 1, t: 'ack', version });
  }

  async waitForReplicas(version: number, timeoutMs: number): Promise<{ replicas: number; workers: number }> {
    return (await this.#link.call({ op: 'wait', version, timeoutMs })) as { replicas: number; workers: number };
  }

  async close(): Promise<void> {}
}

export class WorkerLink implements SharedHealth {
  readonly slot: number;
  readonly store: WorkerStateStore;
  #nextId = 1;
  readonly #calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #health: HealthMonitor | null = null;
  #snapshot: RegionHealth[] = [];
  #reloader: (() => Promise<Prepared>) | null = null;
  #registry: Registry | null = null;
  readonly #prepared = new Map<number, Prepared>();

  constructor(slot: number) {
    if (!process.send) throw new Error('a gateway worker needs the IPC channel of its primary');
    this.slot = slot;
    this.store = new WorkerStateStore(this);
    process.on('message', (m: unknown) => {
      if (isOurs<FromPrimary>(m)) this.#on(m);
    });
  }

  send(m: FromWorker): void {
    process.send?.(m);
  }

  call(c: Call): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.send({ sovereign: 1, t: 'call', id, call: c });
    });
  }

  #on(m: FromPrimary): void {
    switch (m.t) {
      case 'reply': {
        const c = this.#calls.get(m.id);
        this.#calls.delete(m.id);
        if (!c) return;
        if (m.ok) c.resolve(m.value);
        else c.reject(m.conflict ? new Conflict(m.error) : new Error(m.error));
        return;
      }
      case 'state':
        return this.store.receive(m.state);
      case 'health':
        this.#snapshot = m.snapshot;
        this.#health?.adopt(m.snapshot);
        return;
      case 'metrics':
        // This worker's samples, for the primary to aggregate (none yet while it starts).
        void (this.#registry?.getMetricsAsJSON() ?? Promise.resolve([])).then(
          (metrics) => this.send({ sovereign: 1, t: 'metrics', id: m.id, metrics }),
          () => this.send({ sovereign: 1, t: 'metrics', id: m.id, metrics: [] }),
        );
        return;
      case 'prepare':
        void this.#prepare(m.id);
        return;
      case 'commit':
        this.#prepared.get(m.id)?.commit();
        this.#prepared.delete(m.id);
        return;
      case 'abort':
        this.#prepared.get(m.id)?.abort();
        this.#prepared.delete(m.id);
        return;
    }
  }

  async #prepare(id: number): Promise<void> {
    if (!this.#reloader) return this.send({ sovereign: 1, t: 'prepared', id, ok: false, reason: 'worker not ready yet' });
    try {
      const p = await this.#reloader();
      this.#prepared.set(id, p);
      this.send({ sovereign: 1, t: 'prepared', id, ok: true, fingerprint: p.fingerprint });
    } catch (err) {
      this.send({ sovereign: 1, t: 'prepared', id, ok: false, reason: (err as Error).message });
    }
  }

  /** The primary's health view, asked for before the first deps are built (a broadcast may come before this worker listens for it). */
  async start(): Promise<void> {
    this.#snapshot = (await this.call({ op: 'health' })) as RegionHealth[];
  }

  // SharedHealth: the primary probes; this worker's monitors take its view.
  seed(h: HealthMonitor): void {
    h.adopt(this.#snapshot);
  }

  use(h: HealthMonitor): void {
    this.#health = h;
    h.adopt(this.#snapshot);
  }

  ejected(region: string, why: string): void {
    this.send({ sovereign: 1, t: 'ejected', region, why });
  }

  /** How the primary's reloads are prepared in this worker. */
  reloadWith(prepare: () => Promise<Prepared>): void {
    this.#reloader = prepare;
  }

  /** This worker's metrics go to the primary's aggregation. */
  useRegistry(r: Registry): void {
    this.#registry = r;
  }

  /** /metrics across every worker (the primary aggregates, labels unchanged). */
  async metricsText(): Promise<string> {
    return (await this.call({ op: 'metrics' })) as string;
  }

  ready(url: string, fingerprint: string): void {
    this.send({ sovereign: 1, t: 'ready', url, fingerprint });
  }
}
