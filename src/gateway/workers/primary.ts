// The primary of a gateway with several workers (node:cluster). It serves no request; it owns
// what the workers share:
// - the region state store (file or PostgreSQL): a legal trigger made on any worker is applied
//   here, sent to every worker, and reported in force once every live worker acknowledged it
//   (and, with PostgreSQL, every other replica); this process acknowledges a version to the
//   shared store only once all its workers have it;
// - the health view: it alone probes the cells and sends its view to the workers; a worker that
//   ejects a region on live traffic says so, and the ejection reaches every worker;
// - reloads: it watches the topology and policy files, has every worker prepare the next deps,
//   and commits only when all prepared the same decision table (else all abort);
// - /metrics: the workers' registries aggregated (prom-client's AggregatorRegistry.aggregate, labels unchanged);
// - the workers: a worker that dies is forked again in its slot (same outbox file, which the
//   successor delivers). If the primary dies, the workers lose their IPC channel and exit;
//   `sovereign up` restarts the gateway as a whole.
import cluster, { type Worker } from 'node:cluster';
import { watch, type FSWatcher } from 'node:fs';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from '../../common/index.ts';
import { loadTopology, type Topology } from '../../config/index.ts';
import { HealthMonitor, type RegionState, type RegionStateStore } from '../../health/index.ts';
import { followRevocations, Mesh, spiffeId } from '../../mesh/index.ts';
import { policyFilePath } from '../../policy/index.ts';
import { consoleToken } from '../../console/index.ts';
import { adminToken } from '../admin-token.ts';
import { restartOnly } from '../reload.ts';
import { openStateStore } from '../state-store.ts';
import { AckBook } from './ack-book.ts';
import { isOurs, WORKER_SLOT_ENV, type Call, type FromPrimary, type FromWorker } from './messages.ts';

export interface PrimaryOptions {
  topology: Topology;
  workers: number;
  logger: Logger;
  replica: string;
  /** Extra arguments of the worker command line (host/port overrides). */
  watch?: boolean;
}

