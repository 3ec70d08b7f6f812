// Jurisdiction names the configuration may not use, because the policy engine gives them a
// meaning of its own, and the bounds on what a request may say about its subjects'
// jurisdictions (a decision entry holds at most MAX_ENTRY_JURISDICTIONS).

/** Subjects whose address has no known country. */
export const UNKNOWN_JURISDICTION = 'unknown';
/** Subjects of a country outside every configured jurisdiction (e.g. 'US' when only EU/AE/SG are configured). */
export const THIRD_COUNTRY = 'third_country';
/** Names reserved by the policy engine (no configured jurisdiction may take one, in any case). */
export const RESERVED_JURISDICTIONS: readonly string[] = Object.freeze([UNKNOWN_JURISDICTION, THIRD_COUNTRY]);

/** A configured jurisdiction's name: letters, digits, "_" or "-", at most 32 characters. */
export const JURISDICTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/** Applicable jurisdictions one decision entry records at most (ledger schema v1). */
export const MAX_ENTRY_JURISDICTIONS = 16;
/**
 * Values a request may declare in x-sovereign-jurisdiction: with the tenant's and the geo-IP
 * jurisdiction, the decision still fits in one ledger entry.
 */
export const MAX_DECLARED_JURISDICTIONS = MAX_ENTRY_JURISDICTIONS - 2;
