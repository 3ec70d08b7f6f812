// Processes of the benchmarks, the test bed and the integration tests: one helper for all.
// Children are started, tracked by pid, and always stopped (SIGTERM, then SIGKILL after a grace
// period), also on failure and on Ctrl-C; processes started by an earlier command (the test
// bed's, detached) are stopped by pid after checking the pid still runs one of ours. Also the
// one free-port helper.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Started {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** Everything the process wrote (stdout + stderr), last 64 KiB. */
  output(): string;
  /** Resolves when `text` appears in the output; rejects on exit or after `timeoutMs`. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
}

const MAX_OUTPUT = 64 * 1024;

export class ProcessGroup {
  readonly #running = new Map<number, Started>();
  #stopping = false;

  /** Starts `cmd args`; the process is tracked until it exits or `stop`/`stopAll` ends it. */
  start(name: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): Started {
    if (this.#stopping) throw new Error(`not starting ${name}: the benchmark is stopping`);
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    if (proc.pid === undefined) throw new Error(`cannot start ${name} (${cmd}): no pid`);
    let out = '';
    const append = (b: Buffer): void => {
      out += b.toString();
      if (out.length > MAX_OUTPUT) out = out.slice(-MAX_OUTPUT);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    proc.on('error', (err) => append(Buffer.from(`\n[spawn error] ${err.message}\n`)));
    const pid = proc.pid;
    const s: Started = {
      name,
      proc,
      pid,
      output: () => out,
      waitFor: (text, timeoutMs) =>
        new Promise<void>((resolve, reject) => {
          if (out.includes(text)) return resolve();
          const timer = setTimeout(() => done(new Error(`${name}: "${text}" not seen within ${timeoutMs} ms; output:\n${out.slice(-4000)}`)), timeoutMs);
          const onData = (): void => {
            if (out.includes(text)) done();
          };
          const onExit = (code: number | null, sig: string | null): void => done(new Error(`${name} exited (${sig ?? `code ${code}`}) before "${text}"; output:\n${out.slice(-4000)}`));
          function done(err?: Error): void {
            clearTimeout(timer);
            proc.stdout?.off('data', onData);
            proc.stderr?.off('data', onData);
            proc.off('exit', onExit);
            if (err) reject(err);
            else resolve();
          }
          proc.stdout?.on('data', onData);
          proc.stderr?.on('data', onData);
          proc.once('exit', onExit);
        }),
    };
    this.#running.set(pid, s);
    proc.once('exit', () => this.#running.delete(pid));
    return s;
  }

  /** Stops one process by pid: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(s: Started, graceMs = 5000): Promise<void> {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) {
      this.#running.delete(s.pid);
      return;
    }
    const exited = new Promise<void>((r) => s.proc.once('exit', () => r()));
    try {
      process.kill(s.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, graceMs);
    await exited;
    clearTimeout(timer);
    this.#running.delete(s.pid);
  }

  /** Stops every process still running, most recently started first. */
  /** Waits for `s` to exit (stopping it after `timeoutMs`); its output, or an error with its tail when it did not exit 0. */
  async runToExit(s: Started, timeoutMs: number): Promise<string> {
    if (s.proc.exitCode === null && s.proc.signalCode === null) {
      const exited = new Promise<void>((r) => s.proc.once('exit', () => r()));
      const timer = setTimeout(() => void this.stop(s), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    if (s.proc.exitCode !== 0) throw new Error(`${s.name} failed (${s.proc.signalCode ?? `exit ${s.proc.exitCode}`}):\n${s.output().slice(-3000)}`);
    return s.output();
  }

  async stopAll(): Promise<void> {
    this.#stopping = true;
    const all = [...this.#running.values()].reverse();
    await Promise.all(all.map((s) => this.stop(s)));
    this.#stopping = false;
  }

  /** Synchronous last resort (process 'exit' handler): SIGKILL whatever is left. */
  killAllNow(): void {
    for (const s of this.#running.values()) {
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Stops everything on Ctrl-C / SIGTERM and kills leftovers when this process exits. */
  installSignalHandlers(onStop?: () => void): void {
    let once = false;
    const handler = (sig: NodeJS.Signals): void => {
      if (once) return;
      once = true;
      onStop?.();
      console.error(`\n${sig}: stopping ${this.#running.size} benchmark process(es) ...`);
      void this.stopAll().finally(() => process.exit(130));
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    process.on('exit', () => this.killAllNow());
  }
}

/** Ports freePort has returned in this process. */
const handedOut = new Set<number>();

/** Can something listen on 127.0.0.1:`port` right now? */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port free on 127.0.0.1 for the caller to listen on. Picked at random below Linux's ephemeral
 * range (32768-60999): a port the kernel hands out for listen(0) is also a source port of
 * outgoing connections, so between this check and the caller's listen, a connection made by a
 * concurrently running test could take it ("already in use"); below the range only another
 * listener can, and the random pick makes that rare. A port is handed out once per process:
 * callers ask for several before listening on any (a topology's cells and gateway), and the
 * same pick twice made two regions share a URL.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` every `everyMs` until it returns true; throws `what` after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The command line of a running process ('' once it is gone). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * Stops a process that is not our child, by pid: only while its command line contains `marker`
 * (a pid can be reused by another program), SIGTERM, then SIGKILL after `graceMs`.
 */
export async function stopPid(pid: number, marker: string, graceMs = 5000): Promise<void> {
  if (!alive(pid) || !cmdline(pid).includes(marker)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until && alive(pid) && cmdline(pid) !== '') await new Promise((r) => setTimeout(r, 50));
  if (alive(pid) && cmdline(pid).includes(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * The pids of running processes whose command line holds every one of `args` as a whole
 * argument (e.g. a topology file and a role: `sovereign up` names both for each process it
 * starts, and gateway workers are forked with the same command line).
 */
export function pidsWith(...args: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (args.every((a) => cmd.includes(a))) out.push(Number(d));
  }
  return out;
}

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

/** CPU time (utime + stime, /proc/<pid>/stat fields 14 and 15) of a process, in ms; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}
