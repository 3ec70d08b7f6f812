// Supervises Sovereign's processes on one machine: starts each as a child with an IPC
// channel (a child stops by itself when the channel closes, so no orphans outlive the
// supervisor, even after kill -9), restarts a crashed child with exponential back-off,
// and stops them all on request.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

export interface ServiceSpec {
  name: string;
  args: string[];
  /**
   * Where the service says it is ready (GET returns 200). Without one, the service is ready when
   * it sends {type: 'ready'} over the IPC channel (cells: they take mTLS peers only).
   */
  readyUrl?: string;
}

interface Managed {
  spec: ServiceSpec;
  child: ChildProcess | null;
  restarts: number;
  backoffMs: number;
  startedAt: number;
  timer: NodeJS.Timeout | null;
  /** The running child said it is ready (IPC). */
  ready: boolean;
}

export interface SupervisorEvents {
  onExit?: (name: string, code: number | null, signal: NodeJS.Signals | null, restartInMs: number | null) => void;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 15_000;
/** A child that stayed up this long has its back-off reset. */
const STABLE_MS = 30_000;

export class Supervisor {
  readonly #logDir: string;
  readonly #services = new Map<string, Managed>();
  readonly #events: SupervisorEvents;
  #stopping = false;

  constructor(logDir: string, events: SupervisorEvents = {}) {
    this.#logDir = logDir;
    this.#events = events;
    mkdirSync(logDir, { recursive: true });
  }

  logFile(name: string): string {
    return path.join(this.#logDir, `${name}.log`);
  }

  start(spec: ServiceSpec): void {
    const m: Managed = { spec, child: null, restarts: 0, backoffMs: MIN_BACKOFF_MS, startedAt: 0, timer: null, ready: false };
    this.#services.set(spec.name, m);
    this.#spawn(m);
  }

  #spawn(m: Managed): void {
    const fd = openSync(this.logFile(m.spec.name), 'a');
    const child = fork(MAIN, m.spec.args, { stdio: ['ignore', fd, fd, 'ipc'], execArgv: [] });
    closeSync(fd);
    m.child = child;
    m.startedAt = Date.now();
    m.ready = false;
    child.on('message', (msg: unknown) => {
      if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'ready') m.ready = true;
    });
    child.once('exit', (code, signal) => {
      m.child = null;
      m.ready = false;
      if (this.#stopping) return;
      if (Date.now() - m.startedAt > STABLE_MS) m.backoffMs = MIN_BACKOFF_MS;
      const delay = m.backoffMs;
      m.backoffMs = Math.min(MAX_BACKOFF_MS, m.backoffMs * 2);
      m.restarts++;
      this.#events.onExit?.(m.spec.name, code, signal, delay);
      m.timer = setTimeout(() => {
        m.timer = null;
        if (!this.#stopping) this.#spawn(m);
      }, delay);
    });
  }

  /** Resolves when every service answers 200 at its ready URL; rejects after `timeoutMs`. */
  async waitReady(timeoutMs: number, onReady: (name: string, ms: number) => void): Promise<void> {
    const started = Date.now();
    const pending = new Set(this.#services.keys());
    while (pending.size > 0) {
      // A service that keeps exiting before it was ever ready will not get better by waiting
      // (a bad policy file, a port in use): stop and show why.
      for (const name of pending) {
        const m = this.#services.get(name);
        if (m && m.restarts >= 2) throw new Error(`${name} exited ${m.restarts} times before it was ready; its log ${this.logFile(name)} ends with:\n${this.tail(name, 8).replace(/^/gm, '    ')}`);
      }
      if (Date.now() - started > timeoutMs) {
        const names = [...pending];
        throw new Error(`not ready after ${timeoutMs / 1000} s: ${names.join(', ')}; see ${names.map((n) => this.logFile(n)).join(', ')}`);
      }
      await Promise.all(
        [...pending].map(async (name) => {
          const m = this.#services.get(name);
          if (!m) return;
          if (m.spec.readyUrl === undefined) {
            if (m.ready) {
              pending.delete(name);
              onReady(name, Date.now() - started);
            }
            return;
          }
          try {
            const res = await fetch(m.spec.readyUrl, { signal: AbortSignal.timeout(1000) });
            await res.arrayBuffer();
            if (res.ok) {
              pending.delete(name);
              onReady(name, Date.now() - started);
            }
          } catch {
            /* not listening yet */
          }
        }),
      );
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 100));
    }
  }

  pid(name: string): number | undefined {
    return this.#services.get(name)?.child?.pid;
  }

  /** The last lines of a service's log, for an error message. */
  tail(name: string, lines = 10): string {
    try {
      return readFileSync(this.logFile(name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM to every child, SIGKILL to those still running after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    const exits: Promise<void>[] = [];
    for (const m of this.#services.values()) {
      if (m.timer) clearTimeout(m.timer);
      const c = m.child;
      if (!c || c.exitCode !== null || c.signalCode !== null) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
          c.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          c.kill('SIGTERM');
        }),
      );
    }
    await Promise.all(exits);
  }
}
