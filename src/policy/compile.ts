// Policy set + topology + region state → DecisionTable. Cedar is asked once per
// (jurisdiction, class, region); every answer is read fail-closed: an error anywhere in the
// response (a forbid that errors is otherwise just skipped), a request or entity that does not
// conform to the schema, or a suspended region the policies forgot, is a deny.
import { createHash } from 'node:crypto';
import type { Topology, RegionConfig } from '../config/index.ts';
import { cedar, formatCedarError, type AuthorizationAnswer, type EntityJson } from './cedar.ts';
import { PolicyError } from './errors.ts';
import { parsePolicySet, type ParsedPolicySet } from './parse.ts';
import { PROCESS_ACTION, jurisdictionResolver, policyJurisdictions, schemaFor } from './schema.ts';
import { DecisionTable, byId } from './table.ts';
import { ACTIVE, DATA_CLASSES, classRank, type PolicyRef, type RegionState, type TableCell } from './types.ts';

/** Parsed, validated policies with what is needed to evaluate them again (region state changes). */
export interface PolicyProgram {
  readonly topology: Topology;
  readonly text: string;
  readonly source: string;
  readonly schema: string;
  readonly jurisdictions: readonly string[];
  readonly parsed: ParsedPolicySet;
  readonly refs: ReadonlyMap<string, PolicyRef>;
}

export interface CompileOptions {
  /** Where the text came from, for messages (default '<inline>'). */
  source?: string;
  /** Region state by region id; regions not listed are active. */
  regionStates?: ReadonlyMap<string, RegionState> | Readonly<Record<string, RegionState>>;
}

// Cedar's preparsed caches are keyed by name and live for the process: one fixed name, re-filled
// before each synchronous compile, so nothing accumulates and nothing interleaves.
const SCHEMA_NAME = 'sovereign-policy-schema';
const POLICY_SET_NAME = 'sovereign-policy-set';

/** Parses and validates policies against the topology's schema. Throws PolicyError. */
export function preparePolicies(topology: Topology, text: string, source = '<inline>'): PolicyProgram {
  let schema: string;
  let jurisdictions: readonly string[];
  try {
    jurisdictions = policyJurisdictions(topology);
    schema = schemaFor(topology);
  } catch (err) {
    throw new PolicyError(source, [(err as Error).message]);
  }
  const parsed = parsePolicySet(text, schema, source);
  const refs = new Map(parsed.policies.map((p) => [p.id, p]));
  return { topology, text, source, schema, jurisdictions, parsed, refs };
}

/**
 * Compiles a policy set for a topology into a decision table. Throws PolicyError (with every
 * problem found) when the set does not parse or validate, or a region state is invalid.
 */
export function compilePolicies(topology: Topology, text: string, options: CompileOptions = {}): DecisionTable {
  return compileProgram(preparePolicies(topology, text, options.source), options.regionStates);
}

/** Evaluates prepared policies for every (jurisdiction, class, region). Throws PolicyError for an invalid region state. */
export function compileProgram(program: PolicyProgram, regionStates?: CompileOptions['regionStates']): DecisionTable {
  return buildTable(program, normalizeStates(program, regionStates), null);
}

/** The table for the same policies with some regions' state changed: only those regions are re-evaluated. */
export function recompileRegions(program: PolicyProgram, previous: DecisionTable, changes: ReadonlyMap<string, RegionState>): DecisionTable {
  const normalized = normalizeStates(program, changes);
  const states = new Map(previous.regionStates);
  for (const id of changes.keys()) {
    const s = normalized.get(id);
    if (s === undefined) states.delete(id);
    else states.set(id, s);
  }
  return buildTable(program, states, { previous, changed: new Set(changes.keys()) });
}

function normalizeStates(
  program: PolicyProgram,
  input: ReadonlyMap<string, RegionState> | Readonly<Record<string, RegionState>> | undefined,
): Map<string, RegionState> {
  const entries: [string, RegionState][] =
    input === undefined ? [] : input instanceof Map ? [...(input as ReadonlyMap<string, RegionState>)] : Object.entries(input as Readonly<Record<string, RegionState>>);
  const problems: string[] = [];
  const out = new Map<string, RegionState>();
  const known = new Set(program.jurisdictions);
  for (const [id, s] of entries) {
    if (program.topology.region(id) === undefined) {
      problems.push(`region state: no region has id "${id}" (regions: ${program.topology.regions.map((r) => r.id).join(', ')})`);
      continue;
    }
    const bad = s.suspendedFor.filter((j) => !known.has(j));
    if (bad.length > 0) problems.push(`region state of ${id}: suspendedFor ${bad.join(', ')} not a jurisdiction (${program.jurisdictions.join(', ')})`);
    if (typeof s.suspended !== 'boolean') problems.push(`region state of ${id}: suspended must be true or false`);
    if (s.suspended || s.suspendedFor.length > 0) out.set(id, { suspended: s.suspended, suspendedFor: [...new Set(s.suspendedFor)].sort() });
  }
  if (problems.length > 0) throw new PolicyError(program.source, problems);
  return out;
}

