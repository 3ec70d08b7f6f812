// The law for model artifacts: may a model, given what it was trained on, be promoted
// (replicated) from the golden registry to a region? Cedar policies with @id, @rationale and
// @legal_ref like the routing policies, over the model's attributes (from its config blob) and
// the region (the same Region entity the routing policies see). Evaluated when a promotion is
// asked for, never on the request path; read fail-closed (readAnswer).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Topology } from '../config/index.ts';
import { cedar, type EntityJson } from './cedar.ts';
import { readAnswer, regionEntity } from './compile.ts';
import { PolicyError } from './errors.ts';
import { parsePolicySet } from './parse.ts';
import { jurisdictionResolver, sharedEntityTypes } from './schema.ts';
import { ACTIVE, classRank, type DataClass, type PolicyRef, type TableCell } from './types.ts';

/** The example promotion policies that ship with Sovereign (not legal advice). */
export const DEFAULT_MODEL_POLICY_PATH = fileURLToPath(new URL('../../policies/models.cedar', import.meta.url));
export const PROMOTE_ACTION = 'promote';

/** What the promotion policies know about a model (its config blob). */
export interface ModelAttributes {
  name: string;
  version: string;
  licence: string;
  runtime: string;
  /** Most sensitive class of the data it was trained or fine-tuned on. */
  trainingDataClass: DataClass;
  /** Jurisdictions (or country codes) of the data subjects whose data was used. */
  trainingJurisdictions: readonly string[];
}

/** Cedar schema of the promotion policies for a topology. */
export function modelSchemaFor(topology: Topology): string {
  return `// Sovereign model promotion schema, generated from the topology.
${sharedEntityTypes(topology)}// A model release (entity id = "<name>:<version>"), described by its config blob.
entity Model {
  name: String,
  version: String,
  licence: String,
  runtime: String,
  trainingDataClass: DataClass,
  // 0 public ... 3 special, as context.classRank in the routing policies.
  trainingDataRank: Long,
  trainingJurisdictions: Set<Jurisdiction>,
};
// May this model's artifact be replicated into resource's registry?
action "${PROMOTE_ACTION}" appliesTo {
  principal: Model,
  resource: Region,
  context: {},
};
`;
}

export interface PromotionVerdict {
  region: string;
  allowed: boolean;
  cause: TableCell['cause'];
  policies: readonly PolicyRef[];
  errors: readonly string[];
}

export class PromotionPolicy {
  readonly source: string;
  readonly #topology: Topology;
  readonly #schema: string;
  readonly #textById: Readonly<Record<string, string>>;
  readonly #refs: ReadonlyMap<string, PolicyRef>;

  private constructor(topology: Topology, text: string, source: string) {
    this.#topology = topology;
    this.source = source;
    this.#schema = modelSchemaFor(topology);
    const parsed = parsePolicySet(text, this.#schema, source);
    this.#textById = parsed.textById;
    this.#refs = new Map(parsed.policies.map((p) => [p.id, p]));
  }

  /** Loads `file`, or registry.policy of the topology, or policies/models.cedar. Throws PolicyError. */
  static load(topology: Topology, file?: string): PromotionPolicy {
    const configured = topology.data.registry.policy;
    const base = topology.file === '<inline>' ? process.cwd() : path.dirname(topology.file);
    const f = file ?? (configured !== undefined ? path.resolve(base, configured) : DEFAULT_MODEL_POLICY_PATH);
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      throw new PolicyError(f, [`cannot read the model promotion policy file: ${(err as Error).message}; set registry.policy in the topology`]);
    }
    return new PromotionPolicy(topology, text, f);
  }

  static fromText(topology: Topology, text: string, source = '<inline>'): PromotionPolicy {
    return new PromotionPolicy(topology, text, source);
  }

  /** May `model` be promoted to `regionId`? Fail closed: any error is a refusal. */
  verdict(model: ModelAttributes, regionId: string): PromotionVerdict {
    const region = this.#topology.region(regionId);
    if (!region) return { region: regionId, allowed: false, cause: 'error', policies: [], errors: [`no region "${regionId}" in the topology`] };
    const resolve = jurisdictionResolver(this.#topology);
    const j = (id: string) => ({ __entity: { type: 'Jurisdiction', id } });
    const uid = { type: 'Model', id: `${model.name}:${model.version}` };
    const entity: EntityJson = {
      uid,
      attrs: {
        name: model.name,
        version: model.version,
        licence: model.licence,
        runtime: model.runtime,
        trainingDataClass: { __entity: { type: 'DataClass', id: model.trainingDataClass } },
        trainingDataRank: classRank(model.trainingDataClass),
        trainingJurisdictions: [...new Set(model.trainingJurisdictions.map(resolve))].map(j),
      },
      parents: [],
    };
    let cell: TableCell;
    try {
      const answer = cedar.isAuthorized({
        principal: uid,
        action: { type: 'Action', id: PROMOTE_ACTION },
        resource: { type: 'Region', id: regionId },
        context: {},
        schema: this.#schema,
        validateRequest: true,
        policies: { staticPolicies: this.#textById },
        entities: [entity, regionEntity(region, ACTIVE)],
      });
      cell = readAnswer(this.#refs, answer, false);
    } catch (err) {
      cell = { allowed: false, cause: 'error', policies: [], errors: [`cedar: ${(err as Error).message}`] };
    }
    return { region: regionId, allowed: cell.allowed, cause: cell.cause, policies: cell.policies, errors: cell.errors };
  }
}


