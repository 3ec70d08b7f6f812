// Detection kinds of the built-in scanner and the priority that settles overlapping spans. A kind
// is an index into KIND_TYPES; the priority is a map by type, not a position in a list.

import type { DetectionType } from './types.ts';

/** Internal detection kinds; several may map to one public type (PERSON by a cue or by a name list). */
export const KIND_TYPES = [
  'IBAN', 'CREDIT_CARD', 'AE_EMIRATES_ID', 'UK_NHS', 'SG_NRIC_FIN', 'UK_NINO', 'US_SSN', 'EMAIL',
  'IP_ADDRESS', 'PHONE', 'PERSON', 'PERSON',
  'DE_TAX_ID', 'DE_ID_CARD', 'FR_NIR', 'ES_DNI', 'IT_FISCAL_CODE', 'SG_UEN', 'PASSPORT',
  'DATE_OF_BIRTH', 'ADDRESS', 'UNINSPECTABLE',
  'HEALTH', 'RELIGION', 'ETHNICITY', 'POLITICAL', 'SEXUAL_ORIENTATION', 'TRADE_UNION', 'BIOMETRIC', 'GENETIC',
] as const satisfies readonly DetectionType[];

export const K_IBAN = 0;
export const K_CC = 1;
export const K_AE = 2;
export const K_NHS = 3;
export const K_SG = 4;
export const K_NINO = 5;
export const K_SSN = 6;
export const K_EMAIL = 7;
export const K_IP = 8;
export const K_PHONE = 9;
export const K_PERSON_CUE = 10;
export const K_PERSON_NAME = 11;
export const K_DE_TAX = 12;
export const K_DE_ID = 13;
export const K_FR_NIR = 14;
export const K_ES_DNI = 15;
export const K_IT_CF = 16;
export const K_SG_UEN = 17;
export const K_PASSPORT = 18;
export const K_DOB = 19;
export const K_ADDRESS = 20;
export const K_UNINSPECTABLE = 21;
export const K_SPECIAL0 = 22;

/**
 * Overlap priority by type: on overlapping spans the higher wins (then the longer). Check-digit
 * identifiers beat shapes without a check (phone), which beat context-found spans (address,
 * person). Special categories are never dropped, so they need no priority.
 */
const PRIORITY_BY_TYPE: Readonly<Partial<Record<DetectionType, number>>> = {
  IBAN: 100,
  CREDIT_CARD: 95,
  AE_EMIRATES_ID: 94,
  FR_NIR: 93,
  DE_TAX_ID: 92,
  IT_FISCAL_CODE: 92,
  ES_DNI: 91,
  UK_NHS: 90,
  SG_NRIC_FIN: 89,
  SG_UEN: 88,
  UK_NINO: 88,
  US_SSN: 87,
  DE_ID_CARD: 86,
  EMAIL: 85,
  PASSPORT: 84,
  UNINSPECTABLE: 83,
  IP_ADDRESS: 80,
  DATE_OF_BIRTH: 75,
  PHONE: 70,
  ADDRESS: 50,
  PERSON: 40,
};

/** Priority per kind, derived once from the map. */
export const PRIORITY: Int32Array = Int32Array.from(KIND_TYPES, (t) => PRIORITY_BY_TYPE[t] ?? 0);

export function kindType(kind: number): DetectionType {
  return KIND_TYPES[kind] ?? 'PERSON';
}

export function kindOf(type: DetectionType): number {
  return KIND_TYPES.indexOf(type);
}

export function isSpecialKind(kind: number): boolean {
  return kind >= K_SPECIAL0;
}