function buildTable(
  program: PolicyProgram,
  states: ReadonlyMap<string, RegionState>,
  reuse: { previous: DecisionTable; changed: ReadonlySet<string> } | null,
): DecisionTable {
  const { topology, jurisdictions } = program;
  const regions = topology.regions;
  const R = regions.length;
  const cells: TableCell[] = new Array<TableCell>(jurisdictions.length * DATA_CLASSES.length * R);
  preparse(program);
  regions.forEach((region, r) => {
    const state = states.get(region.id) ?? ACTIVE;
    const keep = reuse !== null && !reuse.changed.has(region.id);
    const entity = keep ? null : regionEntity(region, state);
    jurisdictions.forEach((j, ji) => {
      DATA_CLASSES.forEach((c, ci) => {
        const at = (ji * DATA_CLASSES.length + ci) * R + r;
        cells[at] =
          keep && reuse ? reuse.previous.cells[at]! : evaluate(program, j, c, region.id, entity!, state);
      });
    });
  });
  const statesSorted = [...states].sort(([a], [b]) => (a < b ? -1 : 1));
  const policyDigest = sha256(program.text);
  return new DecisionTable({
    jurisdictions,
    regions: regions.map((r) => r.id),
    regionJurisdictions: regions.map((r) => r.jurisdiction),
    policies: program.parsed.policies,
    cells,
    regionStates: new Map(statesSorted),
    digest: sha256(JSON.stringify({ policyDigest, schema: program.schema, states: statesSorted })),
    policyDigest,
    source: program.source,
    warnings: program.parsed.warnings,
    resolve: jurisdictionResolver(topology),
  });
}

/** Loads schema and policies into Cedar's cache; a failure here refuses the compile. */
function preparse(program: PolicyProgram): void {
  const s = cedar.preparseSchema(SCHEMA_NAME, program.schema);
  const p = cedar.preparsePolicySet(POLICY_SET_NAME, { staticPolicies: program.parsed.textById });
  const errors = [...(s.type === 'failure' ? s.errors : []), ...(p.type === 'failure' ? p.errors : [])];
  if (errors.length > 0) throw new PolicyError(program.source, errors.map((e) => `cedar preparse: ${formatCedarError(e)}`));
}

export function regionEntity(region: RegionConfig, state: RegionState): EntityJson {
  const j = (id: string) => ({ __entity: { type: 'Jurisdiction', id } });
  return {
    uid: { type: 'Region', id: region.id },
    attrs: {
      jurisdiction: j(region.jurisdiction),
      country: region.country,
      adequacy: region.transfers.adequacy.map(j),
      scc: region.transfers.scc.map(j),
      contract: region.transfers.contract.map(j),
      suspended: state.suspended,
      suspendedFor: state.suspendedFor.map(j),
    },
    parents: [],
  };
}

/** One Cedar call against the preparsed schema and policies, read fail-closed. */
function evaluate(
  program: PolicyProgram,
  jurisdiction: string,
  dataClass: (typeof DATA_CLASSES)[number],
  regionId: string,
  entity: EntityJson,
  state: RegionState,
): TableCell {
  let answer: AuthorizationAnswer;
  try {
    answer = cedar.statefulIsAuthorized({
      principal: { type: 'Jurisdiction', id: jurisdiction },
      action: { type: 'Action', id: PROCESS_ACTION },
      resource: { type: 'Region', id: regionId },
      context: { dataClass: { __entity: { type: 'DataClass', id: dataClass } }, classRank: classRank(dataClass) },
      entities: [entity],
      preparsedSchemaName: SCHEMA_NAME,
      preparsedPolicySetId: POLICY_SET_NAME,
      validateRequest: true,
    });
  } catch (err) {
    return freezeCell({ allowed: false, cause: 'error', policies: [], errors: [`cedar: ${(err as Error).message}`] });
  }
  return readAnswer(program.refs, answer, state.suspended || state.suspendedFor.includes(jurisdiction));
}

/**
 * Reads a Cedar answer fail-closed: a failed call, any error in the diagnostics (Cedar skips a
 * forbid that errors and may still allow), or a suspended region is a deny.
 */
export function readAnswer(refs: ReadonlyMap<string, PolicyRef>, answer: AuthorizationAnswer, suspended: boolean): TableCell {
  if (answer.type === 'failure') {
    return freezeCell({ allowed: false, cause: 'error', policies: [], errors: answer.errors.map((e) => formatCedarError(e)) });
  }
  const { decision, diagnostics } = answer.response;
  const ref = (id: string): PolicyRef => refs.get(id) ?? { id, effect: 'forbid', rationale: '(policy not in the set)', legalRef: '' };
  if (diagnostics.errors.length > 0) {
    const ids = new Set(diagnostics.errors.map((e) => e.policyId));
    if (decision === 'deny') for (const id of diagnostics.reason) ids.add(id);
    return freezeCell({
      allowed: false,
      cause: 'error',
      policies: [...ids].map(ref),
      errors: diagnostics.errors.map((e) => `@id("${e.policyId}"): ${formatCedarError(e.error)}`),
    });
  }
  const policies = diagnostics.reason.map(ref);
  if (decision === 'allow') {
    if (suspended) return freezeCell({ allowed: false, cause: 'suspended', policies: [], errors: [] });
    if (policies.length === 0) return freezeCell({ allowed: false, cause: 'error', policies: [], errors: ['allow without a determining permit'] });
    return freezeCell({ allowed: true, cause: 'permit', policies, errors: [] });
  }
  return freezeCell({ allowed: false, cause: policies.length > 0 ? 'forbid' : 'default-deny', policies, errors: [] });
}

// Policies and errors are sorted: Cedar reports them in no fixed order, and the table (and its
// digest) must not depend on it.
function freezeCell(c: { allowed: boolean; cause: TableCell['cause']; policies: PolicyRef[]; errors: string[] }): TableCell {
  return Object.freeze({ allowed: c.allowed, cause: c.cause, policies: Object.freeze([...c.policies].sort(byId)), errors: Object.freeze([...c.errors].sort()) });
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
