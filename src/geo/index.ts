// geo: client address (socket peer + trusted-proxy X-Forwarded-For) → country (MaxMind DB)
// → jurisdiction (topology). The gateway calls both per request; each is microseconds.
import path from 'node:path';
import type { Topology } from '../config/index.ts';
import { openGeo, type Geo, type GeoOptions } from './geo.ts';

export { createClientAddressResolver, type ClientAddressResolver } from './client-address.ts';
export { openGeo, UNKNOWN_JURISDICTION, type Geo, type GeoOptions, type GeoReloadInfo, type GeoResult } from './geo.ts';
export { DEFAULT_GEO_DATABASE, type DatabaseInfo } from './database.ts';
export { GeoError, type GeoErrorCode } from './errors.ts';
export { parseIp, type ParsedIp } from './address.ts';
export { SPECIAL_RANGES_V4, SPECIAL_RANGES_V6, isSpecialAddress, type SpecialRange } from './special-ranges.ts';

/**
 * The database file a topology names: geo.database relative to the config file's directory
 * (the working directory for an inline topology), or undefined for the shipped database.
 */
export function databasePathOf(topology: Pick<Topology, 'file' | 'data'>): string | undefined {
  const db = topology.data.geo.database;
  if (db === undefined) return undefined;
  const base = topology.file === '<inline>' ? process.cwd() : path.dirname(topology.file);
  return path.resolve(base, db);
}

/** openGeo with the database and jurisdictions of a topology. */
export function openGeoForTopology(
  topology: Pick<Topology, 'file' | 'data' | 'jurisdictionOfCountry'>,
  opts: Omit<GeoOptions, 'database' | 'jurisdictionOfCountry'> = {},
): Promise<Geo> {
  return openGeo({ ...opts, database: databasePathOf(topology), jurisdictionOfCountry: (cc) => topology.jurisdictionOfCountry(cc) });
}
