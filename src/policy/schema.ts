// The Cedar schema the legal policies are validated against, generated from the topology so
// that a jurisdiction the topology does not configure is a validation error, not a silent miss.
import type { Topology } from '../config/index.ts';
import { DATA_CLASSES, RESERVED_JURISDICTIONS, THIRD_COUNTRY, UNKNOWN } from './types.ts';

/** Cedar action every request is checked as: `Action::"process"`. */
export const PROCESS_ACTION = 'process';

/** The values of the Cedar `Jurisdiction` enumeration: configured jurisdictions, then `unknown`, `third_country`. */
export function policyJurisdictions(topology: Topology): readonly string[] {
  const clash = topology.jurisdictions.filter((j) => RESERVED_JURISDICTIONS.includes(j));
  if (clash.length > 0) {
    throw new Error(`jurisdiction name(s) ${clash.join(', ')} are reserved by the policy engine; rename them in ${topology.file}`);
  }
  return [...topology.jurisdictions, UNKNOWN, THIRD_COUNTRY];
}

const quoteList = (xs: readonly string[]): string => xs.map((x) => JSON.stringify(x)).join(', ');

/**
 * The entity types both Cedar schemas share (the legal policies' and the model-promotion
 * policies'): the jurisdictions, the data classes and a region with its transfer mechanisms.
 */
export function sharedEntityTypes(topology: Topology): string {
  return `// The data subject's jurisdiction: configured jurisdictions, "unknown" (no known country)
// and "third_country" (a country outside every configured jurisdiction).
entity Jurisdiction enum [${quoteList(policyJurisdictions(topology))}];

// Data classes, least to most sensitive; context.classRank is 0 (public) to 3 (special).
entity DataClass enum [${quoteList(DATA_CLASSES)}];

// A region (entity id = region id, e.g. Region::"eu-frankfurt").
entity Region {
  jurisdiction: Jurisdiction,
  country: String,
  // Subject jurisdictions whose data may come here under each transfer mechanism.
  adequacy: Set<Jurisdiction>,
  scc: Set<Jurisdiction>,
  contract: Set<Jurisdiction>,
  // Suspended for everyone, or for the subjects of some jurisdictions only.
  suspended: Bool,
  suspendedFor: Set<Jurisdiction>,
};

`;
}

/** Cedar schema text for a topology. `policies/schema.cedarschema` is this for the shipped sovereign.yaml. */
export function schemaFor(topology: Topology): string {
  return `// Sovereign policy schema, generated from the topology by \`sovereign policy compile --schema\`.
// Do not edit: the Jurisdiction enumeration must equal the topology's jurisdictions.

${sharedEntityTypes(topology)}// May data of class context.dataClass, whose subject is of jurisdiction principal, be processed in resource?
action "${PROCESS_ACTION}" appliesTo {
  principal: Jurisdiction,
  resource: Region,
  context: { dataClass: DataClass, classRank: Long },
};
`;
}

/**
 * Maps what a caller knows about a subject to a policy jurisdiction: a configured jurisdiction
 * name (any case) or one of its countries gives that jurisdiction; 'unknown' gives `unknown`;
 * any other country (e.g. 'US') — and anything unrecognisable — gives `third_country`, which
 * the shipped policies permit nothing (fail closed).
 */
export function jurisdictionResolver(topology: Topology): (value: string) => string {
  const exact = new Map<string, string>();
  for (const j of topology.jurisdictions) exact.set(j, j);
  for (const [j, countries] of Object.entries(topology.data.jurisdictions)) for (const c of countries) exact.set(c, j);
  exact.set(UNKNOWN, UNKNOWN);
  exact.set(THIRD_COUNTRY, THIRD_COUNTRY);
  const configured = new Set(topology.jurisdictions);
  return (value: string): string => {
    const hit = exact.get(value);
    if (hit !== undefined) return hit;
    if (value.trim().toLowerCase() === UNKNOWN) return UNKNOWN;
    const r = topology.resolveJurisdiction(value);
    return r.ok && configured.has(r.jurisdiction) ? r.jurisdiction : THIRD_COUNTRY;
  };
}
