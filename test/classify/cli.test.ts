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

test('--eval scores a labelled JSON Lines file per type and per language; bad lines are named', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-eval-'));
  const file = path.join(dir, 'labelled.jsonl');
  const lines = [
    { text: 'mail jane@example.com', entities: [{ type: 'EMAIL', start: 5, end: 21 }], lang: 'en' },
    { text: 'Ich habe Diabetes.', entities: [{ type: 'HEALTH', start: 9, end: 17 }], lang: 'de' },
    { text: 'nothing here, call 030 12345678', entities: [], lang: 'de' },
    { text: 'no label for this e-mail: x@y.example', entities: [{ type: 'PHONE', start: 0, end: 2 }], lang: 'en' },
  ];
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
  const script = `import { Command } from 'commander'; import { register } from './src/cli/classify.ts'; const p = new Command(); register(p); await p.parseAsync(['node', 'x', 'classify', '--eval', ${JSON.stringify(file)}, '--json']);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('../../', import.meta.url).pathname });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { examples: number; byType: Record<string, { tp: number; fp: number; fn: number; precision: number; recall: number }>; byLang: Record<string, Record<string, { tp: number; fp: number; fn: number }>> };
  assert.equal(out.examples, 4);
  // EMAIL is labelled in the file, so the unlabelled e-mail of line 4 is a false positive
  assert.deepEqual(out.byType.EMAIL, { tp: 1, fp: 1, fn: 0, precision: 0.5, recall: 1 });
  assert.equal(out.byType.PHONE?.fp, 1, 'the unlabelled phone number counts against precision');
  assert.equal(out.byType.PHONE?.fn, 1);
  assert.deepEqual(out.byLang.de?.HEALTH, { tp: 1, fp: 0, fn: 0, precision: 1, recall: 1 });

  writeFileSync(file, '{"text": "x", "entities": [{"type": "EMAIL", "start": 0, "end": 9}]}\n');
  const bad = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('../../', import.meta.url).pathname });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /labelled\.jsonl:1: entity EMAIL \[0, 9\) is outside the text/);
});
