// The data classes, least to most sensitive. One definition for the classifier (which assigns
// them), the policy table (whose Cedar policies see `context.classRank`), the config (a tenant's
// declared class), and the ledger entry schema (which records them).

/** Data classes in ascending order of sensitivity: public < internal < personal < special. */
export const DATA_CLASSES = Object.freeze(['public', 'internal', 'personal', 'special'] as const);
export type DataClass = (typeof DATA_CLASSES)[number];

/** Rank of a data class (0 public … 3 special). */
export function classRank(c: DataClass): number {
  return DATA_CLASSES.indexOf(c);
}

export function isDataClass(value: unknown): value is DataClass {
  return typeof value === 'string' && (DATA_CLASSES as readonly string[]).includes(value);
}

/**
 * Name of a custom detector type (config `classify.patterns[].type`): upper case, as the
 * built-in types, and short enough for a ledger entry's `detected_types`.
 */
export const CUSTOM_TYPE_NAME = /^[A-Z][A-Z0-9_]{1,31}$/;
