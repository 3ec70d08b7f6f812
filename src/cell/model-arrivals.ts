// A model arriving in a region is an entry in that region's ledger (kind "model", event
// "arrival"): recorded before its release becomes visible in the region's registry (so before
// the cell can first serve that (name, digest)). A marker file in the
// region's data directory remembers the receipt; a crash between the append and the marker
// records the arrival again on the next start, so an auditor may see an arrival twice, never
// not at all. Only models with an OCI content digest (sha256:...) are recorded: a model behind an
// upstream server is not pulled by Sovereign and has no digest of ours to attest.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { ModelInfo } from './runtime.ts';

/** A model arriving: from the registry (a release, with its version and golden's region) or found at start. */
export type Arrival = Pick<ModelInfo, 'name' | 'digest'> & { version?: string; from?: string };

/** Appends an arrival entry for every model not recorded yet; throws if the ledger cannot record it (the cell must not serve it unrecorded). */
export async function recordModelArrivals(ledger: Ledger, region: string, models: readonly Arrival[], markerDir: string, logger: Logger): Promise<void> {
  mkdirSync(markerDir, { recursive: true, mode: 0o700 });
  for (const m of models) {
    if (!m.digest.startsWith('sha256:')) continue;
    const marker = path.join(markerDir, `${encodeURIComponent(m.name)}@${m.digest.slice('sha256:'.length)}`);
    if (existsSync(marker)) continue;
    const { index } = await ledger.append({
      v: 1,
      kind: 'model',
      time: new Date().toISOString(),
      event: 'arrival',
      name: m.name,
      digest: m.digest,
      region,
      ...(m.version !== undefined ? { version: m.version } : {}),
      ...(m.from !== undefined ? { from: m.from } : {}),
    });
    writeFileSync(marker, `${ledger.origin} ${index}\n`, { mode: 0o600 });
    logger.info({ model: m.name, digest: m.digest, index }, 'model arrival recorded in the ledger');
  }
}
