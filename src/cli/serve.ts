// `sovereign cell` and `sovereign gateway`: one long-running service in this process.
import type { Command } from 'commander';
import { topologyOf } from './options.ts';

/** Stops on SIGINT/SIGTERM, and when the supervising `sovereign up` goes away (IPC closed). */
function stopOn(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`sovereign: error while stopping (${why}):`, err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  if (process.connected) process.once('disconnect', () => stop('supervisor gone'));
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port: expected a port number 0-65535, got "${v}"`);
  return n;
}

function parseWorkers(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--workers: expected a number of processes 1-256, got "${v}"`);
  return n;
}

export function register(program: Command): void {
  program
    .command('cell')
    .description("run one region's cell (model runtime, local store) in this process")
    .requiredOption('--region <id>', 'region id from the topology file')
    .option('--port <port>', "override the port of the region's url", parsePort)
    .option('--host <host>', "override the address the cell and its region's registry listen on (default: the hosts of regions[].url and regions[].registry.url)")
    .action(async (o: { region: string; port?: number; host?: string }, cmd: Command) => {
      const { startCell } = await import('../cell/index.ts');
      const cell = await startCell({ topology: topologyOf(cmd), region: o.region, ...(o.port !== undefined ? { port: o.port } : {}), ...(o.host ? { host: o.host } : {}) });
      stopOn(() => cell.close());
      // Ready once it serves a model (its region's first release may still be arriving).
      await cell.ready;
      process.send?.({ type: 'ready', url: cell.url });
    });

  program
    .command('gateway')
    .description('run the gateway (HTTP ingress, port 8080 by default) in this process')
    .option('--host <host>', 'address to listen on')
    .option('--port <port>', 'port to listen on', parsePort)
    .option('--replica <name>', 'name of this gateway replica when several run (its ledger outbox, its row in shared region state)', 'gateway')
    .option('--workers <n>', 'gateway processes on this machine (default: gateway.workers, else one per core; 1: this process only)', parseWorkers)
    .action(async (o: { host?: string; port?: number; replica: string; workers?: number }, cmd: Command) => {
      const { runGateway } = await import('../gateway/index.ts');
      const gw = await runGateway({ topology: topologyOf(cmd), replica: o.replica, ...(o.host ? { host: o.host } : {}), ...(o.port !== undefined ? { port: o.port } : {}), ...(o.workers !== undefined ? { workers: o.workers } : {}) });
      stopOn(() => gw.close());
      // A worker tells its primary, which tells `sovereign up` once every worker is ready.
      process.send?.({ type: 'ready', url: gw.url });
    });
}
