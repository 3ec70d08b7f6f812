// Ledger errors carry a stable `code` the gateway and CLI map to responses and exit codes.

/** Error codes: UNAVAILABLE maps to HTTP 503 (fail closed); the rest name what failed. */
export type LedgerErrorCode =
  | 'SOVEREIGN_LEDGER_UNAVAILABLE'
  | 'SOVEREIGN_LEDGER_CLOSED'
  | 'SOVEREIGN_LEDGER_LOCKED'
  | 'SOVEREIGN_LEDGER_CORRUPT'
  | 'SOVEREIGN_LEDGER_BAD_ENTRY'
  | 'SOVEREIGN_LEDGER_BAD_KEY'
  | 'SOVEREIGN_LEDGER_BAD_NOTE'
  | 'SOVEREIGN_LEDGER_BAD_SIGNATURE'
  | 'SOVEREIGN_LEDGER_BAD_CHECKPOINT'
  | 'SOVEREIGN_LEDGER_INCONSISTENT'
  | 'SOVEREIGN_LEDGER_PROOF_INVALID'
  | 'SOVEREIGN_LEDGER_NOT_FOUND';

export class LedgerError extends Error {
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
    this.code = code;
  }
}

/** The storage under the log failed: appends and signing fail closed (HTTP 503). */
export function unavailable(what: string, cause: unknown): LedgerError {
  return new LedgerError('SOVEREIGN_LEDGER_UNAVAILABLE', `ledger unavailable: ${what}: ${(cause as Error)?.message ?? String(cause)}; check the disk under the ledger directory`, { cause });
}