export interface RunningPrimary {
  url: string;
  /** Worker pids by slot. */
  workers(): Map<number, number>;
  close(): Promise<void>;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const STABLE_MS = 30_000;
/** Time a worker has to prepare a reload. */
const PREPARE_TIMEOUT_MS = 60_000;

interface Slot {
  n: number;
  worker: Worker | null;
  startedAt: number;
  backoffMs: number;
  ready: boolean;
}

export async function startGatewayPrimary(o: PrimaryOptions): Promise<RunningPrimary> {
  const { logger, replica } = o;
  let topology = o.topology;
  // Tokens before any worker exists, so they never race to create them.
  adminToken(topology, true);
  consoleToken(topology, true);
  const mesh = await Mesh.open(topology, spiffeId.gateway(topology.data.mesh.trustDomain, replica), logger);
  const revocations =
    topology.data.mesh.mode === 'mtls'
      ? await followRevocations(topology, (l) => mesh.setSharedRevocations(l), (err) => logger.error({ err: err.message }, 'shared revocation list'), mesh)
      : null;
  const store: RegionStateStore = await openStateStore(topology, logger, mesh, replica);
  let state: RegionState = await store.load();
  const book = new AckBook();
  // /metrics: every live worker's samples, aggregated by prom-client's rules (sum unless a metric
  // names another aggregator); a worker that does not answer within a second is left out.
  let metricsId = 0;
  const metricsWaits = new Map<number, Map<number, (m: unknown[]) => void>>();
  const clusterMetrics = async (): Promise<string> => {
    const id = ++metricsId;
    const waits = new Map<number, (m: unknown[]) => void>();
    metricsWaits.set(id, waits);
    const live = [...slots.values()].filter((s) => s.worker?.isConnected());
    const all = await Promise.all(
      live.map(
        (s) =>
          new Promise<unknown[]>((resolve) => {
            const timer = setTimeout(() => resolve([]), 1000);
            waits.set(s.n, (m) => {
              clearTimeout(timer);
              resolve(m);
            });
            s.worker?.send({ sovereign: 1, t: 'metrics', id } satisfies FromPrimary);
          }),
      ),
    );
    metricsWaits.delete(id);
    return AggregatorRegistry.aggregate(all.filter((m) => m.length > 0)).metrics();
  };
  const slots = new Map<number, Slot>();
  let stopping = false;

  const broadcast = (m: FromPrimary): void => {
    for (const s of slots.values()) if (s.worker?.isConnected()) s.worker.send(m);
  };

  // Health: probed here only.
  const monitorFor = (t: Topology): HealthMonitor =>
    new HealthMonitor(
      t.regions.map((r) => ({ region: r.id, url: mesh.cellOrigin(r.id), dispatcher: mesh.cellClient(r.id) })),
      {
        intervalMs: t.data.gateway.probeIntervalMs,
        onChange: (h) => {
          logger.info({ region: h.region, healthy: h.healthy, reason: h.reason }, 'region health changed');
          sendHealth();
        },
      },
    );
  let health = monitorFor(topology);
  const sendHealth = (): void => broadcast({ sovereign: 1, t: 'health', snapshot: health.snapshot() });
  await Promise.all(topology.regions.map((r) => health.probe(r.id)));
  health.start();
  const healthTimer = setInterval(sendHealth, topology.data.gateway.probeIntervalMs);
  healthTimer.unref();

  const ackWhenInForce = (version: number): void => {
    book
      .wait(version, 60_000)
      .then(() => store.ack(version))
      .catch((err: unknown) => logger.error({ err: (err as Error).message, version }, 'region state not acknowledged: not in force on every worker, or the store refused'));
  };
  // Region state: every version goes to every worker; this replica acknowledges it to the
  // shared store once all of them have it in force.
  const publish = (s: RegionState): void => {
    if (s.version <= state.version) return;
    state = s;
    broadcast({ sovereign: 1, t: 'state', state: s });
    ackWhenInForce(s.version);
  };
  store.subscribe(publish);

  const answer = async (c: Call): Promise<unknown> => {
    switch (c.op) {
      case 'load':
        // From the store itself: with PostgreSQL another replica may have changed it a moment ago.
        return store.load().then((s) => (s.version >= state.version ? s : state));
      case 'health':
        return health.snapshot();
      case 'replace': {
        const next = await store.update((cur) => {
          if (cur.version !== c.expect) throw Object.assign(new Error(`region state changed (version ${cur.version}, expected ${c.expect})`), { conflict: true });
          return { ...cur, suspensions: c.suspensions };
        });
        publish(next);
        return next;
      }
      case 'wait': {
        const started = Date.now();
        const workers = await book.wait(c.version, c.timeoutMs);
        const { replicas } = await store.waitForReplicas(c.version, Math.max(1, c.timeoutMs - (Date.now() - started)));
        return { replicas, workers };
      }
      case 'metrics':
        return clusterMetrics();
    }
  };

  // Reloads: all workers prepare; commit only if all prepared the same law.
  let fingerprint: string | null = null;
  let reloadId = 0;
  const pending = new Map<number, Map<number, (r: { ok: true; fingerprint: string } | { ok: false; reason: string }) => void>>();
  let reloading: Promise<void> | null = null;
  const reload = (): Promise<void> => {
    if (reloading) return reloading;
    reloading = (async () => {
      const id = ++reloadId;
      let next: Topology;
      try {
        next = topology.file === '<inline>' ? topology : loadTopology(topology.file);
        const why = restartOnly(topology, next);
        if (why) throw new Error(why);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'changed topology or policy refused; the previous one stays in force on every worker');
        return;
      }
      // The workers serving now. One still starting is left out rather than refusing the change:
      // it loads the files as they are when it starts, and its 'ready' brings every worker to one
      // law again if what it read is not what the others committed.
      const live = [...slots.values()].filter((s) => s.ready && s.worker?.isConnected());
      const waiting = new Map<number, (r: { ok: true; fingerprint: string } | { ok: false; reason: string }) => void>();
      pending.set(id, waiting);
      const answers = await Promise.all(
        live.map(
          (s) =>
            new Promise<{ ok: true; fingerprint: string } | { ok: false; reason: string }>((resolve) => {
              const timer = setTimeout(() => resolve({ ok: false, reason: `worker ${s.n} did not prepare within ${PREPARE_TIMEOUT_MS} ms` }), PREPARE_TIMEOUT_MS);
              waiting.set(s.n, (r) => {
                clearTimeout(timer);
                resolve(r);
              });
              s.worker?.send({ sovereign: 1, t: 'prepare', id } satisfies FromPrimary);
            }),
        ),
      );
      pending.delete(id);
      const refused = answers.filter((a) => !a.ok);
      const prints = new Set(answers.flatMap((a) => (a.ok ? [a.fingerprint] : [])));
      if (refused.length > 0 || prints.size > 1) {
        broadcast({ sovereign: 1, t: 'abort', id });
        const reason = refused.length > 0 ? (refused[0] as { reason: string }).reason : 'the workers read different files (changed while they read); try again';
        logger.error({ err: reason }, 'changed topology or policy refused; the previous one stays in force on every worker');
        return;
      }
      broadcast({ sovereign: 1, t: 'commit', id });
      fingerprint = [...prints][0] ?? fingerprint;
      if (JSON.stringify(next.regions) !== JSON.stringify(topology.regions) || next.data.gateway.probeIntervalMs !== topology.data.gateway.probeIntervalMs) {
        const old = health;
        health = monitorFor(next);
        await Promise.all(next.regions.map((r) => health.probe(r.id)));
        health.start();
        old.stop();
        sendHealth();
      }
      topology = next;
      logger.warn({ file: topology.file, workers: live.length }, 'topology and policies reloaded on every worker');
    })().finally(() => {
      reloading = null;
    });
    return reloading;
  };

