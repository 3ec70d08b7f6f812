// Where benchmarks write their results: bench/results/<name>-<YYYY-MM-DD>.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { today } from './stats.ts';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export function machine(): Record<string, unknown> {
  return { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg(), memGiB: Math.round(os.totalmem() / 2 ** 30) };
}

/** `suffix` follows the date (e.g. "-loaded": figures from a busy machine, kept apart from the day's). */
export function writeResults(name: string, json: unknown, markdown?: string, suffix = ''): { json: string; md?: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const day = `${today()}${suffix}`;
  const jsonFile = path.join(RESULTS_DIR, `${name}-${day}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  if (markdown === undefined) return { json: jsonFile };
  const mdFile = path.join(RESULTS_DIR, `${name}-${day}.md`);
  writeFileSync(mdFile, markdown);
  return { json: jsonFile, md: mdFile };
}
