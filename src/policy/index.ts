// Public entry of the policy component: Cedar legal policies, validated against a schema
// generated from the topology, compiled into a decision table at load and on region state change.

/** Data classes (public < internal < personal < special), reserved jurisdictions, region state, table cells. */
export {
  ACTIVE,
  DATA_CLASSES,
  RESERVED_JURISDICTIONS,
  THIRD_COUNTRY,
  UNKNOWN,
  classRank,
  isDataClass,
  type CellCause,
  type DataClass,
  type PolicyRef,
  type RegionState,
  type TableCell,
} from './types.ts';
/** Refused policy set or region state: `problems` lists every reason. */
export { PolicyError } from './errors.ts';
/** Schema generation (`schemaFor`), the Jurisdiction enumeration and country → jurisdiction mapping. */
export { PROCESS_ACTION, jurisdictionResolver, policyJurisdictions, schemaFor } from './schema.ts';
/** Parse + strict validation of a policy set (used by compile; exported for tooling). */
export { parsePolicySet, type ParsedPolicySet } from './parse.ts';
/** One-shot compilation and its parts; `readAnswer` is the fail-closed reading of a Cedar answer. */
export {
  compilePolicies,
  compileProgram,
  preparePolicies,
  readAnswer,
  recompileRegions,
  type CompileOptions,
  type PolicyProgram,
} from './compile.ts';
/** The compiled table: O(1) cells, cached permitted sets per (jurisdiction set, class). */
export {
  DecisionTable,
  type DeniedRegion,
  type JurisdictionVerdict,
  type PermittedSet,
  type RegionVerdict,
  type TableInit,
} from './table.ts';
/** The holder of the table in force: load / loadFile / setRegionState, keeping the old table on failure. */
export {
  DEFAULT_POLICY_PATH,
  PolicyEngine,
  denyAllTable,
  policyFilePath,
  type LoadResult,
  type TableListener,
} from './engine.ts';
/** Policy test cases (`sovereign policy test`): read a cases file, run it against an engine. */
export { readCases, runCases, type CaseResult, type PolicyCase } from './cases.ts';
/** Model promotion: Cedar rules over a model's attributes (policies/models.cedar) deciding which regions may hold it. */
export { DEFAULT_MODEL_POLICY_PATH, PROMOTE_ACTION, PromotionPolicy, modelSchemaFor, type ModelAttributes, type PromotionVerdict } from './model-promotion.ts';
