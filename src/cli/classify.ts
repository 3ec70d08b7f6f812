// `sovereign classify [--json]`: classify text read from stdin.
import type { Command } from 'commander';
import { createClassifier, type Classification } from '../classify/index.ts';

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

export function register(program: Command): void {
  program
    .command('classify')
    .description('classify text from stdin: data class and personal-data types found (offsets, never values)')
    .option('--json', 'print {"class", "detections": [{"type","start","end"}]}')
    .action(async (opts: { json?: boolean }) => {
      if (process.stdin.isTTY) process.stderr.write('reading text from stdin (end with Ctrl-D)…\n');
      const text = await readStdin();
      const result = createClassifier().classifyText(text);
      process.stdout.write(`${formatClassification(result, opts.json === true)}\n`);
    });
}
