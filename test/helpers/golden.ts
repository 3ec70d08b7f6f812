// Cells load their model only from their region's registry, which is filled by promotion from
// golden. Tests that start a cell in-process (not through `sovereign up`) run golden beside it
// the same way: publish the shipped model and promote it wherever the policies allow.
import { pino } from 'pino';
import { bootstrapShippedModel } from '../../src/cli/model-bootstrap.ts';
import type { Topology } from '../../src/config/index.ts';
import { startGolden } from '../../src/registry/index.ts';

/** Starts golden for `topology` (free port) and orders the shipped model to its regions; close() stops it. */
export async function withShippedModel(topology: Topology): Promise<{ close(): Promise<void> }> {
  const logger = pino({ level: 'silent' });
  const golden = await startGolden({ topology, logger, port: 0 });
  await bootstrapShippedModel(topology, golden, logger);
  return { close: () => golden.close() };
}
