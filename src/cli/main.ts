// `sovereign <verb>`: a thin layer over the components.
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { register as registerClassify } from './classify.ts';
import { register as registerLedger } from './ledger.ts';
import { register as registerPolicy } from './policy.ts';
import { register as registerRegion } from './region.ts';
import { register as registerRoute } from './route.ts';
import { register as registerServe } from './serve.ts';
import { register as registerTenant } from './tenant.ts';
import { register as registerUp } from './up.ts';

const program = new Command('sovereign')
  .description('Jurisdiction-aware AI inference: serve each request only where the law allows, and prove it.')
  .option('-c, --config <file>', 'topology file (default: sovereign.yaml shipped with Sovereign)')
  .showHelpAfterError()
  .exitOverride();

registerUp(program);
registerServe(program);
registerRegion(program);
registerRoute(program);
registerPolicy(program);
registerClassify(program);
registerLedger(program);
registerTenant(program);

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
