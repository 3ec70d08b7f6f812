// The one free-port helper lives with the other process helpers (bench/lib/procs.ts).
export { freePort } from '../../bench/lib/procs.ts';
