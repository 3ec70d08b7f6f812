// Starts a real Sovereign (`sovereign up`: four cells and a gateway as OS processes) on free
// ports with its own data directory, for integration tests.
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ProcessGroup, freePort } from '../../bench/lib/procs.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = path.join(ROOT, 'src/cli/main.ts');

export const EU = ['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE', 'IS', 'LI', 'NO'];

export interface Cluster {
  dir: string;
  configFile: string;
  gateway: string;
  regions: Record<string, string>;
  proc: ChildProcess;
  output: () => string;
  /** The gateway's admin token (generated in its data directory on first start). */
  adminToken(): string;
  /** The pid of a child process of `sovereign up`: "gateway" (its primary when it runs workers) or a region id. */
  pidOf(name: string): number;
  /** The gateway's worker processes (none when it runs in one process). */
  gatewayWorkers(): number[];
  stop(): Promise<void>;
}

/** Runs the CLI against a cluster's topology file: its exit code and output (a failure is returned, not thrown). */
export async function cli(c: Pick<Cluster, 'configFile'>, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [MAIN, '--config', c.configFile, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every child of `parent`. */
export function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** The children of `parent` whose command line holds `args` (e.g. ["cell", "--region", "eu-paris"]). */
function childPid(parent: number, args: string[]): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (args.every((a, i) => cmd.some((c, j) => c === a && (i === 0 || cmd[j - 1] === args[i - 1])))) return Number(d);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no child of ${parent} runs ${args.join(' ')}`);
}

export async function defaultTopology(dir: string, extra: Record<string, unknown> = {}): Promise<{ config: Record<string, unknown>; regions: Record<string, string>; gatewayPort: number }> {
  // The shipped topology's regions and transfer mechanisms, on free ports.
  const ids: [string, string, string, Record<string, string[]>][] = [
    ['eu-frankfurt', 'EU', 'DE', { contract: ['SG'] }],
    ['eu-paris', 'EU', 'FR', { contract: ['SG'] }],
    ['uae-dubai', 'AE', 'AE', { scc: ['EU'], contract: ['SG'] }],
    ['sg-singapore', 'SG', 'SG', {}],
  ];
  const regions: Record<string, string> = {};
  const list = [];
  for (const [id, jurisdiction, country, transfers] of ids) {
    // Cells take mutual TLS only (test/helpers/mesh.ts calls them with an issued SVID).
    const url = `https://127.0.0.1:${await freePort()}`;
    regions[id] = url;
    list.push({ id, jurisdiction, country, url, transfers });
  }
  const gatewayPort = await freePort();
  const config = {
    dataDir: path.join(dir, 'data'),
    jurisdictions: { EU, AE: ['AE'], SG: ['SG'] },
    regions: list,
    routing: { mode: 'legal-first', preference: ids.map((x) => x[0]) },
    ...extra,
    // Gateway keys given by the test are merged into the defaults (the port stays the free one).
    // One gateway process unless the test asks for workers (test/integration/workers.test.ts,
    // replicas, reload): every integration test starting three on a shared 2-core machine
    // costs start-up time the tests do not measure.
    gateway: { host: '127.0.0.1', port: gatewayPort, probeIntervalMs: 200, bodyLimitBytes: 1024 * 1024, workers: 1, ...(extra.gateway as Record<string, unknown> | undefined) },
  };
  return { config, regions, gatewayPort };
}

export async function startCluster(extra: Record<string, unknown> = {}, mutate?: (c: Record<string, unknown>) => void): Promise<Cluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-it-'));
  const { config, regions, gatewayPort } = await defaultTopology(dir, extra);
  mutate?.(config);
  const configFile = path.join(dir, 'sovereign.yaml');
  writeFileSync(configFile, stringify(config));
  const group = new ProcessGroup();
  const up = group.start('sovereign up', process.execPath, [MAIN, '--config', configFile, 'up'], { cwd: ROOT });
  // Generous: the machine running the tests may be heavily shared. A cluster that does not come
  // up is stopped, so a failed start leaves no processes behind (and no test file hanging on them).
  try {
    await up.waitFor('Sovereign is up', 120_000);
  } catch (err) {
    await group.stop(up, 60_000);
    throw err;
  }
  return {
    dir,
    configFile,
    gateway: `http://127.0.0.1:${gatewayPort}`,
    regions,
    proc: up.proc,
    output: () => up.output(),
    adminToken: () => readFileSync(path.join(dir, 'data/gateway/admin-token'), 'utf8').trim(),
    pidOf: (name) => childPid(up.pid, name === 'gateway' ? ['gateway'] : ['--region', name]),
    gatewayWorkers: () => childrenOf(childPid(up.pid, ['gateway'])),
    // SIGTERM lets `sovereign up` stop its cells and gateway; SIGKILL only if it hangs for a minute.
    stop: () => group.stop(up, 60_000),
  };
}
