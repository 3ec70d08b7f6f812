// The admin token guards the admin API. It comes from the environment variable named in the
// topology (gateway.adminTokenEnv) or, failing that, from <gateway data dir>/admin-token,
// generated on first start with mode 0600. It is never logged.
import path from 'node:path';
import { loadToken } from '../common/index.ts';
import type { Topology } from '../config/index.ts';

export function adminTokenFile(topology: Topology): string {
  return path.join(topology.gatewayDataDir(), 'admin-token');
}

/** Reads (or, when `create`, generates) the admin token. */
export function adminToken(topology: Topology, create: boolean): string | undefined {
  return loadToken(adminTokenFile(topology), topology.data.gateway.adminTokenEnv, create);
}
