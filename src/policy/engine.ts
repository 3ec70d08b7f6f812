// The holder of the policy table in force. A refused policy set or region state change leaves
// the previous table in force and says why; before any policy set is loaded, everything is denied.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../config/index.ts';
import { compileProgram, preparePolicies, recompileRegions, type PolicyProgram } from './compile.ts';
import { PolicyError } from './errors.ts';
import { jurisdictionResolver, policyJurisdictions } from './schema.ts';
import { DecisionTable } from './table.ts';
import { ACTIVE, DATA_CLASSES, type RegionState, type TableCell } from './types.ts';

/** The example policy set that ships with Sovereign (not legal advice). */
export const DEFAULT_POLICY_PATH = fileURLToPath(new URL('../../policies/default.cedar', import.meta.url));

/** The policy file a topology names (`policy.file`, relative to the topology file), or the default. */
export function policyFilePath(topology: Topology): string {
  const file = topology.data.policy.file;
  if (file === undefined) return DEFAULT_POLICY_PATH;
  const base = topology.file === '<inline>' ? process.cwd() : path.dirname(topology.file);
  return path.resolve(base, file);
}

export type LoadResult =
  | { readonly ok: true; readonly table: DecisionTable; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly error: PolicyError };

export type TableListener = (table: DecisionTable) => void;

/** A table that denies every request: in force until a policy set loads. */
export function denyAllTable(topology: Topology, reason = 'no policy set loaded'): DecisionTable {
  const jurisdictions = (() => {
    try {
      return policyJurisdictions(topology);
    } catch {
      return [...topology.jurisdictions];
    }
  })();
  const cell: TableCell = Object.freeze({ allowed: false, cause: 'error', policies: Object.freeze([]), errors: Object.freeze([reason]) });
  return new DecisionTable({
    jurisdictions,
    regions: topology.regions.map((r) => r.id),
    regionJurisdictions: topology.regions.map((r) => r.jurisdiction),
    policies: [],
    cells: new Array<TableCell>(jurisdictions.length * DATA_CLASSES.length * topology.regions.length).fill(cell),
    regionStates: new Map(),
    digest: 'none',
    policyDigest: 'none',
    source: '(none)',
    warnings: [],
    resolve: jurisdictionResolver(topology),
  });
}

export class PolicyEngine {
  readonly topology: Topology;
  #table: DecisionTable;
  #program: PolicyProgram | null = null;
  readonly #states = new Map<string, RegionState>();
  readonly #listeners = new Set<TableListener>();

  constructor(topology: Topology) {
    this.topology = topology;
    this.#table = denyAllTable(topology);
  }

  /** The table in force. Read it once per request; it never changes under you (a change is a new table). */
  get table(): DecisionTable {
    return this.#table;
  }

  /** Has a policy set been loaded? */
  get loaded(): boolean {
    return this.#program !== null;
  }

  /** Compiles `text` with the current region state; on failure keeps the table in force. */
  load(text: string, source = '<inline>'): LoadResult {
    try {
      const program = preparePolicies(this.topology, text, source);
      const table = compileProgram(program, this.#states);
      this.#program = program;
      return this.#install(table);
    } catch (err) {
      return { ok: false, error: asPolicyError(err, source) };
    }
  }

  /** Loads the topology's policy file (`policy.file`, default policies/default.cedar), or `file`. */
  loadFile(file: string = policyFilePath(this.topology)): LoadResult {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return { ok: false, error: new PolicyError(file, [`cannot read the policy file: ${(err as Error).message}; set policy.file in the topology`]) };
    }
    return this.load(text, file);
  }

  /** The region's legal state (active unless suspended). */
  regionState(regionId: string): RegionState {
    return this.#states.get(regionId) ?? ACTIVE;
  }

  /**
   * Changes a region's legal state (e.g. a legal trigger suspends it for EU subjects) and
   * re-evaluates that region only. An unknown region or jurisdiction is refused, table unchanged.
   */
  setRegionState(regionId: string, state: Partial<RegionState>): LoadResult {
    const prev = this.regionState(regionId);
    const next: RegionState = { suspended: state.suspended ?? prev.suspended, suspendedFor: state.suspendedFor ?? prev.suspendedFor };
    const source = `region state of ${regionId}`;
    if (this.topology.region(regionId) === undefined) {
      return { ok: false, error: new PolicyError(source, [`no region has id "${regionId}" (regions: ${this.topology.regions.map((r) => r.id).join(', ')})`]) };
    }
    const known = new Set(this.#table.jurisdictions);
    const bad = next.suspendedFor.filter((j) => !known.has(j));
    if (bad.length > 0) {
      return { ok: false, error: new PolicyError(source, [`suspendedFor: ${bad.join(', ')} not a jurisdiction (${[...known].join(', ')})`]) };
    }
    try {
      const table = this.#program === null ? this.#table : recompileRegions(this.#program, this.#table, new Map([[regionId, next]]));
      if (next.suspended || next.suspendedFor.length > 0) this.#states.set(regionId, { suspended: next.suspended, suspendedFor: [...next.suspendedFor] });
      else this.#states.delete(regionId);
      return this.#program === null ? { ok: true, table, warnings: [] } : this.#install(table);
    } catch (err) {
      return { ok: false, error: asPolicyError(err, source) };
    }
  }

  /** Called with each new table (after load or a region state change). Returns an unsubscribe function. */
  onChange(listener: TableListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #install(table: DecisionTable): LoadResult {
    this.#table = table;
    for (const l of this.#listeners) {
      try {
        l(table);
      } catch {
        // A listener's failure must not undo a table that is already in force.
      }
    }
    return { ok: true, table, warnings: table.warnings };
  }
}

function asPolicyError(err: unknown, source: string): PolicyError {
  return err instanceof PolicyError ? err : new PolicyError(source, [(err as Error).message ?? String(err)]);
}
