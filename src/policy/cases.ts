// Policy test cases (`sovereign policy test <cases.yaml>`): request attributes → the permitted
// regions the law should give, or 451. Each case may suspend regions first.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { PolicyEngine } from './engine.ts';
import { PolicyError } from './errors.ts';
import { DATA_CLASSES, type RegionState } from './types.ts';

const CaseSchema = z.strictObject({
  name: z.string().min(1),
  /** Jurisdiction names or ISO country codes of the data subjects. */
  jurisdictions: z.array(z.string().min(1)),
  class: z.enum(DATA_CLASSES),
  /** Regions to suspend: a list (suspended for everyone) or { region: true | [jurisdictions] }. */
  suspended: z.union([z.array(z.string()), z.record(z.string(), z.union([z.literal(true), z.array(z.string())]))]).optional(),
  /** Permitted regions (any order), or 451 when none. */
  expect: z.union([z.literal(451), z.array(z.string()).min(1)]),
  /** Policy ids that must be among the determining policies of the denied regions. */
  deniedBy: z.array(z.string()).optional(),
});
const CasesSchema = z.strictObject({ cases: z.array(CaseSchema).min(1) });
export type PolicyCase = z.infer<typeof CaseSchema>;

export interface CaseResult {
  readonly name: string;
  readonly ok: boolean;
  readonly permitted: readonly string[];
  readonly problems: readonly string[];
}

/** Reads a cases file. Throws PolicyError naming the file and each bad case. */
export function readCases(file: string): PolicyCase[] {
  let data: unknown;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PolicyError(file, [`cannot read the cases file: ${(err as Error).message}`]);
  }
  const parsed = CasesSchema.safeParse(data);
  if (!parsed.success) throw new PolicyError(file, parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`));
  return parsed.data.cases;
}

/** Runs cases against an engine with policies loaded; region state is restored after each case. */
export function runCases(engine: PolicyEngine, cases: readonly PolicyCase[]): CaseResult[] {
  return cases.map((c) => {
    const problems: string[] = [];
    const states = suspensions(c);
    const saved = [...states.keys()].map((id) => [id, engine.regionState(id)] as const);
    for (const [id, s] of states) {
      const r = engine.setRegionState(id, s);
      if (!r.ok) problems.push(`cannot suspend ${id}: ${r.error.problems.join('; ')}`);
    }
    const set = engine.table.permitted(c.jurisdictions, c.class);
    const got = [...set.regions].sort();
    if (c.expect === 451) {
      if (got.length > 0) problems.push(`expected 451, got permitted [${got.join(', ')}]`);
    } else {
      const want = [...c.expect].sort();
      if (want.join(',') !== got.join(',')) {
        problems.push(`expected [${want.join(', ')}], got ${got.length === 0 ? '451' : `[${got.join(', ')}]`}`);
      }
    }
    const deniedBy = new Set(set.denied.flatMap((d) => d.policies.map((p) => p.id)));
    for (const id of c.deniedBy ?? []) if (!deniedBy.has(id)) problems.push(`expected policy ${id} among the denying policies (got: ${[...deniedBy].join(', ') || 'none'})`);
    if (problems.length > 0) {
      for (const d of set.denied) problems.push(`  ${d.region}: ${d.causes.join('/')} ${d.policies.map((p) => p.id).join(', ')}`);
    }
    for (const [id, s] of saved) engine.setRegionState(id, s);
    return { name: c.name, ok: problems.length === 0, permitted: got, problems };
  });
}

function suspensions(c: PolicyCase): Map<string, RegionState> {
  const out = new Map<string, RegionState>();
  if (c.suspended === undefined) return out;
  if (Array.isArray(c.suspended)) {
    for (const id of c.suspended) out.set(id, { suspended: true, suspendedFor: [] });
  } else {
    for (const [id, v] of Object.entries(c.suspended)) out.set(id, v === true ? { suspended: true, suspendedFor: [] } : { suspended: false, suspendedFor: v });
  }
  return out;
}