  // Workers.
  let firstReady: (url: string) => void = () => undefined;
  const allReady = new Promise<string>((resolve) => (firstReady = resolve));
  let url = '';
  const fork = (s: Slot): void => {
    const w = cluster.fork({ [WORKER_SLOT_ENV]: String(s.n) });
    s.worker = w;
    s.startedAt = Date.now();
    s.ready = false;
    book.join(w.id);
    // A message sent to a worker that has just died fails (EPIPE) before its channel reports the
    // close; unheard, that 'error' would take the primary, and every other worker, down with it.
    // The 'exit' below restarts the slot; a message lost to a dead worker has no one to read it.
    w.on('error', (err: Error) => logger.warn({ worker: s.n, worker_pid: w.process.pid, err: err.message }, 'a message to a gateway worker could not be sent (the worker is gone)'));
    w.on('message', (m: unknown) => {
      if (!isOurs<FromWorker>(m)) return;
      switch (m.t) {
        case 'call':
          answer(m.call).then(
            (value) => w.isConnected() && w.send({ sovereign: 1, t: 'reply', id: m.id, ok: true, value } satisfies FromPrimary),
            (err: unknown) => w.isConnected() && w.send({ sovereign: 1, t: 'reply', id: m.id, ok: false, error: (err as Error).message, conflict: (err as { conflict?: boolean }).conflict === true } satisfies FromPrimary),
          );
          return;
        case 'ack':
          book.ack(w.id, m.version);
          return;
        case 'ejected':
          // The worker ejected it on its traffic: every worker's view takes the ejection.
          health.recordFailure(m.region, `worker ${s.n}: ${m.why}`, true);
          return;
        case 'metrics':
          metricsWaits.get(m.id)?.get(s.n)?.(m.metrics);
          return;
        case 'prepared':
          pending.get(m.id)?.get(s.n)?.(m.ok ? { ok: true, fingerprint: m.fingerprint } : { ok: false, reason: m.reason });
          return;
        case 'ready': {
          s.ready = true;
          url = m.url;
          logger.info({ worker: s.n, worker_pid: w.process.pid, url: m.url }, 'gateway worker ready');
          if (fingerprint === null) fingerprint = m.fingerprint;
          else if (m.fingerprint !== fingerprint) {
            // It read files that changed since the others loaded them: bring every worker to one law.
            logger.warn({ worker: s.n }, 'a restarted worker read changed files; reloading every worker');
            void reload();
          }
          if ([...slots.values()].every((x) => x.ready)) firstReady(url);
          return;
        }
      }
    });
    w.once('exit', (code, signal) => {
      book.leave(w.id);
      for (const p of pending.values()) p.get(s.n)?.({ ok: false, reason: `worker ${s.n} exited while preparing` });
      s.worker = null;
      s.ready = false;
      if (stopping) return;
      if (Date.now() - s.startedAt > STABLE_MS) s.backoffMs = MIN_BACKOFF_MS;
      const delay = s.backoffMs;
      s.backoffMs = Math.min(MAX_BACKOFF_MS, s.backoffMs * 2);
      logger.error({ worker: s.n, worker_pid: w.process.pid, code, signal, restart_in_ms: delay }, 'gateway worker exited; starting another in its slot (it delivers the outbox of the one it replaces)');
      setTimeout(() => {
        if (!stopping) fork(s);
      }, delay).unref();
    });
  };
  for (let n = 1; n <= o.workers; n++) {
    const s: Slot = { n, worker: null, startedAt: 0, backoffMs: MIN_BACKOFF_MS, ready: false };
    slots.set(n, s);
    fork(s);
  }

