/** A topology file that cannot be used. The message names the file, the key and what was expected. */
export class ConfigError extends Error {
  readonly code = 'SOVEREIGN_CONFIG_INVALID';
  readonly file: string;
  readonly problems: readonly string[];

  constructor(file: string, problems: readonly string[]) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}
