// Errors of report generation and verification: a code, and a message naming the input at fault.
export type ReportErrorCode =
  | 'SOVEREIGN_REPORT_BAD_INPUT'
  | 'SOVEREIGN_REPORT_UNKNOWN_REGION'
  | 'SOVEREIGN_REPORT_UNREACHABLE'
  | 'SOVEREIGN_REPORT_LOG_SHORT'
  | 'SOVEREIGN_REPORT_LOG_DAMAGED'
  | 'SOVEREIGN_REPORT_NO_BROWSER';

export class ReportError extends Error {
  readonly code: ReportErrorCode;
  constructor(code: ReportErrorCode, message: string) {
    super(message);
    this.name = 'ReportError';
    this.code = code;
  }
}
