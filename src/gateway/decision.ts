// The decision a gateway takes for one request, and how a denial is answered (RFC 7725).
import type { DataClass } from '../classify/index.ts';
import { HttpError } from '../common/index.ts';
import type { RoutingMode } from '../config/index.ts';
import type { ApplicableJurisdiction } from './identify.ts';

export interface Attempt {
  region: string;
  outcome: 'ok' | 'connect_error' | 'reset' | 'timeout' | 'http_5xx' | 'client_error' | 'skipped' | 'ledger_unavailable' | 'busy';
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

export function regionsUnavailable(d: Decision, attempts: readonly Attempt[], message: string): HttpError {
  return new HttpError(
    503,
    'regions_unavailable',
    message,
    { decision_id: d.id, permitted_regions: d.permitted, attempts, rationale: d.rationale },
    { 'x-sovereign-decision-id': d.id, 'retry-after': '1' },
  );
}