  // The state in force at start, once every worker has loaded it (each acknowledges what it loads).
  ackWhenInForce(state.version);

  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  if (o.watch !== false) {
    for (const file of [topology.file, policyFilePath(topology)]) {
      if (file === '<inline>') continue;
      try {
        watchers.push(
          watch(file, { persistent: false }, () => {
            if (timer) clearTimeout(timer);
            timer = setTimeout(() => void reload(), 200);
          }),
        );
      } catch (err) {
        logger.warn({ file, err: (err as Error).message }, 'cannot watch file; restart to pick up changes');
      }
    }
  }

  const close = async (): Promise<void> => {
    stopping = true;
    for (const w of watchers) w.close();
    clearInterval(healthTimer);
    health.stop();
    await Promise.all(
      [...slots.values()].map(
        (s) =>
          new Promise<void>((resolve) => {
            const w = s.worker;
            if (!w || w.isDead()) return resolve();
            const force = setTimeout(() => w.process.kill('SIGKILL'), 10_000);
            w.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
    await store.close();
    await mesh.closeClients();
    await revocations?.close();
    mesh.close();
  };

  // A worker that cannot start at all (port taken, bad files) ends the start.
  const failed = new Promise<never>((_, reject) => {
    const t = setInterval(() => {
      const s = [...slots.values()].find((x) => !x.ready && x.backoffMs >= MAX_BACKOFF_MS);
      if (s) {
        clearInterval(t);
        reject(new Error(`gateway worker ${s.n} keeps exiting before it is ready; see the log above`));
      }
    }, 200);
    t.unref();
    void allReady.then(() => clearInterval(t));
  });
  try {
    url = await Promise.race([allReady, failed]);
  } catch (err) {
    await close();
    throw err;
  }
  logger.info({ url, workers: o.workers, policy_state: state.version }, 'gateway ready on every worker');
  return {
    url,
    workers: () => new Map([...slots.values()].flatMap((s) => (s.worker?.process.pid ? [[s.n, s.worker.process.pid] as [number, number]] : []))),
    close,
  };
}
