// Identify: which jurisdictions govern a request, and where each one came from.
// Sources: the tenant's fixed jurisdiction; the declared x-sovereign-jurisdiction header
// (only for tenants allowed to declare). A declared value adds, it never removes.
import type { IncomingHttpHeaders } from 'node:http';
import { badRequest, HttpError } from '../common/index.ts';
import type { TenantConfig, Topology } from '../config/index.ts';

export type JurisdictionSource = 'tenant' | 'declared' | 'geoip';

export interface ApplicableJurisdiction {
  jurisdiction: string;
  source: JurisdictionSource;
  /** The country behind it where known (declared country code, geo-IP country). */
  country?: string;
}

export const JURISDICTION_HEADER = 'x-sovereign-jurisdiction';

function add(list: ApplicableJurisdiction[], j: ApplicableJurisdiction): void {
  if (!list.some((x) => x.jurisdiction === j.jurisdiction && x.source === j.source)) list.push(j);
}

export function identify(topology: Topology, tenant: TenantConfig | undefined, headers: IncomingHttpHeaders): ApplicableJurisdiction[] {
  const out: ApplicableJurisdiction[] = [];
  if (tenant?.jurisdiction) add(out, { jurisdiction: tenant.jurisdiction, source: 'tenant' });
  const declared = headers[JURISDICTION_HEADER];
  if (typeof declared === 'string' && declared.trim() !== '') {
    if (tenant && !tenant.mayDeclare) {
      throw new HttpError(403, 'permission_error', `tenant "${tenant.name}" may not declare a jurisdiction; remove the ${JURISDICTION_HEADER} header or ask the operator to set mayDeclare`);
    }
    for (const value of declared.split(',')) {
      if (value.trim() === '') continue;
      const r = topology.resolveJurisdiction(value);
      if (!r.ok) throw badRequest(`${JURISDICTION_HEADER}: ${r.reason}`, { param: JURISDICTION_HEADER });
      add(out, { jurisdiction: r.jurisdiction, source: 'declared', ...(r.country ? { country: r.country } : {}) });
    }
  }
  return out;
}

/** The distinct jurisdictions, in first-seen order. */
export function jurisdictionNames(list: readonly ApplicableJurisdiction[]): string[] {
  return [...new Set(list.map((j) => j.jurisdiction))];
}
