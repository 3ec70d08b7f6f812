// Public entry of the ledger component: a C2SP tlog-tiles transparency log per region.
export { Ledger, openLedger, hasLedger, type LedgerOptions, type LedgerStats, type PgBackendOptions, type StaticResource } from './log.ts';
export { LedgerError, type LedgerErrorCode } from './errors.ts';
export {
  EntrySchema,
  DecisionEntrySchema,
  TriggerEntrySchema,
  ModelEntrySchema,
  ModelArrivalEntrySchema,
  ModelTransferEntrySchema,
  ModelDeletionEntrySchema,
  serializeEntry,
  parseEntry,
  type LedgerEntry,
  type DecisionEntry,
  type TriggerEntry,
  type ModelEntry,
} from './entries.ts';
export { verifyProof, formatTlogProof, parseTlogProof, type VerifierKeys, type VerifiedProof } from './tlogproof.ts';
export { verifyLog, dirFetcher, httpFetcher, type VerifyOptions, type VerifyResult, type Fetcher } from './verify.ts';
export { createWitness, anchored, type Witness, type WitnessOptions } from './witness.ts';
export { formatCheckpoint, parseCheckpoint, openCheckpoint, type Checkpoint } from './checkpoint.ts';
export { parseVkey, formatVkey } from './note.ts';
export { writeDurable, commitDurable, fsyncDir } from './fsutil.ts';
