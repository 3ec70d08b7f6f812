// `sovereign up`: every cell of the topology and the gateway, as child processes, on this
// machine; ready when all are; stops them all on Ctrl-C or SIGTERM.
import { connect } from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { initTrustDomain } from '../mesh/index.ts';
import { rootOptions, topologyOf } from './options.ts';
import { Supervisor } from './supervise.ts';

// First start includes publishing the shipped model to golden and promoting it to every region.
const READY_TIMEOUT_MS = 120_000;

/**
 * True when something already accepts connections at host:port. No answer at all within the
 * timeout counts as taken: better to refuse than to start beside another instance.
 */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.setTimeout(3000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(true);
    });
  });
}

export function register(program: Command): void {
  program
    .command('up')
    .description('start every region cell and the gateway on this machine (Ctrl-C stops them all)')
    .action(async (_o: unknown, cmd: Command) => {
      const topology = topologyOf(cmd);
      const config = rootOptions(cmd).config ?? topology.file;
      const gw = topology.data.gateway;
      const gatewayUrl = `http://${gw.host}:${gw.port}`;
      const endpoints = [
        ...topology.regions.map((r) => ({ name: r.id, host: new URL(r.url).hostname, port: Number(new URL(r.url).port || 80) })),
        { name: 'gateway', host: gw.host, port: gw.port },
      ];
      const busy = (await Promise.all(endpoints.map(async (e) => ((await listening(e.host, e.port)) ? e : null)))).filter((e) => e !== null);
      if (busy.length > 0) {
        console.error(
          `sovereign up: ${busy.map((e) => `${e.host}:${e.port} (${e.name})`).join(', ')} already in use. ` +
            `Is Sovereign already running? Stop it, or change the ports in ${topology.file}.`,
        );
        process.exit(1);
      }
      const started = Date.now();
      if (topology.data.mesh.mode === 'mtls') {
        // First start: the trust domain's CAs (later starts keep them, replacing any near expiry).
        const init = await initTrustDomain(topology);
        for (const c of init.created) console.log(`  mesh   created ${c}`);
      } else {
        console.warn('! mesh.mode is plaintext: traffic between the gateway and the cells is neither encrypted nor authenticated (benchmarks and development only)');
      }
      const sup = new Supervisor(path.join(topology.dataDir, 'logs'), {
        onExit: (name, code, signal, inMs) => {
          console.error(`! ${name} exited (${signal ?? `code ${code}`}); restarting in ${inMs} ms. Last log lines:\n${sup.tail(name, 5).replace(/^/gm, '    ')}`);
        },
      });
      let stopping = false;
      const stop = async (why: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        console.log(`\nstopping Sovereign (${why}) ...`);
        await sup.stop();
        console.log('all processes stopped');
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));

      console.log(`Sovereign: starting the golden registry, ${topology.regions.length} region cells and the gateway (config ${topology.file})`);
      // Golden beside the cells: it publishes the shipped model at first start and promotes it to
      // the regions the law allows; a cell is ready once its region's release arrived and verified.
      // Golden says it is ready over IPC once the shipped model is published (it listens on
      // registry.golden.url, or a free port announced in its data directory).
      // With an external golden (a real OCI registry) the same process publishes the shipped model there.
      sup.start({ name: 'golden', args: ['--config', config, 'golden'] });
      for (const r of topology.regions) {
        // A cell is ready when it says so over IPC: it answers mTLS peers of the trust domain only.
        sup.start({ name: r.id, args: ['--config', config, 'cell', '--region', r.id] });
      }
      sup.start({ name: 'gateway', args: ['--config', config, 'gateway'], readyUrl: `${gatewayUrl}/v2/health/ready` });
      try {
        await sup.waitReady(READY_TIMEOUT_MS, (name, ms) => {
          const r = topology.region(name);
          const what = r ? `${r.url}  (${r.jurisdiction}, ${r.country}${topology.data.mesh.mode === 'mtls' ? ', mTLS only' : ''})` : name === 'golden' ? 'model registry' : gatewayUrl;
          console.log(`  ready  ${name.padEnd(14)} ${what}  after ${(ms / 1000).toFixed(1)} s`);
        });
      } catch (err) {
        console.error(`sovereign up: ${(err as Error).message}`);
        await sup.stop();
        process.exit(1);
      }
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`
Sovereign is up: ${topology.regions.length} regions and the gateway, ready in ${secs} s.

  gateway   ${gatewayUrl}   (OpenAI-compatible /v1, Open Inference Protocol /v2)
  regions   ${gatewayUrl}/sovereign/regions
  metrics   ${gatewayUrl}/metrics
  console   ${gatewayUrl}/sovereign/console   (token: ${path.join(topology.gatewayDataDir(), 'console-token')} read-only, admin-token to act)
  logs      ${path.join(topology.dataDir, 'logs')}

Try it (an EU user; use AE or SG for the other regions, US gets 451):
  curl -s ${gatewayUrl}/v1/chat/completions -H 'content-type: application/json' \\
    -H 'x-sovereign-jurisdiction: DE' \\
    -d '{"model":"text-analysis","messages":[{"role":"user","content":"I love the new train to Paris."}]}'

Ctrl-C stops everything.`);
    });
}
