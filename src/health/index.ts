export { HealthMonitor, OUTLIER_DEFAULTS, unservedModels, type HealthMonitorOptions, type HealthTarget, type RegionHealth } from './monitor.ts';
export {
  EMPTY_STATE,
  FileRegionStateStore,
  RegionStateSchema,
  SuspensionSchema,
  isSuspendedFor,
  resume,
  suspend,
  type RegionState,
  type RegionStateStore,
  type Suspension,
} from './region-state.ts';
export { PgRegionStateStore, type PgRegionStateOptions } from './pg-region-state.ts';
