// The gateway on several cores: a primary (primary.ts) that owns what its workers share, and
// each worker's link to it (worker.ts), over the messages of messages.ts.
export { startGatewayPrimary, type PrimaryOptions, type RunningPrimary } from './primary.ts';
export { WorkerLink } from './worker.ts';
export { WORKER_SLOT_ENV, workerReplica } from './messages.ts';
export { AckBook } from './ack-book.ts';
