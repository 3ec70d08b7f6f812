// Registry errors carry the distribution-spec error code (spec.md, "Error Codes") so the HTTP
// edge answers stock clients in the shape they parse: {"errors":[{"code","message","detail"}]}.

export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'RANGE_INVALID'
  // Sovereign's own, never sent to a stock client as a registry answer:
  | 'SIGNATURE_INVALID'
  | 'PUBLISHER_UNKNOWN'
  | 'STORAGE_FAILED'
  // A blob's SHA-256 could not be computed (the hash thread failed): the blob fails, not retried.
  | 'HASH_FAILED'
  | 'UNAVAILABLE'
  | 'POLICY_DENIED';

const STATUS: Record<RegistryErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  RANGE_INVALID: 416,
  SIGNATURE_INVALID: 422,
  PUBLISHER_UNKNOWN: 422,
  STORAGE_FAILED: 507,
  HASH_FAILED: 500,
  UNAVAILABLE: 503,
  POLICY_DENIED: 451,
};

export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly detail: unknown;

  constructor(code: RegistryErrorCode, message: string, detail?: unknown) {
    super(message);
    this.name = 'RegistryError';
    this.code = code;
    this.detail = detail;
  }

  get status(): number {
    return STATUS[this.code];
  }

  body(): { errors: { code: string; message: string; detail?: unknown }[] } {
    return { errors: [{ code: this.code, message: this.message, ...(this.detail !== undefined ? { detail: this.detail } : {}) }] };
  }
}

/** A file-system error as a registry error: a full disk says so. */
export function storageError(err: unknown, what: string): RegistryError {
  if (err instanceof RegistryError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOSPC') return new RegistryError('STORAGE_FAILED', `${what}: the disk is full; free space in the registry's data directory and retry (nothing was stored)`);
  return new RegistryError('STORAGE_FAILED', `${what}: ${e.message}`);
}
