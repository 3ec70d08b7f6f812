/** Counters of the work done, for benchmarks and metrics (see Ledger.stats). */
export interface LedgerStats {
  /** Entries made durable. */
  appends: number;
  /** Synchronous journal writes (one per group-committed batch): the WAL's fsyncs, or PostgreSQL transactions. */
  walSyncs: number;
  /** Background zero-fill writes that preallocate WAL segments (synchronous too). */
  walPreallocs: number;
  /** WAL segments opened. */
  walRotations: number;
  /** Files (tiles, bundles, checkpoints) and directories fsync'ed by integration and signing. */
  fileSyncs: number;
  /** Checkpoints signed. */
  checkpoints: number;
}

export function newStats(): LedgerStats {
  return { appends: 0, walSyncs: 0, walPreallocs: 0, walRotations: 0, fileSyncs: 0, checkpoints: 0 };
}
