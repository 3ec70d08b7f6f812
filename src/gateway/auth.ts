// Tenant authentication: the API key (Authorization: Bearer, or x-api-key) is hashed and
// looked up; keys themselves are never stored or logged.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError, bearer } from '../common/index.ts';
import type { TenantConfig, Topology } from '../config/index.ts';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const fromAuthorization = bearer(headers.authorization);
  if (fromAuthorization !== '') return fromAuthorization;
  const x = headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}

/** The calling tenant, or undefined when no tenants are configured (open gateway). */
export function authenticate(topology: Topology, headers: IncomingHttpHeaders): TenantConfig | undefined {
  if (!topology.authRequired) return undefined;
  const key = presentedKey(headers);
  if (!key) {
    throw new HttpError(401, 'authentication_error', 'missing API key: send "Authorization: Bearer <key>"', {}, { 'www-authenticate': 'Bearer realm="sovereign"' });
  }
  const tenant = topology.tenantByKeyHash(hashApiKey(key));
  if (!tenant) {
    throw new HttpError(401, 'authentication_error', 'the API key is not valid for any tenant', {}, { 'www-authenticate': 'Bearer realm="sovereign", error="invalid_token"' });
  }
  return tenant;
}

/** The tenant whose key is presented, if any; never refuses (for routes the access hook already admitted). */
export function tenantIfAny(topology: Topology, headers: IncomingHttpHeaders): TenantConfig | undefined {
  const key = presentedKey(headers);
  return key ? topology.tenantByKeyHash(hashApiKey(key)) : undefined;
}
