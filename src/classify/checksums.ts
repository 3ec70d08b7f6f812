// Check-digit algorithms. Each takes the digits/characters already stripped of separators
// and returns whether the check digit is valid. No allocation on the hot path.

/** Luhn (ISO/IEC 7812-1 Annex B) over `s[from..to)`, ASCII digits only, separators skipped. */
export function luhnValid(s: string, from: number, to: number): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  let nonZero = false;
  for (let i = to - 1; i >= from; i--) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    digits++;
    if (c !== 0) nonZero = true;
    let d = c;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits > 0 && nonZero && sum % 10 === 0;
}

/**
 * IBAN check (ISO 13616-1 §7.2, ISO 7064 MOD 97-10): move the first four characters to the
 * end, map A..Z to 10..35, and the number mod 97 must be 1. `chars` holds the IBAN without spaces.
 */
export function ibanValid(chars: string): boolean {
  const n = chars.length;
  if (n < 5) return false;
  let rem = 0;
  for (let k = 0; k < n; k++) {
    const c = chars.charCodeAt((k + 4) % n);
    if (c >= 48 && c <= 57) {
      rem = (rem * 10 + (c - 48)) % 97;
    } else if (c >= 65 && c <= 90) {
      rem = (rem * 100 + (c - 55)) % 97;
    } else {
      return false;
    }
  }
  return rem === 1;
}

/** NHS number (NHS Data Dictionary): weights 10..2 over the first nine digits, mod 11. */
export function nhsValid(digits: string): boolean {
  if (digits.length !== 10) return false;
  let sum = 0;
  for (let k = 0; k < 9; k++) sum += (digits.charCodeAt(k) - 48) * (10 - k);
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  if (check === 10) return false;
  if (/^(\d)\1{9}$/.test(digits)) return false; // e.g. 0000000000 passes mod 11 but is never issued
  return check === digits.charCodeAt(9) - 48;
}

const SG_WEIGHTS = [2, 7, 6, 5, 4, 3, 2] as const;
const SG_ST = 'JZIHGFEDCBA';
const SG_FG = 'XWUTRQPNMLK';
const SG_M = 'XWUTRQPNJLK';

/** Singapore NRIC/FIN check letter (ICA algorithm: weights 2,7,6,5,4,3,2; offset 4 for T/G, 3 for M). */
export function sgNricValid(id: string): boolean {
  if (id.length !== 9) return false;
  const prefix = id.charCodeAt(0) & ~0x20;
  let sum = 0;
  for (let k = 0; k < 7; k++) {
    const d = id.charCodeAt(k + 1) - 48;
    if (d < 0 || d > 9) return false;
    sum += d * (SG_WEIGHTS[k] ?? 0);
  }
  let table: string;
  switch (prefix) {
    case 83: table = SG_ST; break; // S
    case 84: table = SG_ST; sum += 4; break; // T
    case 70: table = SG_FG; break; // F
    case 71: table = SG_FG; sum += 4; break; // G
    case 77: table = SG_M; sum += 3; break; // M
    default: return false;
  }
  return table.charCodeAt(sum % 11) === (id.charCodeAt(8) & ~0x20);
}

/** Registered IBAN lengths by country (SWIFT IBAN registry). */
export const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
    CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
    FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28,
    IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20,
    LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
    NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24,
    SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
    UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
  }),
);

/**
 * German tax identification number (Steuerliche Identifikationsnummer, § 139b AO): 11 digits, the
 * first not 0, in the first ten one digit appears two or three times and the others at most once,
 * and the last is the ISO/IEC 7064 MOD 11,10 check digit.
 */
