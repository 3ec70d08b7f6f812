// Policy text → policies keyed by their @id, validated strictly against the schema.
// Cedar quirks guarded here: `@id` is only an annotation unless policies are passed as a map
// keyed by it; `validate` answers "success" even when it found errors (check the list).
import { cedar, formatCedarError } from './cedar.ts';
import { PolicyError } from './errors.ts';
import type { PolicyRef } from './types.ts';

export interface ParsedPolicySet {
  /** Policies in file order. */
  readonly policies: readonly PolicyRef[];
  /** Policy text keyed by @id: the form Cedar is given, so its policy ids are the @ids. */
  readonly textById: Readonly<Record<string, string>>;
  /** Validator warnings (not fatal). */
  readonly warnings: readonly string[];
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const REQUIRED = ['id', 'rationale', 'legal_ref'] as const;

/**
 * Parses and strictly validates a policy set. Throws PolicyError listing every problem:
 * syntax errors, templates, a missing or duplicate @id, a missing @rationale or @legal_ref,
 * validation errors (unknown jurisdiction or data class, wrong attribute, type errors).
 */
export function parsePolicySet(text: string, schema: string, source = '<inline>'): ParsedPolicySet {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new PolicyError(source, parts.errors.map((e) => formatCedarError(e, text)));
  const problems: string[] = [];
  if (parts.policy_templates.length > 0) problems.push('policy templates are not supported: write static policies');
  if (parts.policies.length === 0) problems.push('no policies: every request would be denied; refusing an empty policy set');

  const policies: PolicyRef[] = [];
  const textById: Record<string, string> = {};
  // Cedar returns the parts sorted by its own ids (policy0, policy1, policy10, …): restore file order.
  const located = parts.policies.map((p) => ({ p, at: text.indexOf(p) })).sort((a, b) => a.at - b.at);
  located.forEach(({ p, at }, i) => {
    const where = `policy #${i + 1}${at >= 0 ? ` (${lineOf(text, at)})` : ''}`;
    const json = cedar.policyToJson(p);
    if (json.type === 'failure') {
      problems.push(`${where}: ${json.errors.map((e) => formatCedarError(e)).join('; ')}`);
      return;
    }
    const ann = json.json.annotations ?? {};
    const missing = REQUIRED.filter((k) => !ann[k]?.trim());
    if (missing.length > 0) {
      problems.push(`${where}: missing ${missing.map((k) => `@${k}("…")`).join(', ')}; every policy needs @id, @rationale and @legal_ref`);
      return;
    }
    const id = ann.id!.trim();
    if (!ID_PATTERN.test(id)) {
      problems.push(`${where}: @id("${id.slice(0, 64)}") must be letters, digits, ".", "_", ":" or "-"`);
      return;
    }
    if (id in textById) {
      problems.push(`${where}: duplicate @id("${id}"); each policy needs its own id`);
      return;
    }
    textById[id] = p;
    policies.push({ id, effect: json.json.effect, rationale: ann.rationale!.trim(), legalRef: ann.legal_ref!.trim() });
  });
  if (problems.length > 0) throw new PolicyError(source, problems);

  const answer = cedar.validate({ schema, policies: { staticPolicies: textById }, validationSettings: { mode: 'strict' } });
  if (answer.type === 'failure') throw new PolicyError(source, answer.errors.map((e) => `schema or policies: ${formatCedarError(e)}`));
  // "success" only means the validator ran: the errors are in the list.
  if (answer.validationErrors.length > 0) {
    throw new PolicyError(
      source,
      answer.validationErrors.map((v) => `@id("${v.policyId}"): ${formatCedarError(v.error, textById[v.policyId])}`),
    );
  }
  const warnings = [
    ...answer.validationWarnings.map((v) => `@id("${v.policyId}"): ${formatCedarError(v.error)}`),
    ...answer.otherWarnings.map((w) => formatCedarError(w)),
  ];
  return { policies, textById, warnings };
}

function lineOf(text: string, offset: number): string {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return `line ${line}`;
}
