// Starts Sovereign's processes (cells and gateways) one by one for benchmarks that must kill,
// slow or restart them, each logging to a file in the work directory; a ProcessGroup stops
// everything started, by pid, on exit and on Ctrl-C.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { stringify } from 'yaml';
import { ProcessGroup, type Started } from './procs.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const group = new ProcessGroup();
group.installSignalHandlers();
const started = new WeakMap<ChildProcess, Started>();

export function workDir(name: string): string {
  return mkdtempSync(path.join(tmpdir(), `sovereign-${name}-`));
}

export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = path.join(dir, 'sovereign.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

export function startProcess(dir: string, name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const fd = openSync(path.join(dir, `${name}.log`), 'a');
  try {
    const s = group.start(name, process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    started.set(s.proc, s);
    return s.proc;
  } finally {
    closeSync(fd);
  }
}

export async function waitReady(url: string, timeoutMs = 60_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await request(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(1000) });
      await r.body.dump();
      if (r.statusCode === 200) return Date.now() - t0;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Stops a process started here (SIGTERM, then SIGKILL after a grace period: ProcessGroup.stop). */
export async function stop(p: ChildProcess): Promise<void> {
  const s = started.get(p);
  if (s !== undefined) await group.stop(s);
}
