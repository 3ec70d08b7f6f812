// `sovereign <verb>`: a thin layer over the components.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';

type Register = (program: Command) => void;

// Each verb's module is loaded only when that verb runs, so a cell does not pay for the
// policy engine's WebAssembly or the gateway's parts at start-up; help loads them all.
const VERBS: Record<string, string> = {
  up: './up.ts',
  cell: './serve.ts',
  gateway: './serve.ts',
  region: './region.ts',
  route: './route.ts',
  policy: './policy.ts',
  classify: './classify.ts',
  ledger: './ledger.ts',
  tenant: './tenant.ts',
  deploy: './deploy.ts',
  model: './model.ts',
  golden: './model.ts',
  data: './data.ts',
  mesh: './mesh.ts',
  report: './report.ts',
};

/** The verb on the command line: the first argument that is not a global option or its value. */
function verbOf(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-c' || a === '--config') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

const program = new Command('sovereign')
  .description('Jurisdiction-aware AI inference: serve each request only where the law allows, and prove it.')
  .option('-c, --config <file>', 'topology file (default: sovereign.yaml shipped with Sovereign)')
  .showHelpAfterError()
  .exitOverride();

const verb = verbOf(process.argv);
const only = verb !== undefined ? VERBS[verb] : undefined;
const modules = only ? [only] : [...new Set(Object.values(VERBS))];
for (const m of await Promise.all(modules.map((file) => import(file) as Promise<{ register: Register }>))) m.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(`sovereign: ${(err as Error).message}`);
  process.exit(1);
}
