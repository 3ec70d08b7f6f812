/** A policy set (or a region state change) that was refused. The previous table stays in force. */
export class PolicyError extends Error {
  readonly code = 'SOVEREIGN_POLICY_INVALID';
  /** Where the policies came from (a file path or '<inline>'). */
  readonly source: string;
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`${source}: policy set refused\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PolicyError';
    this.source = source;
    this.problems = problems;
  }
}
