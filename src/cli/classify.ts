// `sovereign classify [--json]`: classify text read from stdin.
// `sovereign classify --eval <labelled.jsonl> [--json]`: precision and recall per type (and per
// language) of the built-in classifier on a labelled file.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createClassifier, evaluateLabelled, formatEvaluation, parseLabelledJsonl, type Classification } from '../classify/index.ts';

/** Renders a classification: JSON ({class, detections}) or a readable summary. Never prints values. */
export function formatClassification(r: Classification, json: boolean): string {
  if (json) {
    return JSON.stringify({ class: r.class, detections: r.detections.map(({ type, start, end }) => ({ type, start, end })) });
  }
  const lines = [`class: ${r.class}`];
  const types = Object.entries(r.counts).sort(([a], [b]) => a.localeCompare(b));
  if (types.length === 0) lines.push('no personal data detected');
  for (const [type, n] of types) {
    const spans = r.detections.filter((d) => d.type === type).map((d) => `${d.start}-${d.end}`);
    lines.push(`  ${type.padEnd(20)} ${String(n).padStart(4)}  at ${spans.slice(0, 8).join(', ')}${spans.length > 8 ? ', …' : ''}`);
  }
  return lines.join('\n');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Scores the classifier on a labelled JSON Lines file; returns the report (throws naming the file and line on bad input). */
export function evaluateFile(path: string, json: boolean): string {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`classify --eval: cannot read ${path} (${err instanceof Error ? err.message : String(err)}); pass a JSON Lines file of {"text", "entities": [{"type","start","end"}], "lang"?}`);
  }
  const examples = parseLabelledJsonl(source, path);
  if (examples.length === 0) throw new Error(`classify --eval: ${path} has no labelled examples`);
  return formatEvaluation(evaluateLabelled(createClassifier(), examples), json);
}

export function register(program: Command): void {
  program
    .command('classify')
    .description('classify text from stdin: data class and personal-data types found (offsets, never values); --eval scores a labelled file')
    .option('--json', 'print {"class", "detections": [{"type","start","end"}]} (with --eval: the scores as JSON)')
    .option('--eval <labelled.jsonl>', 'print precision and recall per type and per language on a labelled JSON Lines file')
    .action(async (opts: { json?: boolean; eval?: string }) => {
      if (opts.eval !== undefined) {
        try {
          process.stdout.write(`${evaluateFile(opts.eval, opts.json === true)}\n`);
        } catch (err) {
          process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
          process.exitCode = 2;
        }
        return;
      }
      if (process.stdin.isTTY) process.stderr.write('reading text from stdin (end with Ctrl-D)…\n');
      const text = await readStdin();
      const result = createClassifier().classifyText(text);
      process.stdout.write(`${formatClassification(result, opts.json === true)}\n`);
    });
}
