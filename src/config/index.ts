export { ConfigError } from './errors.ts';
export { DEFAULT_CONFIG_PATH, loadTopology, parseTopology, topologyFrom } from './load.ts';
export { Topology, type JurisdictionLookup } from './topology.ts';
export { isCountryCode } from './iso3166.ts';
export type { ConfigData, ConfigInput, RegionConfig, RoutingMode, RuntimeConfig, TenantConfig } from './schema.ts';
