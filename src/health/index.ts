export { HealthMonitor, type HealthMonitorOptions, type HealthTarget, type RegionHealth } from './monitor.ts';
