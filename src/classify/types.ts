// Public vocabulary of the classifier: data classes and detection types.

import { DATA_CLASSES, type DataClass } from '../common/data-class.ts';

/** Data classes in ascending order of sensitivity (defined once, in src/common). */
export { DATA_CLASSES, type DataClass };

export type PersonalType =
  | 'EMAIL'
  | 'PHONE'
  | 'CREDIT_CARD'
  | 'IBAN'
  | 'US_SSN'
  | 'UK_NINO'
  | 'UK_NHS'
  | 'SG_NRIC_FIN'
  | 'AE_EMIRATES_ID'
  | 'IP_ADDRESS'
  | 'PERSON'
  | 'DATE_OF_BIRTH'
  | 'ADDRESS'
  | 'PASSPORT'
  | 'DE_TAX_ID'
  | 'DE_ID_CARD'
  | 'FR_NIR'
  | 'ES_DNI'
  | 'IT_FISCAL_CODE'
  | 'SG_UEN'
  | 'UNINSPECTABLE';

/** GDPR Art. 9(1) special categories of personal data. */
export type SpecialType =
  | 'HEALTH'
  | 'RELIGION'
  | 'ETHNICITY'
  | 'POLITICAL'
  | 'SEXUAL_ORIENTATION'
  | 'TRADE_UNION'
  | 'BIOMETRIC'
  | 'GENETIC';

export type DetectionType = PersonalType | SpecialType;

export const PERSONAL_TYPES: readonly PersonalType[] = Object.freeze([
  'EMAIL', 'PHONE', 'CREDIT_CARD', 'IBAN', 'US_SSN', 'UK_NINO', 'UK_NHS', 'SG_NRIC_FIN',
  'AE_EMIRATES_ID', 'IP_ADDRESS', 'PERSON', 'DATE_OF_BIRTH', 'ADDRESS', 'PASSPORT', 'DE_TAX_ID', 'DE_ID_CARD',
  'FR_NIR', 'ES_DNI', 'IT_FISCAL_CODE', 'SG_UEN', 'UNINSPECTABLE',
] as const);

export const SPECIAL_TYPES: readonly SpecialType[] = Object.freeze([
  'HEALTH', 'RELIGION', 'ETHNICITY', 'POLITICAL', 'SEXUAL_ORIENTATION', 'TRADE_UNION', 'BIOMETRIC',
  'GENETIC',
] as const);

export const DETECTION_TYPES: readonly DetectionType[] = Object.freeze([...PERSONAL_TYPES, ...SPECIAL_TYPES]);

export const SPECIAL_CATEGORIES: ReadonlySet<DetectionType> = new Set<DetectionType>(SPECIAL_TYPES);

/** A detected span. Offsets are UTF-16 code units into the classified text; the value is never kept. */
export interface Detection {
  /** A DetectionType, or the type name of an operator's custom pattern. */
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- documents the built-in names
  type: DetectionType | string;
  start: number;
  end: number;
  /**
   * For special categories only: the mention is negated ("no history of diabetes") or
   * hypothetical ("if the biopsy is positive"). It still counts for the class.
   */
  context?: 'negated' | 'hypothetical';
}

export interface Classification {
  class: DataClass;
  detections: Detection[];
  /** Number of detections per type. */
  counts: Record<string, number>;
}

const RANK = Object.freeze(Object.fromEntries(DATA_CLASSES.map((c, i) => [c, i]))) as Readonly<Record<DataClass, number>>;

export function rankOf(c: DataClass): number {
  return RANK[c];
}

/** Parses a data class name case-insensitively (surrounding whitespace ignored). */
export function parseDataClass(value: string): DataClass | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  return Object.hasOwn(RANK, v) ? (v as DataClass) : undefined;
}

/** The more sensitive of two classes. */
export function maxClass(a: DataClass, b: DataClass): DataClass {
  return RANK[a] >= RANK[b] ? a : b;
}
