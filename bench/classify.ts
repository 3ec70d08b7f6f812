// Throughput of the classifier on prose and on a 4 KiB chat request (median of several runs).
// Writes bench/results/classify-<YYYY-MM-DD>.json and prints a short table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClassifier, extractText } from '../src/classify/index.ts';

const PROSE_PARAGRAPH =
  'The committee reviewed the quarterly infrastructure report on Tuesday. Latency across the ' +
  'European regions improved after the routing change, while the Singapore cell saw a brief ' +
  'increase in queue depth during the model rollout. Engineers recommended raising the autoscaling ' +
  'threshold, documenting the failover runbook, and scheduling a game day before the next release. ' +
  'Costs remained within budget; storage grew by twelve percent, mostly from audit logs and model ' +
  'artifacts. Please send comments to the platform team before the end of the month.\n';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function measure(fn: () => void, iterations: number, runs: number): number {
  for (let k = 0; k < iterations; k++) fn(); // warm-up
  const per: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < iterations; k++) fn();
    per.push(Number(process.hrtime.bigint() - t0) / 1e6 / iterations);
  }
  return median(per); // ms per call
}

function chatRequest(bytes: number): { model: string; messages: { role: string; content: string }[] } {
  const user =
    'Hi, my name is Sarah Connor and my email is sarah.connor@example.com. Please summarise the ' +
    'following meeting notes and list the action items.\n';
  let notes = '';
  while (user.length + notes.length < bytes - 200) notes += PROSE_PARAGRAPH;
  return {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a concise assistant.' },
      { role: 'user', content: (user + notes).slice(0, bytes - 200) },
    ],
  };
}

const classifier = createClassifier();
const withCustom = createClassifier({ customPatterns: [{ type: 'EMPLOYEE_ID', pattern: '\\bEMP-[0-9]{6}\\b', class: 'personal' }] });

const prose = PROSE_PARAGRAPH.repeat(Math.ceil(1_048_576 / PROSE_PARAGRAPH.length)).slice(0, 1_048_576);
const proseMs = measure(() => classifier.classifyText(prose), 5, 9);
const proseCustomMs = measure(() => withCustom.classifyText(prose), 2, 5);
const req = chatRequest(4096);
const reqBytes = Buffer.byteLength(JSON.stringify(req));
const reqMs = measure(() => classifier.classifyRequest(req, 'internal'), 2000, 9);
const reqTextMs = measure(() => classifier.classifyText(extractText(req)), 2000, 9);
const mb = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

const results = {
  date: new Date().toISOString(),
  node: process.version,
  prose: { bytes: prose.length, msPerCall: proseMs, mbPerSecond: mb(prose.length, proseMs) },
  proseWithOneCustomPattern: { bytes: prose.length, msPerCall: proseCustomMs, mbPerSecond: mb(prose.length, proseCustomMs) },
  chatRequest4KiB: { bytes: reqBytes, usPerCall: reqMs * 1000, mbPerSecond: mb(reqBytes, reqMs) },
  chatText4KiB: { usPerCall: reqTextMs * 1000 },
};

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `classify-${results.date.slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

console.log('classify benchmark (median)');
console.log(`  prose 1 MiB                 ${results.prose.mbPerSecond.toFixed(1).padStart(8)} MB/s  (${proseMs.toFixed(2)} ms)`);
console.log(`  prose 1 MiB + 1 RE2 pattern ${results.proseWithOneCustomPattern.mbPerSecond.toFixed(1).padStart(8)} MB/s  (${proseCustomMs.toFixed(2)} ms)`);
console.log(`  chat request ${reqBytes} B      ${results.chatRequest4KiB.usPerCall.toFixed(1).padStart(8)} µs  (${results.chatRequest4KiB.mbPerSecond.toFixed(1)} MB/s)`);
console.log(`  written to ${file}`);
