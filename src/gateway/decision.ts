// The decision a gateway takes for one request, and how a denial is answered (RFC 7725).
import type { DataClass } from '../classify/index.ts';
import { HttpError } from '../common/index.ts';
import type { RoutingMode } from '../config/index.ts';
import type { AttemptOutcome } from '../ledger/index.ts';
import type { ApplicableJurisdiction } from './identify.ts';

export interface Attempt {
  region: string;
  outcome: AttemptOutcome;
  status?: number;
  ms: number;
}

export interface Decision {
  id: string;
  tenant: string | null;
  jurisdictions: ApplicableJurisdiction[];
  dataClass: DataClass;
  detectedTypes: string[];
  mode: RoutingMode;
  model: string;
  /** Every region the law permits for this request (tier one). */
  permitted: string[];
  /** Permitted regions that are healthy and serve the model, in the order to try (tier two). */
  candidates: string[];
  /** Human-readable reasons: the determining rules for allowed and denied regions. */
  rationale: string[];
  /** Where each jurisdiction came from, for explain. */
  clientAddress: string | null;
  /** The data subject (x-sovereign-subject, a pseudonymous id); null: the tenant itself. */
  subject: string | null;
  /** Days the serving region keeps the request's input and output (store.retention); 0: none. */
  retentionDays: number;
}

/**
 * Did the request fail over: did a region before this one get the request (or try to record
 * it) and fail? Regions skipped without being tried (suspended, unhealthy) do not count. The
 * one definition, for the ledger entry's outcome and for the request metric alike.
 */
export function failedOver(before: readonly Attempt[]): boolean {
  return before.some((a) => a.outcome !== 'skipped');
}

/** RFC 7725 §3: 451 Unavailable For Legal Reasons, with a body naming decision and rationale. */
export function jurisdictionDenied(d: Decision, message: string): HttpError {
  return new HttpError(
    451,
    'jurisdiction_denied',
    message,
    { decision_id: d.id, rationale: d.rationale, jurisdictions: d.jurisdictions, data_class: d.dataClass },
    { 'x-sovereign-decision-id': d.id, link: '</sovereign/explain>; rel="blocked-by"' },
  );
}

/**
 * 404 when every permitted region tried answered that it does not serve the model (none was
 * skipped: a skipped region might have served it, and that is a 503 to retry).
 */
export function modelNotServed(d: Decision, attempts: readonly Attempt[]): HttpError | null {
  if (attempts.length === 0 || !attempts.every((a) => a.outcome === 'no_model')) return null;
  return new HttpError(
    404,
    'not_found_error',
    `model "${d.model}" is not served in any permitted region: ${attempts.map((a) => a.region).join(', ')} answered that they do not serve it, though the topology names it there (see each cell's log); GET /v1/models lists the models`,
    { code: 'model_not_found', decision_id: d.id, permitted_regions: d.permitted, attempts },
    { 'x-sovereign-decision-id': d.id },
  );
}

export function regionsUnavailable(d: Decision, attempts: readonly Attempt[], message: string): HttpError {
  return new HttpError(
    503,
    'regions_unavailable',
    message,
    { decision_id: d.id, permitted_regions: d.permitted, attempts, rationale: d.rationale },
    { 'x-sovereign-decision-id': d.id, 'retry-after': '1' },
  );
}
