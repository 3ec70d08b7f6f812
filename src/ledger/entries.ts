// Ledger entry kinds, validated at the edge and serialized as RFC 8785 canonical JSON.
// Every object is strict: a field not in the schema is rejected, so no personal data can be
// smuggled in next to the hashes, ids, regions, policy ids and digests the ledger is meant to hold.
import { z } from 'zod';
import { DATA_CLASSES } from '../common/data-class.ts';
import { MAX_ENTRY_JURISDICTIONS } from '../common/jurisdictions.ts';
import { LedgerError } from './errors.ts';
import { MAX_ENTRY_BYTES } from './tiles.ts';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/, 'expected an identifier');
const time = z.iso.datetime({ offset: false });
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits (an HMAC-SHA-256)');
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected an OCI digest sha256:<64 hex>');
const jurisdiction = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'expected a jurisdiction name or country code');
/** One line of text, no control characters: reasons and references of legal triggers. */
const line = (max: number) => z.string().regex(new RegExp(`^[^\\u0000-\\u001f\\u007f]{1,${max}}$`), `expected one line of at most ${max} characters`);

export const DataClassSchema = z.enum(DATA_CLASSES);
export const RoutingModeSchema = z.enum(['legal-first', 'performance-first', 'hybrid']);
/** Legal mechanisms for a cross-border transfer (topology `transfers`), or none needed. */
export const TransferMechanismSchema = z.enum(['adequacy', 'scc', 'contract', 'none']);
export const OutcomeSchema = z.enum(['routed', 'denied', 'failed_over', 'unavailable', 'transfer']);
/**
 * What became of one attempt at a region, in the order tried. `busy`: the region's inference
 * queue was full; `no_model`: the region's runtime does not serve the model the topology names
 * there; neither region processed anything. The one list, for the gateway's
 * attempts and the entries that carry them.
 */
export const ATTEMPT_OUTCOMES = ['ok', 'connect_error', 'reset', 'timeout', 'http_5xx', 'client_error', 'skipped', 'ledger_unavailable', 'busy', 'no_model'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** A routing decision: who (tenant id), under which law, which class, where it went. */
export const DecisionEntrySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('decision'),
  time,
  decision_id: id,
  request_hash: hex64,
  tenant: id,
  jurisdictions: z
    .array(
      z.strictObject({
        jurisdiction,
        source: z.enum(['declared', 'geoip', 'tenant']),
        /** For a subject of another jurisdiction than the region's: the transfer mechanism the region holds for it ('none': none needed, e.g. public data). */
        mechanism: TransferMechanismSchema.optional(),
      }),
    )
    .max(MAX_ENTRY_JURISDICTIONS),
  data_class: DataClassSchema,
  detected_types: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'expected a detector type name')).max(64),
  region: id.nullable(),
  mode: RoutingModeSchema,
  outcome: OutcomeSchema,
  attempts: z.array(z.strictObject({ region: id, outcome: z.enum(ATTEMPT_OUTCOMES) })).max(32),
  policy_ids: z.array(id).max(64),
  model: id,
  model_digest: digest.nullable(),
  /**
   * Days the serving region keeps the request's input and output in its store; 0: nothing is
   * stored (zero data retention). Absent in entries written before regions kept a store.
   */
  retention_days: z.number().int().min(0).max(36_500).optional(),
});

/** A legal trigger: processing in a region suspended or resumed for some jurisdictions. */
export const TriggerEntrySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('trigger'),
  time,
  action: z.enum(['suspend', 'resume']),
  region: id,
  jurisdictions: z.array(jurisdiction).max(64),
  /** Why, in the operator's words (no personal data: the CLI and docs say so). */
  reason: line(200),
  /** Reference of the order or authority. */
  ref: line(128),
});

/** A model artifact arriving in a region's registry (recorded in that region's ledger). */
export const ModelArrivalEntrySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('model'),
  time,
  event: z.literal('arrival'),
  name: id,
  digest,
  region: id,
  /** The release's version tag. */
  version: id.optional(),
  /** The region whose ledger recorded its transfer out of golden. */
  from: id.optional(),
});

/** A model artifact leaving golden for a region (recorded in the ledger of golden's region). */
export const ModelTransferEntrySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('model'),
  time,
  event: z.literal('transfer'),
  name: id,
  version: id,
  digest,
  /** This ledger's region (where golden is). */
  region: id,
  /** The destination region. */
  to: id,
  /** The promotion policies that permitted it. */
  policy_ids: z.array(id).max(64),
});

/** A model version deleted from a region's registry (its blobs are then collected). */
export const ModelDeletionEntrySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('model'),
  time,
  event: z.literal('deletion'),
  name: id,
  version: id,
  digest,
  region: id,
  /** Bytes of blobs no longer referenced, removed with it. */
  collected_bytes: z.number().int().nonnegative(),
});

