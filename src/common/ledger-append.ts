// The gateway -> cell ledger append exchange (POST /sovereign/ledger/append): one type for both
// sides of the wire. A request carries one record or a batch of up to MAX_APPEND_BATCH; a batch
// is answered record by record, in order.
import { z } from 'zod';

/** Records in one batched append, at most: the cell refuses a larger batch whole. */
export const MAX_APPEND_BATCH = 256;

export const AppendRecordSchema = z.strictObject({
  /** The entry without request_hash; the region keys the hash with its own secret. */
  entry: z.record(z.string(), z.unknown()),
  /** SHA-256 (hex) of the request body; stored only as HMAC-SHA-256 under the region's secret. */
  body_sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type AppendRecord = z.infer<typeof AppendRecordSchema>;

/** A batch of records, answered record by record. */
export const AppendBatchSchema = z.strictObject({ records: z.array(AppendRecordSchema).min(1).max(MAX_APPEND_BATCH) });

/** Where an entry landed: the log's origin and the entry's index. */
export interface Receipt {
  origin: string;
  index: number;
}

/** A record the cell refused: the error type and message of its HTTP error, and its status. */
export interface AppendRefusal {
  error: { type: string; message: string; status: number };
}

/** The answer to a batch: one result per record, in order. */
export interface AppendBatchResult {
  results: (Receipt | AppendRefusal)[];
}
