/** Error codes of the geo component; each message names the input and what to do about it. */
export type GeoErrorCode =
  /** An entry of gateway.trustedProxies is not an IP address or CIDR. */
  | 'SOVEREIGN_GEO_TRUSTED_PROXY_INVALID'
  /** The geo database file cannot be read. */
  | 'SOVEREIGN_GEO_DATABASE_UNREADABLE'
  /** The geo database file is read but is not a usable MaxMind DB. */
  | 'SOVEREIGN_GEO_DATABASE_INVALID';

export class GeoError extends Error {
  readonly code: GeoErrorCode;

  constructor(code: GeoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GeoError';
    this.code = code;
  }
}