export const ModelEntrySchema = z.discriminatedUnion('event', [ModelArrivalEntrySchema, ModelTransferEntrySchema, ModelDeletionEntrySchema]);

/**
 * A data subject's data erased in a region (crypto-shredding: the subject's data keys destroyed).
 * The subject appears only as the region's keyed hash of its id, never the id itself.
 */
export const ErasureEntrySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('erasure'),
  time,
  region: id,
  /** The tenant whose subject it is; null: the subject under every tenant. */
  tenant: id.nullable(),
  subject_hash: hex64,
  /** Data keys destroyed and records made unreadable by this erasure. */
  keys: z.number().int().min(0),
  records: z.number().int().min(0),
  /** When the erasure was asked (it may reach a region that was down later). */
  requested: time,
});

export const EntrySchema = z.discriminatedUnion('kind', [DecisionEntrySchema, TriggerEntrySchema, ModelEntrySchema, ErasureEntrySchema]);

export type DecisionEntry = z.infer<typeof DecisionEntrySchema>;
export type TriggerEntry = z.infer<typeof TriggerEntrySchema>;
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type ErasureEntry = z.infer<typeof ErasureEntrySchema>;
export type LedgerEntry = z.infer<typeof EntrySchema>;

/**
 * RFC 8785 (JCS) serialization of schema-validated data (plain objects, arrays, strings, finite
 * numbers, booleans, null). Section 3.2.2: strings and numbers are serialized as ECMAScript's
 * JSON.stringify does; lone surrogates are errors. Section 3.2.3: object members sorted by
 * their names' UTF-16 code units (the default Array.prototype.sort order). Same output as the
 * `canonicalize` package (see test/ledger/format.test.ts), several times faster: this runs once
 * per append.
 */
export function canonicalJson(v: unknown): string {
  switch (typeof v) {
    case 'string':
      if (!v.isWellFormed()) throw new Error('lone surrogate in a string');
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new Error(`${v} is not allowed`);
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(v[i] === undefined ? null : v[i]);
        return `${out}]`;
      }
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const x = o[k];
        if (x === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(x)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new Error(`a ${typeof v} is not JSON`);
  }
}

/** A copy of `o` whose members were inserted in `order` (which JSON.stringify then follows). */
function inOrder(o: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

// Member names of a decision's objects, sorted as RFC 8785, Section 3.2.3 sorts them.
const DECISION_ORDER = Object.keys(DecisionEntrySchema.shape).sort();
const JURISDICTION_ORDER = Object.keys(DecisionEntrySchema.shape.jurisdictions.element.shape).sort();
const ATTEMPT_ORDER = Object.keys(DecisionEntrySchema.shape.attempts.element.shape).sort();

/**
 * RFC 8785 JSON of a validated decision (one per request: the hot path), made natively by
 * JSON.stringify of copies whose members were inserted in JCS order (about 3x faster than
 * canonicalJson). Exactly JCS because the schema is strict (no member outside these lists) and
 * admits only ASCII strings without control characters, which JSON.stringify and JCS write
 * alike; test/ledger/format.test.ts checks it against the canonicalize package.
 */
function decisionJson(d: DecisionEntry): string {
  const o = inOrder(d, DECISION_ORDER);
  o.jurisdictions = d.jurisdictions.map((j) => inOrder(j, JURISDICTION_ORDER));
  o.attempts = d.attempts.map((a) => inOrder(a, ATTEMPT_ORDER));
  return JSON.stringify(o);
}

/** Validates an entry and returns its RFC 8785 canonical JSON bytes (what the log stores). */
export function serializeEntry(entry: unknown): Buffer {
  const parsed = EntrySchema.safeParse(entry);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first === undefined ? '' : `${first.path.join('.') || '(entry)'}: ${first.message}`;
    throw new LedgerError('SOVEREIGN_LEDGER_BAD_ENTRY', `ledger entry rejected: ${where}`);
  }
  let json: string;
  try {
    json = parsed.data.kind === 'decision' ? decisionJson(parsed.data) : canonicalJson(parsed.data);
  } catch (err) {
    throw new LedgerError('SOVEREIGN_LEDGER_BAD_ENTRY', `ledger entry is not serializable: ${(err as Error).message}`);
  }
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length > MAX_ENTRY_BYTES) throw new LedgerError('SOVEREIGN_LEDGER_BAD_ENTRY', `ledger entry is ${bytes.length} bytes, over ${MAX_ENTRY_BYTES}`);
  return bytes;
}

/** Parses stored entry bytes back into a validated entry; throws if they are not a valid entry. */
export function parseEntry(bytes: Uint8Array): LedgerEntry {
  const parsed = EntrySchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  if (!parsed.success) throw new LedgerError('SOVEREIGN_LEDGER_BAD_ENTRY', 'stored entry does not match the entry schema');
  return parsed.data;
}
