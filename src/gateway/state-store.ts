// The region state store of a gateway: its data directory (one gateway) or PostgreSQL (several
// replicas, on one machine or many).
import { hostname } from 'node:os';
import type { Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { FileRegionStateStore, PgRegionStateStore, type RegionStateStore } from '../health/index.ts';

export async function openStateStore(topology: Topology, logger: Logger, replica?: string): Promise<RegionStateStore> {
  const st = topology.data.state;
  if (st.backend === 'file') return new FileRegionStateStore(topology.gatewayDataDir());
  const url = process.env[st.postgresUrlEnv];
  if (!url) throw new Error(`state.backend is postgres but ${st.postgresUrlEnv} is not set; export the connection string in that variable`);
  // Rows are per process, so two replicas that share a name still acknowledge separately.
  return PgRegionStateStore.open({ connectionString: url, cluster: st.cluster, replica: `${replica ?? 'gateway'}@${hostname()}/${process.pid}`, onError: (err) => logger.error({ err: err.message }, 'region state store') });
}
