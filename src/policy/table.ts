// The compiled decision table: (jurisdiction, data class, region) → allow/deny with the
// determining policies. Built when policies or region state change; read on every request.
// Lookups are array indexing; the permitted set for a (jurisdiction set, class) is computed
// once and cached, so the hot path is a Map hit whatever the number of rules.
import { DATA_CLASSES, UNKNOWN, type CellCause, type DataClass, type PolicyRef, type RegionState, type TableCell } from './types.ts';

/** How one jurisdiction of a request judged one region. */
export interface JurisdictionVerdict {
  readonly jurisdiction: string;
  readonly allowed: boolean;
  readonly cause: CellCause;
  readonly policies: readonly PolicyRef[];
  readonly errors: readonly string[];
}

/** Legal verdict on one region for a request: allowed only if every jurisdiction allows it (strictest wins). */
export interface RegionVerdict {
  readonly region: string;
  /** The region's own jurisdiction. */
  readonly regionJurisdiction: string;
  readonly allowed: boolean;
  readonly byJurisdiction: readonly JurisdictionVerdict[];
}

/** A region the law excludes for a request, with every policy that excluded it. */
export interface DeniedRegion {
  readonly region: string;
  /** The request jurisdictions that denied it. */
  readonly jurisdictions: readonly string[];
  readonly causes: readonly CellCause[];
  /** Determining policies (forbids, or the policies whose evaluation failed), sorted by id; empty for a default deny. */
  readonly policies: readonly PolicyRef[];
}

/** The law's answer for one (jurisdiction set, data class): computed once per table and cached. */
export interface PermittedSet {
  /** Resolved jurisdictions, sorted, without duplicates (`unknown` when none was given). */
  readonly jurisdictions: readonly string[];
  readonly dataClass: DataClass;
  /** Permitted regions, in topology order. Empty: the gateway answers 451. */
  readonly regions: readonly string[];
  readonly denied: readonly DeniedRegion[];
  /** One verdict per region of the topology, in topology order. */
  readonly perRegion: readonly RegionVerdict[];
}

/** Everything the table is built from; produced by compilePolicies. */
export interface TableInit {
  readonly jurisdictions: readonly string[];
  readonly regions: readonly string[];
  readonly regionJurisdictions: readonly string[];
  readonly policies: readonly PolicyRef[];
  /** cells[(j * classes + c) * regions + r] */
  readonly cells: readonly TableCell[];
  readonly regionStates: ReadonlyMap<string, RegionState>;
  readonly digest: string;
  readonly policyDigest: string;
  readonly source: string;
  readonly warnings: readonly string[];
  readonly resolve: (value: string) => string;
}

const PERMITTED_CACHE_LIMIT = 4096;
const C = DATA_CLASSES.length;

const UNKNOWN_NAME: TableCell = Object.freeze({
  allowed: false,
  cause: 'error',
  policies: Object.freeze([]),
  errors: Object.freeze(['not a jurisdiction, data class or region of this table']),
});

export class DecisionTable {
  /** The Cedar `Jurisdiction` enumeration: configured jurisdictions, `unknown`, `third_country`. */
  readonly jurisdictions: readonly string[];
  readonly dataClasses: readonly DataClass[] = DATA_CLASSES;
  /** Region ids in topology order. */
  readonly regions: readonly string[];
  /** Each region's jurisdiction, parallel to `regions`. */
  readonly regionJurisdictions: readonly string[];
  /** Every policy of the set, in file order. */
  readonly policies: readonly PolicyRef[];
  /** Region state the table was compiled with (regions not listed are active). */
  readonly regionStates: ReadonlyMap<string, RegionState>;
  /** sha256 over policy text, schema and region state: names this exact table in ledger entries. */
  readonly digest: string;
  /** sha256 of the policy text alone. */
  readonly policyDigest: string;
  /** Where the policy text came from. */
  readonly source: string;
  readonly warnings: readonly string[];
  readonly #cells: readonly TableCell[];
  readonly #jIndex: Map<string, number>;
  readonly #cIndex: Map<string, number>;
  readonly #rIndex: Map<string, number>;
  readonly #resolve: (value: string) => string;
  readonly #permitted = new Map<string, PermittedSet>();

  constructor(init: TableInit) {
    this.jurisdictions = Object.freeze([...init.jurisdictions]);
    this.regions = Object.freeze([...init.regions]);
    this.regionJurisdictions = Object.freeze([...init.regionJurisdictions]);
    this.policies = Object.freeze([...init.policies]);
    this.regionStates = init.regionStates;
    this.digest = init.digest;
    this.policyDigest = init.policyDigest;
    this.source = init.source;
    this.warnings = init.warnings;
    const expected = this.jurisdictions.length * C * this.regions.length;
    if (init.cells.length !== expected) throw new Error(`decision table: ${init.cells.length} cells, expected ${expected}`);
    this.#cells = init.cells;
    this.#jIndex = new Map(this.jurisdictions.map((j, i) => [j, i]));
    this.#cIndex = new Map(DATA_CLASSES.map((c, i) => [c, i]));
    this.#rIndex = new Map(this.regions.map((r, i) => [r, i]));
    this.#resolve = init.resolve;
  }

  /** All cells in index order (for recompiling one region's column). */
  get cells(): readonly TableCell[] {
    return this.#cells;
  }

