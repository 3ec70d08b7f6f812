// The gateway -> cell ledger append exchange (POST /sovereign/ledger/append): one type for both
// sides of the wire. A request carries one record or a batch of up to MAX_APPEND_BATCH; a batch
// is answered record by record, in order.
import { z } from 'zod';

/** Records in one batched append, at most: the cell refuses a larger batch whole. */
export const MAX_APPEND_BATCH = 256;

/**
 * An entry as it arrives: any JSON object. What it may hold is the ledger's entry schema's
 * business (src/ledger/entries.ts), which every append runs before anything is written; checking
 * the members here too (z.record copies every one) would validate each record twice.
 */
const entryObject = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected a JSON object');

export const AppendRecordSchema = z.strictObject({
  /** The entry without request_hash; the region keys the hash with its own secret. */
  entry: entryObject,
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

// One hop: a forwarded request carries its own decision record in a header, so the gateway
// sends the cell one exchange per request. The header keeps the payload bytes as they are and
// lets the cell check body_sha256 against the bytes it received before it records anything.

/** Request header: the decision record of the request it travels with (base64url of the JSON of an {@link AppendRecord}). */
export const RECORD_HEADER = 'x-sovereign-record';
/** Response header: the receipt "<origin> <index>" of the record in the serving region's log. */
export const RECEIPT_HEADER = 'x-sovereign-ledger';
/** Response header on a refusal of the record itself: why ("unavailable": the log cannot write; "invalid": the record is refused for good). */
export const RECORD_REFUSED_HEADER = 'x-sovereign-record-refused';

/**
 * Response header on a cell's refusal before the record that another permitted region may not
 * give: `busy` (429, the inference queue is full) or `no_model` (404, the model is not served
 * here). The gateway tries the next permitted region, without a health penalty.
 */
export const CELL_REFUSED_HEADER = 'x-sovereign-cell-refused';

/** A record that travels with its request: a decision, with the digest of the body it decides. */
export const ForwardRecordSchema = z.strictObject({
  // Validated once, by the ledger's schema when the cell appends it (a bad entry: 400, nothing written).
  entry: entryObject.refine((e) => e.kind === 'decision', 'only a decision entry travels with a request'),
  body_sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ForwardRecord = z.infer<typeof ForwardRecordSchema>;

/** The header value for `r`. */
export function encodeRecord(r: ForwardRecord): string {
  return Buffer.from(JSON.stringify(r)).toString('base64url');
}

/** The record in a header value, or an error message naming what is wrong with it. */
export function decodeRecord(value: string): { ok: true; record: ForwardRecord } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, error: `${RECORD_HEADER}: not base64url-encoded JSON` };
  }
  const parsed = ForwardRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${RECORD_HEADER}: ${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, record: parsed.data };
}

export function formatReceipt(r: Receipt): string {
  return `${r.origin} ${r.index}`;
}
