// The compliance report document (JSON), validated by schema when read back for verification.
import { z } from 'zod';
import { EntrySchema } from '../ledger/index.ts';
import type { Cited, Figure, IndexRange, Period } from './figures.ts';

export const REPORT_FORMAT = 'sovereign-compliance-report/v1';

export interface RegionReport {
  region: string;
  /** The log's origin (its checkpoints' first line); the verifier's --key must be for it. */
  origin: string;
  /** The log key the gateway served when the report was made (informative: verify with a key obtained out of band). */
  served_key: string;
  /** The archived signed checkpoint in force when the period began (null: the empty tree, size 0). */
  checkpoint_start: { size: number; note: string | null };
  /** The latest signed checkpoint, with witness cosignatures, when the report was made. */
  checkpoint_end: { size: number; note: string | null };
  /** Names of the witnesses whose cosignatures on the end checkpoint verified when the report was made. */
  cosigned_by: string[];
  /** RFC 9162, Section 2.1.4 consistency proof from checkpoint_start to checkpoint_end (base64 hashes). */
  consistency: string[];
  entries: number;
  indexes: IndexRange | null;
  interleaved: number;
  figures: Figure[];
  cited: Cited[];
}

export interface Report {
  format: typeof REPORT_FORMAT;
  generated_at: string;
  period: Period;
  /** Gateway whose public ledger paths served the logs. */
  source: string;
  regions: RegionReport[];
}

const range = z.strictObject({ first: z.number().int().nonnegative(), last: z.number().int().nonnegative() });
const checkpointRef = z.strictObject({ size: z.number().int().nonnegative(), note: z.string().nullable() });

export const ReportSchema = z.strictObject({
  format: z.literal(REPORT_FORMAT),
  generated_at: z.string(),
  period: z.strictObject({ from: z.iso.datetime(), to: z.iso.datetime() }),
  source: z.string(),
  regions: z.array(
    z.strictObject({
      region: z.string(),
      origin: z.string(),
      served_key: z.string(),
      checkpoint_start: checkpointRef,
      checkpoint_end: checkpointRef,
      cosigned_by: z.array(z.string()),
      consistency: z.array(z.string()),
      entries: z.number().int().nonnegative(),
      indexes: range.nullable(),
      interleaved: z.number().int().nonnegative(),
      figures: z.array(
        z.strictObject({
          id: z.string(),
          section: z.enum(['requests', 'transfers_out', 'transfers_in', 'denials', 'unavailable', 'failovers', 'models', 'triggers']),
          dims: z.record(z.string(), z.string()),
          count: z.number().int().nonnegative(),
          indexes: range,
        }),
      ),
      cited: z.array(z.strictObject({ kind: z.enum(['trigger', 'denial', 'arrival']), index: z.number().int().nonnegative(), entry: EntrySchema, proof: z.string() })),
    }),
  ),
});

/** Parses a report file's text; the error names the first field at fault. */
export function parseReport(text: string, file: string): Report {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON (${(err as Error).message}); verify takes the .json form of a report`);
  }
  const parsed = ReportSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`${file} is not a Sovereign compliance report: ${first ? `${first.path.join('.') || '(document)'}: ${first.message}` : 'schema mismatch'}`);
  }
  return parsed.data;
}
