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
  ErasureEntrySchema,
  ATTEMPT_OUTCOMES,
  type AttemptOutcome,
  serializeEntry,
  parseEntry,
  type LedgerEntry,
  type DecisionEntry,
  type TriggerEntry,
  type ModelEntry,
  type ErasureEntry,
} from './entries.ts';
export { verifyProof, formatTlogProof, parseTlogProof, type VerifierKeys, type VerifiedProof } from './tlogproof.ts';
export { verifyLog, dirFetcher, httpFetcher, type VerifyOptions, type VerifyResult, type Fetcher } from './verify.ts';
export { createWitness, anchored, type Witness, type WitnessOptions } from './witness.ts';
export { formatCheckpoint, parseCheckpoint, openCheckpoint, type Checkpoint } from './checkpoint.ts';
export { parseVkey, formatVkey } from './note.ts';
export { parseTilePath } from './tiles.ts';
export { verifierKeyFromFile } from './keys.ts';
// What a report or an auditor needs to recompute a tree from served entry bundles.
export { TILE_WIDTH, TreeBuilder, bundlePath, decodeBundle } from './tiles.ts';
export { HASH_SIZE, hashLeaf, hashChildren, rangeHash, type SubtreeHashFn, inclusionProof, consistencyProof, verifyConsistency, verifyInclusion, EMPTY_ROOT } from './merkle.ts';
export { verifiedCosigners } from './tlogproof.ts';
export { parseNote } from './note.ts';
export { readOrCreate as readOrCreateSecret } from './keys.ts';
