// `sovereign policy compile` and `sovereign policy test`, run in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { defaultTopology } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-policy-cli-'));
const config = path.join(dir, 'sovereign.yaml');
writeFileSync(config, stringify({ ...defaultTopology().data, dataDir: dir }));

function cli(...args: string[]) {
  const script = `
    import { Command } from 'commander';
    import { register } from './src/cli/policy.ts';
    const program = new Command('sovereign').option('-c, --config <file>');
    register(program);
    program.parse(process.argv.slice(1), { from: 'user' });`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { cwd: ROOT, encoding: 'utf8' });
}

test('policy compile prints the table', () => {
  const r = cli('--config', config, 'policy', 'compile');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^EU\s+personal\s+allow\s+allow\s+allow\s+deny$/m);
  assert.match(r.stdout, /^third_country\s+public\s+deny\s+deny\s+deny\s+deny$/m);
  assert.match(r.stderr, /compiled 11 policies/);
});

test('policy compile --json gives the whole table', () => {
  const r = cli('--config', config, 'policy', 'compile', '--json');
  assert.equal(r.status, 0, r.stderr);
  const t = JSON.parse(r.stdout) as { regions: string[]; table: { jurisdiction: string; dataClass: string; allowed: string[] }[] };
  assert.equal(t.regions.length, 4);
  assert.deepEqual(t.table.find((x) => x.jurisdiction === 'SG' && x.dataClass === 'special')?.allowed, ['sg-singapore']);
});

test('policy test passes the shipped cases', () => {
  const r = cli('--config', config, 'policy', 'test', 'policies/tests/default.yaml');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /27 cases, 27 passed, 0 failed/);
});

test('policy test exits 1 and prints each failure', () => {
  const cases = path.join(dir, 'bad.yaml');
  writeFileSync(cases, stringify({ cases: [
    { name: 'right', jurisdictions: ['AE'], class: 'special', expect: ['uae-dubai'] },
    { name: 'wrong', jurisdictions: ['EU'], class: 'special', expect: 451 },
  ] }));
  const r = cli('--config', config, 'policy', 'test', cases);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /ok {4}right/);
  assert.match(r.stdout, /FAIL {2}wrong\n\s+expected 451, got permitted \[eu-frankfurt, eu-paris\]/);
});

test('a policy file that does not validate exits 1 naming the file and the problem', () => {
  const bad = path.join(dir, 'bad.cedar');
  writeFileSync(bad, '@id("x") @rationale("r") @legal_ref("l")\npermit (principal == Jurisdiction::"EUU", action, resource);\n');
  const r = cli('--config', config, 'policy', 'compile', '--policy', bad);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.cedar: policy set refused/);
  assert.match(r.stderr, /EUU/);
});

test('a bad cases file is reported', () => {
  const cases = path.join(dir, 'cases.yaml');
  writeFileSync(cases, stringify({ cases: [{ name: 'x', jurisdictions: ['EU'], class: 'secret', expect: 451 }] }));
  const r = cli('--config', config, 'policy', 'test', cases);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cases\.0\.class/);
});
