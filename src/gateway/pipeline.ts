// identify -> classify -> decide for one request, independent of HTTP: the gateway runs it
// per request, /sovereign/explain and `sovereign route --explain` show its result.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { DATA_CLASSES, badRequest, inputBytes, requestSegments } from '../common/index.ts';
import { parseDataClass, type Classifier, type DataClass } from '../classify/index.ts';
import type { TenantConfig, Topology } from '../config/index.ts';
import type { Geo } from '../geo/index.ts';
import { retentionDays } from '../store/index.ts';
import type { Decision } from './decision.ts';
import type { Decided, Decider } from './decide.ts';
import { identify } from './identify.ts';

export const CLASS_HEADER = 'x-data-classification';
export const SUBJECT_HEADER = 'x-sovereign-subject';

/** The data subject the tenant's application names: a pseudonymous id, one line, at most 256 characters. */
function subjectOf(headers: IncomingHttpHeaders): string | null {
  const v = headers[SUBJECT_HEADER];
  if (v === undefined) return null;
  if (typeof v !== 'string' || v.trim() === '' || v.length > 256 || /[\u0000-\u001f\u007f]/.test(v)) {
    throw badRequest(`${SUBJECT_HEADER}: expected one pseudonymous subject id of 1 to 256 characters (no control characters), sent once`, { param: SUBJECT_HEADER });
  }
  return v.trim();
}

export interface PipelineDeps {
  topology: Topology;
  geo: Geo;
  classifier: Classifier;
  decider: Decider;
}

export interface PipelineInput {
  tenant: TenantConfig | undefined;
  headers: IncomingHttpHeaders;
  /** The client address (socket peer, or X-Forwarded-For read over trusted proxies). */
  client: string;
  body: unknown;
  model: string;
}

/** 400 context_length_exceeded (the OpenAI error for an input over the model's limit). */
function contextLengthExceeded(model: string, bytes: number, limit: number): Error {
  return badRequest(`the input of this request is ${bytes} bytes; model "${model}" reads at most ${limit} bytes (models.${model}.maxInputBytes in the topology file); send less text`, { param: 'messages', code: 'context_length_exceeded' });
}

export function decideRequest(deps: PipelineDeps, input: PipelineInput): { d: Decision; decided: Decided } {
  const { headers, tenant } = input;
  // The strings the model will read (one definition, shared with the cells): measured against
  // the model's input limit before any other work, then classified, exactly these.
  const segments = requestSegments(input.body);
  const limit = deps.topology.inputLimitBytes(input.model);
  if (limit !== undefined) {
    const bytes = inputBytes(segments);
    if (bytes > limit) throw contextLengthExceeded(input.model, bytes, limit);
  }
  // Identify.
  const jurisdictions = identify(deps.topology, tenant, headers, deps.geo.lookup(input.client));
  // Classify: the higher of the declared class and what the user content shows.
  const declaredRaw = headers[CLASS_HEADER];
  let declared: DataClass | undefined;
  if (typeof declaredRaw === 'string' && declaredRaw.trim() !== '') {
    declared = parseDataClass(declaredRaw);
    if (!declared) throw badRequest(`${CLASS_HEADER}: "${declaredRaw.slice(0, 32)}" is not a data class; use one of ${DATA_CLASSES.join(', ')}`, { param: CLASS_HEADER });
  }
  const cls = deps.classifier.classifyRequest(segments, declared, tenant?.name);
  // Decide.
  const decided = deps.decider.decide({ jurisdictions, dataClass: cls.class, tenant: tenant?.name ?? null, model: input.model });
  const d: Decision = {
    id: randomUUID(),
    tenant: tenant?.name ?? null,
    jurisdictions,
    dataClass: cls.class,
    detectedTypes: Object.keys(cls.counts).sort(),
    mode: decided.route.mode,
    model: input.model,
    permitted: decided.permitted,
    candidates: decided.candidates,
    rationale: decided.rationale,
    clientAddress: input.client,
    subject: subjectOf(headers),
    retentionDays: retentionDays(deps.topology, tenant?.name ?? null, cls.class),
  };
  return { d, decided };
}

/** The full decision, as /sovereign/explain and `sovereign route --explain` show it. */
export function explanation(d: Decision, decided: Decided): Record<string, unknown> {
  const r = decided.route;
  return {
    decision_id: d.id,
    tenant: d.tenant,
    client_address: d.clientAddress,
    jurisdictions: d.jurisdictions,
    resolved_jurisdictions: r.jurisdictions,
    data_class: d.dataClass,
    detected_types: d.detectedTypes,
    retention_days: d.retentionDays,
    mode: r.mode,
    configured_mode: r.configuredMode,
    model: d.model,
    outcome: d.permitted.length === 0 ? 'deny (451)' : d.candidates.length === 0 ? 'unavailable (503)' : 'route',
    permitted: d.permitted,
    candidates: d.candidates,
    regions: r.perRegion.map((v) => ({
      region: v.region,
      jurisdiction: v.regionJurisdiction,
      allowed: v.allowed,
      by_jurisdiction: v.byJurisdiction.map((j) => ({
        jurisdiction: j.jurisdiction,
        allowed: j.allowed,
        cause: j.cause,
        policies: j.policies.map((p) => ({ id: p.id, effect: p.effect, rationale: p.rationale, legal_ref: p.legalRef })),
      })),
    })),
    rationale: d.rationale,
    table_digest: r.tableDigest,
  };
}