export function deTaxIdValid(digits: string): boolean {
  if (digits.length !== 11 || digits.charCodeAt(0) === 48) return false;
  const counts = new Array<number>(10).fill(0);
  for (let k = 0; k < 10; k++) counts[digits.charCodeAt(k) - 48] = (counts[digits.charCodeAt(k) - 48] ?? 0) + 1;
  let repeated = 0;
  let missing = 0;
  for (const c of counts) {
    if (c >= 2) repeated++;
    if (c === 0) missing++;
    if (c > 3) return false;
  }
  if (repeated !== 1 || (missing !== 1 && missing !== 2)) return false;
  let product = 10;
  for (let k = 0; k < 10; k++) {
    let sum = (digits.charCodeAt(k) - 48 + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  let check = 11 - product;
  if (check === 10) check = 0;
  return check === digits.charCodeAt(10) - 48;
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI/NIE check letter (Real Decreto 1553/2005): letter = table[number mod 23]. */
export function dniLetterValid(number: number, letterCode: number): boolean {
  return DNI_LETTERS.charCodeAt(number % 23) === letterCode;
}

/**
 * French NIR (numéro d'inscription au répertoire, INSEE): 13 digits and a key = 97 - (n mod 97).
 * Corsican departments 2A and 2B count as 19 and 18 in the computation.
 */
export function frNirValid(nir: string): boolean {
  if (nir.length !== 15) return false;
  const dept = nir.slice(5, 7).toUpperCase();
  let body = nir.slice(0, 13);
  if (dept === '2A') body = `${body.slice(0, 5)}19${body.slice(7)}`;
  else if (dept === '2B') body = `${body.slice(0, 5)}18${body.slice(7)}`;
  if (!/^[0-9]{13}$/.test(body) || !/^[0-9]{2}$/.test(nir.slice(13))) return false;
  const month = Number(nir.slice(3, 5));
  if (!((month >= 1 && month <= 12) || (month >= 20 && month <= 42) || month >= 50)) return false;
  const key = 97 - (Number(body) % 97);
  return key === Number(nir.slice(13));
}

/** ICAO 9303 check digit (weights 7, 3, 1; digits as value, A–Z as 10–35, '<' as 0). */
export function icaoCheckDigit(chars: string): number {
  const W = [7, 3, 1];
  let sum = 0;
  for (let k = 0; k < chars.length; k++) {
    const c = chars.charCodeAt(k);
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 90 ? c - 55 : 0;
    sum += v * (W[k % 3] ?? 0);
  }
  return sum % 10;
}

/** German identity card (Personalausweis) number: 9 characters of its alphabet and an ICAO check digit. */
export function deIdCardValid(id: string): boolean {
  if (!/^[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}[0-9]$/.test(id)) return false;
  if (!/[0-9]/.test(id.slice(1, 9))) return false;
  return icaoCheckDigit(id.slice(0, 9)) === id.charCodeAt(9) - 48;
}

const CF_ODD: readonly number[] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

/** Italian codice fiscale (DM 23/12/1976): 16 characters, the last a check letter. */
export function itFiscalCodeValid(cf: string): boolean {
  const s = cf.toUpperCase();
  if (!/^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/.test(s)) return false;
  let sum = 0;
  for (let k = 0; k < 15; k++) {
    const c = s.charCodeAt(k);
    const v = c >= 48 && c <= 57 ? c - 48 : c - 65;
    sum += k % 2 === 0 ? (CF_ODD[v] ?? 0) : v;
  }
  return 65 + (sum % 26) === s.charCodeAt(15);
}

/**
 * Singapore UEN of a business registered with ACRA (sole proprietors and partnerships, whose UEN
 * identifies a person): 8 digits and a check letter (weights 10,4,9,3,8,2,7,1; letters "XMKECAWLJDB").
 */
export function sgUenBusinessValid(uen: string): boolean {
  if (!/^[0-9]{8}[A-Z]$/.test(uen)) return false;
  const W = [10, 4, 9, 3, 8, 2, 7, 1];
  let sum = 0;
  for (let k = 0; k < 8; k++) sum += (uen.charCodeAt(k) - 48) * (W[k] ?? 0);
  return 'XMKECAWLJDB'.charCodeAt(sum % 11) === uen.charCodeAt(8);
}
