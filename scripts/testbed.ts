// `npm run testbed -- <command>`: Sovereign's regions, gateway and a client, each in its own
// Linux network namespace with real inter-region latency (see scripts/testbed/bed.ts). Root only.
import { capability, CLIENT_NS, defaultDir, down, heal, kill, measure, partition, readState, restartGateway, setRtt, up, type RoutingMode, type State } from './testbed/bed.ts';

const USAGE = `usage: npm run testbed -- <command>

  up [--mode legal-first|performance-first|hybrid]   build the test bed and start everything
  down                          stop every process (by pid) and remove the namespaces (also leftovers)
  partition <region>            drop all packets on the region's link
  heal <region>                 restore the region's link
  kill <region>                 SIGKILL the region's cell
  latency <region|client> <ms>  set the link's added round-trip time
  gateway <mode>                restart the gateway with routing.mode <mode>
  rtt                           measure round trips from the client namespace
  status                        show the state file
  check                         can this machine run the test bed?

State: ${defaultDir()}/state.json (SOVEREIGN_TESTBED_DIR moves it).`;

function usage(msg?: string): never {
  if (msg) console.error(`testbed: ${msg}\n`);
  console.error(USAGE);
  process.exit(2);
}

function arg(args: string[], i: number, what: string): string {
  const v = args[i];
  if (v === undefined) usage(`missing ${what}`);
  return v;
}

function mode(v: string): RoutingMode {
  if (v !== 'legal-first' && v !== 'performance-first' && v !== 'hybrid') usage(`unknown routing mode "${v}"`);
  return v;
}

function howTo(s: State): string {
  return [
    `gateway: ${s.gatewayUrl} (reachable from namespace ${CLIENT_NS}, the trusted proxy)`,
    'try (a German user: the public address travels only in X-Forwarded-For):',
    `  ip netns exec ${CLIENT_NS} curl -si ${s.gatewayUrl}/v1/chat/completions -H 'content-type: application/json' \\`,
    `    -H 'x-forwarded-for: 193.99.144.80' \\`,
    `    -d '{"model":"text-analysis","messages":[{"role":"user","content":"My name is Anna Schmidt."}]}'`,
    `  ip netns exec ${CLIENT_NS} curl -s ${s.gatewayUrl}/sovereign/regions`,
    `config ${s.configFile}; logs ${s.dir}/logs; stop with: npm run testbed -- down`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const cmd = args[0];
  switch (cmd) {
    case 'up': {
      const m = args[1] === '--mode' ? mode(arg(args, 2, 'mode')) : 'legal-first';
      const cap = capability();
      if (!cap.ok) {
        console.error(`testbed: cannot run here: ${cap.reason}`);
        process.exit(1);
      }
      let interrupted = false;
      process.once('SIGINT', () => {
        interrupted = true;
        console.error('testbed: interrupted; cleaning up');
        void down().finally(() => process.exit(130));
      });
      const s = await up({ mode: m });
      if (interrupted) return;
      for (const r of await measure()) console.log(`  rtt  ${r.link.padEnd(34)} configured ${String(r.configuredMs).padStart(4)} ms, measured ${r.samplesMs.map((x) => x.toFixed(1)).join(' ')} ms`);
      console.log(`\nSovereign test bed is up.\n${howTo(s)}`);
      return;
    }
    case 'down':
      await down();
      return;
    case 'partition':
      partition(arg(args, 1, 'region'));
      console.log(`testbed: ${args[1]} partitioned (all packets on its link dropped)`);
      return;
    case 'heal':
      heal(arg(args, 1, 'region'));
      console.log(`testbed: ${args[1]} healed`);
      return;
    case 'kill':
      kill(arg(args, 1, 'region'));
      console.log(`testbed: ${args[1]}'s cell killed (SIGKILL)`);
      return;
    case 'latency': {
      const ms = Number(arg(args, 2, 'round-trip time in ms'));
      setRtt(arg(args, 1, 'link'), ms);
      console.log(`testbed: ${args[1]} link round trip now ${ms} ms added`);
      return;
    }
    case 'gateway': {
      const s = await restartGateway(mode(arg(args, 1, 'mode')));
      console.log(`testbed: gateway restarted (${s.mode}, config ${s.gatewayConfigFile})`);
      return;
    }
    case 'rtt':
      for (const r of await measure(undefined, 10)) console.log(`${r.link.padEnd(34)} configured ${String(r.configuredMs).padStart(4)} ms, measured ${r.samplesMs.map((x) => x.toFixed(1)).join(' ')} ms`);
      return;
    case 'status': {
      const s = readState();
      console.log(s ? `${JSON.stringify(s, null, 2)}\n\n${howTo(s)}` : 'testbed: not up');
      return;
    }
    case 'check': {
      const cap = capability();
      console.log(`${cap.ok ? 'ok' : 'no'}: ${cap.reason}`);
      process.exit(cap.ok ? 0 : 1);
      break;
    }
    default:
      usage(cmd ? `unknown command "${cmd}"` : undefined);
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
