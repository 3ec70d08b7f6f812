// SPIFFE IDs of Sovereign's workloads (SPIFFE-ID standard: spiffe://<trust domain>/<path>).
// One builder per kind of workload, so the IDs a certificate carries and the IDs an
// authorization rule names come from one place.

/** SPIFFE-ID §2.1: trust domain names are lower-case letters, digits, ".", "-" and "_". */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
/** SPIFFE-ID §2.2: path segments of letters, digits, ".", "-" and "_"; no "." or ".." segment. */
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export const spiffeId = {
  /** A region's cell: spiffe://<td>/region/<region>/cell. */
  cell: (td: string, region: string): string => `spiffe://${td}/region/${region}/cell`,
  /** A gateway replica: spiffe://<td>/gateway/<replica>. */
  gateway: (td: string, replica: string): string => `spiffe://${td}/gateway/${replica}`,
  /** A region's model registry (served by the region's cell process): spiffe://<td>/region/<region>/registry. */
  regionRegistry: (td: string, region: string): string => `spiffe://${td}/region/${region}/registry`,
  /** The golden model registry (part of the control plane, not of a region): spiffe://<td>/golden/registry. */
  golden: (td: string): string => `spiffe://${td}/golden/registry`,
  /** A person operating Sovereign through the CLI (publishing, promoting): spiffe://<td>/operator/<name>. */
  operator: (td: string, name: string): string => `spiffe://${td}/operator/${name}`,
};

export interface ParsedSpiffeId {
  trustDomain: string;
  /** Path segments, e.g. ['region', 'eu-frankfurt', 'cell']. */
  segments: string[];
}

/** Parses a SPIFFE ID; null when it is not one (wrong scheme, bad trust domain, bad or empty path). */
export function parseSpiffeId(id: string): ParsedSpiffeId | null {
  const m = /^spiffe:\/\/([^/?#]+)(\/[^?#]*)$/.exec(id);
  if (!m) return null;
  const td = m[1] as string;
  if (!TRUST_DOMAIN.test(td) || td.length > 255) return null;
  const segments = (m[2] as string).slice(1).split('/');
  if (segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) return null;
  return { trustDomain: td, segments };
}

/** What a SPIFFE ID names in Sovereign: a cell of a region, a gateway replica, or something else. */
export type Workload =
  | { kind: 'cell'; region: string }
  | { kind: 'gateway'; replica: string }
  | { kind: 'registry'; region: string }
  | { kind: 'golden' }
  | { kind: 'operator'; name: string }
  | { kind: 'other' };

export function workloadOf(p: ParsedSpiffeId): Workload {
  const [a, b, c] = p.segments;
  if (a === 'region' && b && c === 'cell' && p.segments.length === 3) return { kind: 'cell', region: b };
  if (a === 'gateway' && b && p.segments.length === 2) return { kind: 'gateway', replica: b };
  if (a === 'region' && b && c === 'registry' && p.segments.length === 3) return { kind: 'registry', region: b };
  if (a === 'golden' && b === 'registry' && p.segments.length === 2) return { kind: 'golden' };
  if (a === 'operator' && b && p.segments.length === 2) return { kind: 'operator', name: b };
  return { kind: 'other' };
}

/** Throws with a clear message when `id` is not a SPIFFE ID of trust domain `td`. */
export function requireSpiffeId(id: string, td: string): ParsedSpiffeId {
  const p = parseSpiffeId(id);
  if (!p) throw new Error(`"${id}" is not a SPIFFE ID; expected spiffe://${td}/<path>, e.g. ${spiffeId.gateway(td, 'debug')}`);
  if (p.trustDomain !== td) throw new Error(`"${id}" is in trust domain ${p.trustDomain}, not ${td} (mesh.trustDomain)`);
  return p;
}