  /** Index of a cell, or -1 when a name is not in the table. */
  indexOf(jurisdiction: string, dataClass: string, region: string): number {
    const j = this.#jIndex.get(jurisdiction);
    const c = this.#cIndex.get(dataClass);
    const r = this.#rIndex.get(region);
    if (j === undefined || c === undefined || r === undefined) return -1;
    return (j * C + c) * this.regions.length + r;
  }

  /**
   * The decision for one policy jurisdiction (exact enumeration value), class and region. O(1).
   * A name the table does not know yields a deny (fail closed).
   */
  cell(jurisdiction: string, dataClass: string, region: string): TableCell {
    return this.#cells[this.indexOf(jurisdiction, dataClass, region)] ?? UNKNOWN_NAME;
  }

  /** `cell(...).allowed`. */
  isAllowed(jurisdiction: string, dataClass: string, region: string): boolean {
    return this.cell(jurisdiction, dataClass, region).allowed;
  }

  /** Maps a jurisdiction name or country code to a policy jurisdiction ('DE' → 'EU', 'US' → 'third_country'). */
  resolveJurisdiction(value: string): string {
    return this.#resolve(value);
  }

  /**
   * The regions the law permits for data of `dataClass` whose subjects belong to all of
   * `jurisdictions` (names or country codes; none = `unknown`): a region is permitted only if
   * every jurisdiction permits it. Cached per (resolved jurisdiction set, class).
   */
  permitted(jurisdictions: readonly string[], dataClass: DataClass): PermittedSet {
    let key: string;
    let resolved: string[] | undefined;
    if (jurisdictions.length === 1) {
      key = `${dataClass}|${this.#resolve(jurisdictions[0]!)}`;
    } else {
      resolved = jurisdictions.length === 0 ? [UNKNOWN] : [...new Set(jurisdictions.map(this.#resolve))].sort();
      key = `${dataClass}|${resolved.join(',')}`;
    }
    const hit = this.#permitted.get(key);
    if (hit !== undefined) return hit;
    resolved ??= [this.#resolve(jurisdictions[0]!)];
    const set = this.#computePermitted(resolved, dataClass);
    if (this.#permitted.size >= PERMITTED_CACHE_LIMIT) this.#permitted.clear();
    this.#permitted.set(key, set);
    return set;
  }

  #computePermitted(jurisdictions: readonly string[], dataClass: DataClass): PermittedSet {
    const regions: string[] = [];
    const denied: DeniedRegion[] = [];
    const perRegion: RegionVerdict[] = [];
    this.regions.forEach((region, r) => {
      const byJurisdiction: JurisdictionVerdict[] = jurisdictions.map((j) => {
        const cell = this.cell(j, dataClass, region);
        return Object.freeze({ jurisdiction: j, allowed: cell.allowed, cause: cell.cause, policies: cell.policies, errors: cell.errors });
      });
      const allowed = byJurisdiction.length > 0 && byJurisdiction.every((v) => v.allowed);
      perRegion.push(Object.freeze({ region, regionJurisdiction: this.regionJurisdictions[r]!, allowed, byJurisdiction: Object.freeze(byJurisdiction) }));
      if (allowed) {
        regions.push(region);
        return;
      }
      const against = byJurisdiction.filter((v) => !v.allowed);
      const policies = new Map<string, PolicyRef>();
      for (const v of against) for (const p of v.policies) policies.set(p.id, p);
      denied.push(
        Object.freeze({
          region,
          jurisdictions: Object.freeze(against.map((v) => v.jurisdiction)),
          causes: Object.freeze([...new Set(against.map((v) => v.cause))].sort()),
          policies: Object.freeze([...policies.values()].sort(byId)),
        }),
      );
    });
    return Object.freeze({
      jurisdictions: Object.freeze([...jurisdictions]),
      dataClass,
      regions: Object.freeze(regions),
      denied: Object.freeze(denied),
      perRegion: Object.freeze(perRegion),
    });
  }

  /** Rows of the table for printing: one per (jurisdiction, class), allowed regions and every cell. */
  rows(): { jurisdiction: string; dataClass: DataClass; allowed: string[]; cells: { region: string; cell: TableCell }[] }[] {
    const out = [];
    for (const jurisdiction of this.jurisdictions) {
      for (const dataClass of DATA_CLASSES) {
        const cells = this.regions.map((region) => ({ region, cell: this.cell(jurisdiction, dataClass, region) }));
        out.push({ jurisdiction, dataClass, allowed: cells.filter((x) => x.cell.allowed).map((x) => x.region), cells });
      }
    }
    return out;
  }

  /** A JSON form of the whole table (policy ids only in cells; full policies listed once). */
  toJSON(): unknown {
    return {
      digest: this.digest,
      policyDigest: this.policyDigest,
      source: this.source,
      jurisdictions: this.jurisdictions,
      dataClasses: this.dataClasses,
      regions: this.regions,
      regionStates: Object.fromEntries(this.regionStates),
      policies: this.policies,
      table: this.rows().map((row) => ({
        jurisdiction: row.jurisdiction,
        dataClass: row.dataClass,
        allowed: row.allowed,
        cells: Object.fromEntries(
          row.cells.map(({ region, cell }) => [
            region,
            { decision: cell.allowed ? 'allow' : 'deny', cause: cell.cause, policies: cell.policies.map((p) => p.id), ...(cell.errors.length > 0 ? { errors: cell.errors } : {}) },
          ]),
        ),
      })),
    };
  }
}

export function byId(a: PolicyRef, b: PolicyRef): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
