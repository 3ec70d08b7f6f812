// Identify: which jurisdictions govern a request, and where each one came from.
// Sources: the tenant's fixed jurisdiction; the declared x-sovereign-jurisdiction header
// (only for tenants allowed to declare); the geo-IP jurisdiction of the client address (the
// socket peer, or X-Forwarded-For read over trusted proxies only). All that apply are kept:
// strictest wins downstream, so a declaration can add a jurisdiction but never remove one.
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_DECLARED_JURISDICTIONS, MAX_ENTRY_JURISDICTIONS, badRequest, HttpError, UNKNOWN_JURISDICTION } from '../common/index.ts';
import type { TenantConfig, Topology } from '../config/index.ts';
import type { GeoResult } from '../geo/index.ts';

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

export function identify(topology: Topology, tenant: TenantConfig | undefined, headers: IncomingHttpHeaders, geo: GeoResult | null): ApplicableJurisdiction[] {
  const out: ApplicableJurisdiction[] = [];
  if (geo && geo.jurisdiction !== UNKNOWN_JURISDICTION) add(out, { jurisdiction: geo.jurisdiction, source: 'geoip', ...(geo.country ? { country: geo.country } : {}) });
  if (tenant?.jurisdiction) add(out, { jurisdiction: tenant.jurisdiction, source: 'tenant' });
  const declared = headers[JURISDICTION_HEADER];
  if (typeof declared === 'string' && declared.trim() !== '') {
    if (tenant && !tenant.mayDeclare) {
      throw new HttpError(403, 'permission_error', `tenant "${tenant.name}" may not declare a jurisdiction; remove the ${JURISDICTION_HEADER} header or ask the operator to set mayDeclare`);
    }
    const values = declared.split(',').filter((v) => v.trim() !== '');
    // Bounded at the edge: the decision must fit in one ledger entry, or its record would be
    // refused by the region (and a denial's record could never be written).
    if (values.length > MAX_DECLARED_JURISDICTIONS) {
      throw badRequest(
        `${JURISDICTION_HEADER}: ${values.length} jurisdictions declared; at most ${MAX_DECLARED_JURISDICTIONS} may be declared per request (a decision's ledger entry holds at most ${MAX_ENTRY_JURISDICTIONS} jurisdictions, with the tenant's and the geo-IP one)`,
        { param: JURISDICTION_HEADER },
      );
    }
    for (const value of values) {
      const r = topology.resolveJurisdiction(value);
      if (!r.ok) throw badRequest(`${JURISDICTION_HEADER}: ${r.reason}`, { param: JURISDICTION_HEADER });
      add(out, { jurisdiction: r.jurisdiction, source: 'declared', ...(r.country ? { country: r.country } : {}) });
    }
  }
  // An address with no known country (private, reserved, not in the database) establishes no
  // law of its own: "unknown" applies only when no other source names a jurisdiction.
  if (out.length === 0) add(out, { jurisdiction: UNKNOWN_JURISDICTION, source: 'geoip' });
  return out;
}

/** The distinct jurisdictions, in first-seen order. */
export function jurisdictionNames(list: readonly ApplicableJurisdiction[]): string[] {
  return [...new Set(list.map((j) => j.jurisdiction))];
}
