// Public entry of the store: each region's own record of the requests it served (inputs and
// outputs, sealed per data subject), retention by rule, export and erasure.
import path from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { explainPgError, pgConnectionFromEnv, type PgTlsIdentity } from '../mesh/index.ts';
import type { StoreBackend } from './backend.ts';
import { loadKek } from './kek.ts';
import { PgBackend } from './postgres.ts';
import { RegionStore } from './region-store.ts';
import { SqliteBackend } from './sqlite.ts';

export { RegionStore, type ErasureResult, type StoreStatus } from './region-store.ts';
export { retentionDays, type ExportedRecord, type ServedRecord, type DataClassName } from './records.ts';
export { kekEnvName, KEK_FILE } from './kek.ts';
export { CHECKPOINT_INTERVAL_MS, SqliteBackend } from './sqlite.ts';
export { PgBackend } from './postgres.ts';
export type { StoreBackend, SweepResult } from './backend.ts';

/** The PostgreSQL schema of a region's store. */
export function storeSchema(topology: Topology, region: string): string {
  return `${topology.data.store.schemaPrefix}_${region.replace(/-/g, '_')}`;
}

/** The directory of a region's embedded store. */
export function storeDir(topology: Topology, region: string): string {
  return path.join(topology.regionDataDir(region), 'store');
}

export interface OpenRegionStoreOptions {
  /** Keyed hash of a subject id under the region's secret (the ledger's request-hash key). */
  subjectHash: (subject: string) => string;
  appendLedger: (entry: Record<string, unknown>) => Promise<string>;
  logger: Logger;
  registry: Registry;
  /** The process's mesh identity, for a PostgreSQL backend reached over TLS (src/mesh/pg-tls.ts). */
  identity?: PgTlsIdentity | null;
}

/** Opens `region`'s store as the topology configures it (the caller checks store.enabled). */
export async function openRegionStore(topology: Topology, region: string, o: OpenRegionStoreOptions): Promise<RegionStore> {
  const st = topology.data.store;
  const kek = loadKek(topology, region);
  let backend: StoreBackend;
  if (st.backend === 'postgres') {
    const c = pgConnectionFromEnv(topology, 'store', o.identity ?? null);
    if (!c) throw new Error(`store.backend is postgres but ${st.postgresUrlEnv} is not set; export the connection string in that variable`);
    try {
      backend = await PgBackend.open({ connectionString: c.connectionString, ssl: c.ssl, schema: storeSchema(topology, region) }, (err) => o.logger.error({ err: err.message }, 'store database connection error'));
    } catch (err) {
      throw explainPgError(err, c);
    }
  } else {
    backend = new SqliteBackend(storeDir(topology, region), { onWarning: (msg) => o.logger.warn(msg) });
  }
  try {
    return await RegionStore.open({
      region,
      backend,
      kek,
      subjectHash: o.subjectHash,
      appendLedger: o.appendLedger,
      logger: o.logger,
      registry: o.registry,
      flushIntervalMs: st.flushIntervalMs,
      sweepIntervalMs: st.sweepIntervalMs,
      maxQueued: st.maxQueued,
    });
  } catch (err) {
    await backend.close();
    throw err;
  }
}
