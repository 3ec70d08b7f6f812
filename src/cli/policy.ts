// `sovereign policy compile` and `sovereign policy test <cases.yaml>`: a thin layer over src/policy.
import type { Command } from 'commander';
import { loadTopology, type Topology } from '../config/index.ts';
import { PolicyEngine, readCases, runCases, schemaFor, type DecisionTable, type PolicyError } from '../policy/index.ts';

interface PolicyOptions {
  policy?: string;
  json?: boolean;
  schema?: boolean;
  verbose?: boolean;
}

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);

export function register(program: Command): void {
  const policy = program.command('policy').description('legal policies (Cedar): compile to the decision table, test against cases');

  policy
    .command('compile')
    .description('validate the policy set and print the decision table (jurisdiction × data class × region)')
    .option('--policy <file>', 'Cedar policy file (default: policy.file from the topology, else policies/default.cedar)')
    .option('--json', 'print the table as JSON')
    .option('--schema', 'print the Cedar schema generated from the topology instead')
    .option('-v, --verbose', 'print the determining policies of every cell')
    .action((opts: PolicyOptions) => {
      const topology = topologyOf(program);
      if (!topology) return;
      if (opts.schema) {
        process.stdout.write(schemaFor(topology));
        return;
      }
      const engine = loaded(topology, opts.policy);
      if (!engine) return;
      if (opts.json) out(JSON.stringify(engine.table, null, 2));
      else printTable(engine.table, opts.verbose === true);
    });

  policy
    .command('test')
    .description('check the policy set against expected outcomes; exits 1 on any mismatch')
    .argument('<cases>', 'YAML file: cases: [{ name, jurisdictions, class, suspended?, expect: [regions] | 451, deniedBy? }]')
    .option('--policy <file>', 'Cedar policy file (default: policy.file from the topology, else policies/default.cedar)')
    .action((file: string, opts: PolicyOptions) => {
      const topology = topologyOf(program);
      if (!topology) return;
      const engine = loaded(topology, opts.policy);
      if (!engine) return;
      let cases;
      try {
        cases = readCases(file);
      } catch (e) {
        fail(e);
        return;
      }
      const results = runCases(engine, cases);
      for (const r of results) {
        if (r.ok) out(`ok    ${r.name}`);
        else {
          out(`FAIL  ${r.name}`);
          for (const p of r.problems) out(`        ${p}`);
        }
      }
      const failed = results.filter((r) => !r.ok).length;
      out(`\n${results.length} cases, ${results.length - failed} passed, ${failed} failed (${engine.table.source})`);
      if (failed > 0) process.exitCode = 1;
    });
}

function topologyOf(program: Command): Topology | undefined {
  const { config } = program.opts<{ config?: string }>();
  try {
    return loadTopology(config);
  } catch (e) {
    fail(e);
    return undefined;
  }
}

function loaded(topology: Topology, file: string | undefined): PolicyEngine | undefined {
  const engine = new PolicyEngine(topology);
  const started = performance.now();
  const r = file === undefined ? engine.loadFile() : engine.loadFile(file);
  if (!r.ok) {
    printPolicyError(r.error);
    return undefined;
  }
  for (const w of r.warnings) err(`warning: ${w}`);
  err(`compiled ${r.table.policies.length} policies from ${r.table.source} in ${(performance.now() - started).toFixed(0)} ms`);
  return engine;
}

function printPolicyError(e: PolicyError): void {
  err(e.message);
  err('The policy set was not loaded. Fix the policies listed above (see policies/schema.cedarschema for the vocabulary).');
  process.exitCode = 1;
}

function fail(e: unknown): void {
  err(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
}

function printTable(table: DecisionTable, verbose: boolean): void {
  out(`policy ${table.source}  (sha256 ${table.policyDigest.slice(0, 16)}…, table ${table.digest.slice(0, 16)}…)`);
  for (const [id, s] of table.regionStates) out(`region ${id}: ${s.suspended ? 'suspended' : `suspended for ${s.suspendedFor.join(', ')}`}`);
  const jw = Math.max(12, ...table.jurisdictions.map((j) => j.length)) + 2;
  const rw = table.regions.map((r) => Math.max(r.length, 5) + 2);
  out(['jurisdiction'.padEnd(jw), 'class'.padEnd(10), ...table.regions.map((r, i) => r.padEnd(rw[i]!))].join('').trimEnd());
  for (const row of table.rows()) {
    const cells = row.cells.map(({ cell }, i) => (cell.allowed ? 'allow' : cell.cause === 'error' ? 'ERROR' : 'deny').padEnd(rw[i]!));
    out([row.jurisdiction.padEnd(jw), row.dataClass.padEnd(10), ...cells].join('').trimEnd());
    if (verbose) {
      for (const { region, cell } of row.cells) {
        const why = cell.policies.map((p) => p.id).join(', ') || (cell.cause === 'default-deny' ? 'no permit applies' : '');
        out(`    ${region}: ${cell.cause}${why ? ` (${why})` : ''}${cell.errors.length > 0 ? ` errors: ${cell.errors.join('; ')}` : ''}`);
      }
    }
  }
  out('\npolicies:');
  for (const p of table.policies) out(`  ${p.effect.padEnd(7)} ${p.id}: ${p.rationale} [${p.legalRef}]`);
}
