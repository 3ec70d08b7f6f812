// Vocabulary shared by the policy table and the router: data classes, the two reserved
// jurisdictions, region state and the references to policies that explain a decision.

// Data classes (Cedar policies see the rank as `context.classRank`) and the reserved
// jurisdictions are defined once, in src/common.
export { DATA_CLASSES, classRank, isDataClass, type DataClass } from '../common/data-class.ts';
export { UNKNOWN_JURISDICTION as UNKNOWN, THIRD_COUNTRY, RESERVED_JURISDICTIONS } from '../common/jurisdictions.ts';

/** Legal state of a region that can change at run time (legal triggers, operator action). */
export interface RegionState {
  /** Suspended for everyone: no request may go there. */
  suspended: boolean;
  /** Suspended for the subjects of these jurisdictions only (e.g. after a transfer mechanism was struck down). */
  suspendedFor: readonly string[];
}

export const ACTIVE: RegionState = Object.freeze({ suspended: false, suspendedFor: Object.freeze([]) });

/** A policy as named in explanations, ledger entries and 451 bodies. */
export interface PolicyRef {
  /** The policy's `@id` annotation (also its Cedar policy id). */
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  /** `@rationale`: why the rule exists, in words an operator or data subject can read. */
  readonly rationale: string;
  /** `@legal_ref`: the legal text the rule implements. */
  readonly legalRef: string;
}

/**
 * Why a cell of the table is what it is.
 * - `permit`: some permit applies and no forbid does (policies = the permits)
 * - `forbid`: a forbid applies (policies = the forbids)
 * - `default-deny`: no permit applies (policies empty)
 * - `error`: evaluation failed; fail closed (policies = the policies that errored, `errors` says how)
 * - `suspended`: the region is suspended for this jurisdiction and the policies did not forbid it; the engine does
 */
export type CellCause = 'permit' | 'forbid' | 'default-deny' | 'error' | 'suspended';

/** One (jurisdiction, data class, region) decision. Frozen; shared by every lookup. */
export interface TableCell {
  readonly allowed: boolean;
  readonly cause: CellCause;
  /** Determining policies, sorted by id. */
  readonly policies: readonly PolicyRef[];
  /** Evaluation or request errors (cause `error`), as Cedar reported them. */
  readonly errors: readonly string[];
}
