// What the detector modules see of a scan in progress: the (normalised) text and where to report.

export interface Scan {
  readonly text: string;
  /** ISO 3166-1 alpha-2 regions tried for phone numbers written without a country code. */
  readonly phoneRegions: readonly string[];
  /** Records a detection of `kind` (kinds.ts) over text[start, end). */
  emit(kind: number, start: number, end: number): void;
}
