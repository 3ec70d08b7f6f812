import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Command } from 'commander';
import { register, formatClassification } from '../../src/cli/classify.ts';
import { createClassifier } from '../../src/classify/index.ts';

test('register adds the classify command with --json', () => {
  const program = new Command();
  register(program);
  const cmd = program.commands.find((c) => c.name() === 'classify');
  assert.ok(cmd);
  assert.ok(cmd.options.some((o) => o.long === '--json'));
});

test('formats JSON and a readable summary without values', () => {
  const r = createClassifier().classifyText('mail jane@example.com, I have asthma');
  assert.deepEqual(JSON.parse(formatClassification(r, true)), {
    class: 'special',
    detections: [{ type: 'EMAIL', start: 5, end: 21 }, { type: 'HEALTH', start: 30, end: 36 }],
  });
  const text = formatClassification(r, false);
  assert.match(text, /class: special/);
  assert.match(text, /EMAIL\s+1\s+at 5-21/);
  assert.ok(!text.includes('jane'));
});

test('reads stdin end to end', () => {
  const script = "import { Command } from 'commander'; import { register } from './src/cli/classify.ts'; const p = new Command(); register(p); await p.parseAsync(['node', 'x', 'classify', '--json']);";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: 'call +44 20 7946 0958', encoding: 'utf8', cwd: new URL('../../', import.meta.url).pathname });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { class: 'personal', detections: [{ type: 'PHONE', start: 5, end: 21 }] });
});
