// Hot reload of the topology and policy files. A reload has two steps so that several gateway
// workers change together: prepare (read, validate, build and probe the next deps; nothing in
// force changes) and commit (swap them in) or abort (drop them). A single process runs both
// steps at once; the primary of several workers commits only when every worker prepared the
// same decision table, so a bad file is refused by all and the previous one stays everywhere.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from '../common/index.ts';
import { loadTopology, type Topology } from '../config/index.ts';
import { databasePathOf, type Geo } from '../geo/index.ts';
import type { RegionState } from '../health/index.ts';
import { policyFilePath } from '../policy/index.ts';
import type { Deps } from './deps.ts';
import { applyState } from './suspension.ts';

/** Settings a running gateway cannot change: a new file that changes them needs a restart. */
export function restartOnly(a: Topology, b: Topology): string | null {
  const keys: [string, unknown, unknown][] = [
    ['gateway.host', a.data.gateway.host, b.data.gateway.host],
    ['gateway.port', a.data.gateway.port, b.data.gateway.port],
    ['gateway.bodyLimitBytes', a.data.gateway.bodyLimitBytes, b.data.gateway.bodyLimitBytes],
    ['gateway.workers', a.data.gateway.workers, b.data.gateway.workers],
    ['dataDir', a.dataDir, b.dataDir],
    ['state', JSON.stringify(a.data.state), JSON.stringify(b.data.state)],
    ['mesh', JSON.stringify(a.data.mesh), JSON.stringify(b.data.mesh)],
  ];
  const changed = keys.filter(([, x, y]) => x !== y).map(([k]) => k);
  return changed.length > 0 ? `${changed.join(', ')} changed: restart the gateway to apply` : null;
}

/** What a worker's deps were built from: equal fingerprints, the same law in force. */
export function fingerprintOf(deps: Deps): string {
  const h = createHash('sha256').update(JSON.stringify(deps.topology.data)).update('\0').update(deps.policy.table.digest);
  try {
    h.update('\0').update(readFileSync(policyFilePath(deps.topology)));
  } catch {
    // the digest of the compiled table already names the policy in force
  }
  return h.digest('hex').slice(0, 32);
}

export interface Prepared {
  next: Deps;
  fingerprint: string;
  commit(): void;
  abort(): void;
}

export interface ReloaderOptions {
  holder: { current: Deps };
  /** Builds the deps of a topology with the region state in force (reusing the geo database when `geo` is given). */
  build: (topology: Topology, state: RegionState, geo?: Geo) => Promise<Deps>;
  state: () => RegionState;
  logger: Logger;
  /**
   * Probe every region of the next deps before the swap, so they start with real health
   * (false for a worker: its health view is the primary's).
   */
  probe: boolean;
}

/** Old pools are closed after this long: requests already under way finish on them. */
const DRAIN_OLD_MS = 30_000;

export class Reloader {
  readonly #o: ReloaderOptions;
  #busy: Promise<unknown> | null = null;

  constructor(o: ReloaderOptions) {
    this.#o = o;
  }

  /** Reads and builds the next deps; nothing in force changes until commit(). Rejects with the reason a file is refused. */
  async prepare(): Promise<Prepared> {
    const { holder, logger } = this.#o;
    const old = holder.current;
    const topology = old.topology.file === '<inline>' ? old.topology : loadTopology(old.topology.file);
    const why = restartOnly(old.topology, topology);
    if (why) throw new Error(why);
    const sameGeo = databasePathOf(topology) === databasePathOf(old.topology);
    const built = this.#o.state();
    const next = await this.#o.build(topology, built, sameGeo ? old.geo : undefined);
    if (this.#o.probe) await Promise.all(topology.regions.map((r) => next.health.probe(r.id)));
    let settled = false;
    return {
      next,
      fingerprint: fingerprintOf(next),
      commit: () => {
        if (settled) return;
        settled = true;
        if (this.#o.probe) next.health.start();
        // A state version applied while the next deps were built reaches them before they serve.
        const state = this.#o.state();
        if (state.version > built.version) applyState(next.policy, next.topology, state, built, logger);
        holder.current = next;
        old.health.stop();
        if (!sameGeo) old.geo.close();
        setTimeout(() => void Promise.all([old.forwarder.close(), old.recorder.close()]), DRAIN_OLD_MS).unref();
        logger.warn({ file: topology.file, policy: next.policy.table.digest, regions: topology.regions.map((r) => r.id), state: state.version }, 'topology and policies reloaded');
      },
      abort: () => {
        if (settled) return;
        settled = true;
        next.health.stop();
        if (!sameGeo) next.geo.close();
        void Promise.all([next.forwarder.close(), next.recorder.close()]);
      },
    };
  }

  /** prepare() and commit() at once (one process); one reload at a time. */
  reload(): Promise<{ ok: boolean; reason?: string }> {
    if (this.#busy) return this.#busy as Promise<{ ok: boolean; reason?: string }>;
    const run = (async () => {
      try {
        const p = await this.prepare();
        p.commit();
        return { ok: true };
      } catch (err) {
        this.#o.logger.error({ err: (err as Error).message }, 'changed topology or policy refused; the previous one stays in force');
        return { ok: false, reason: (err as Error).message };
      } finally {
        this.#busy = null;
      }
    })();
    this.#busy = run;
    return run;
  }
}
