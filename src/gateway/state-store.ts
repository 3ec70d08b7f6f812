// The region state store of a gateway: its data directory (one gateway) or PostgreSQL (several
// replicas, on one machine or many).
import { hostname } from 'node:os';
import type { Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { FileRegionStateStore, PgRegionStateStore, type RegionStateStore } from '../health/index.ts';
import { explainPgError, pgConnectionFromEnv, type Mesh } from '../mesh/index.ts';

export async function openStateStore(topology: Topology, logger: Logger, mesh: Mesh, replica?: string): Promise<RegionStateStore> {
  const st = topology.data.state;
  if (st.backend === 'file') return new FileRegionStateStore(topology.gatewayDataDir());
  // TLS with this gateway's SVID when the connection string or mesh.postgres asks for it.
  const c = pgConnectionFromEnv(topology, 'state', mesh);
  if (!c) throw new Error(`state.backend is postgres but ${st.postgresUrlEnv} is not set; export the connection string in that variable`);
  // Rows are per process, so two replicas that share a name still acknowledge separately.
  return PgRegionStateStore.open({
    connectionString: c.connectionString,
    ssl: c.ssl,
    describeError: (err) => explainPgError(err, c),
    cluster: st.cluster,
    replica: `${replica ?? 'gateway'}@${hostname()}/${process.pid}`,
    onError: (err) => logger.error({ err: err.message }, 'region state store'),
  });
}
