// Classifier benchmark: prose throughput (1 MiB, MB/s) and the latency distribution of
// classifyRequest on a 4 KiB chat request (p50 / p99 over individually timed calls).
// Writes bench/results/classify-<YYYY-MM-DD>.json and prints a short table.
//
// Targets: classify of a 4 KiB chat request <= 100 µs p50 (with normalisation, libphonenumber-js
// validation and the multilingual lexicons), <= 200 µs p99, prose >= 50 MB/s. Cost per KiB is
// reported for prose and for the chat request. On a shared machine, compare runs made under the
// same conditions and look at several of them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClassifier, extractText } from '../src/classify/index.ts';
import { median, percentileSorted } from './lib/stats.ts';

const PROSE_PARAGRAPH =
  'The committee reviewed the quarterly infrastructure report on Tuesday. Latency across the ' +
  'European regions improved after the routing change, while the Singapore cell saw a brief ' +
  'increase in queue depth during the model rollout. Engineers recommended raising the autoscaling ' +
  'threshold, documenting the failover runbook, and scheduling a game day before the next release. ' +
  'Costs remained within budget; storage grew by twelve percent, mostly from audit logs and model ' +
  'artifacts. Please send comments to the platform team before the end of the month.\n';

const TARGET_P50_US = 100;
const TARGET_P99_US = 200;
const TARGET_PROSE_MBPS = 50;


/** Median over `runs` batches of the mean time per call (ms); for throughput. */
function measureBatches(fn: () => void, iterations: number, runs: number): number {
  for (let k = 0; k < iterations; k++) fn(); // warm-up
  const per: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < iterations; k++) fn();
    per.push(Number(process.hrtime.bigint() - t0) / 1e6 / iterations);
  }
  return median(per);
}

interface Latency {
  samples: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  meanUs: number;
}

/** Times every call separately (after warm-up) and returns the distribution in µs. */
function measureLatency(fn: () => void, warmup: number, samples: number): Latency {
  for (let k = 0; k < warmup; k++) fn();
  const t = new Float64Array(samples);
  for (let k = 0; k < samples; k++) {
    const t0 = process.hrtime.bigint();
    fn();
    t[k] = Number(process.hrtime.bigint() - t0) / 1e3;
  }
  t.sort();
  let sum = 0;
  for (const x of t) sum += x;
  return {
    samples,
    p50Us: percentileSorted(t, 50),
    p90Us: percentileSorted(t, 90),
    p99Us: percentileSorted(t, 99),
    p999Us: percentileSorted(t, 99.9),
    maxUs: t[t.length - 1] ?? 0,
    meanUs: sum / samples,
  };
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
const proseMs = measureBatches(() => classifier.classifyText(prose), 5, 15);
const proseCustomMs = measureBatches(() => withCustom.classifyText(prose), 2, 7);
const req = chatRequest(4096);
const reqBytes = Buffer.byteLength(JSON.stringify(req));
// A request arrives parsed (JSON.parse), so the body's strings are flat, as they are here.
const reqLatency = measureLatency(() => classifier.classifyRequest(req, 'internal'), 5000, 30_000);
const reqMs = measureBatches(() => classifier.classifyRequest(req, 'internal'), 2000, 9);
const reqTextMs = measureBatches(() => classifier.classifyText(extractText(req)), 2000, 9);
const mb = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

const results = {
  date: new Date().toISOString(),
  node: process.version,
  targets: { chatRequestP50Us: TARGET_P50_US, chatRequestP99Us: TARGET_P99_US, proseMbPerSecond: TARGET_PROSE_MBPS },
  prose: { bytes: prose.length, msPerCall: proseMs, mbPerSecond: mb(prose.length, proseMs) },
  proseWithOneCustomPattern: { bytes: prose.length, msPerCall: proseCustomMs, mbPerSecond: mb(prose.length, proseCustomMs) },
  chatRequest4KiB: { bytes: reqBytes, usPerCall: reqMs * 1000, mbPerSecond: mb(reqBytes, reqMs), ...reqLatency },
  chatText4KiB: { usPerCall: reqTextMs * 1000 },
  costPerKiB: { proseUs: (proseMs * 1000) / (prose.length / 1024), chatRequestP50Us: reqLatency.p50Us / (reqBytes / 1024) },
  /** Text in other scripts takes the normalisation path (NFKD folding, digits, homoglyphs). */
  multilingual4KiB: {} as Record<string, number>,
};

// A chat request per language (4 KiB): what a non-English user pays for normalisation.
const MULTI: Record<string, string> = {
  de: 'Sehr geehrte Frau Schröder, anbei die Unterlagen für die Prüfung. Die Ergebnisse der Analyse zeigen, dass die Lieferkette stabil bleibt. ',
  fr: 'Bonjour Hélène, voici le compte rendu de la réunion. Les résultats du trimestre sont conformes aux prévisions et l’équipe prépare la suite. ',
  ar: 'مرحبا، هذا ملخص الاجتماع الأسبوعي. ناقش الفريق خطة الإطلاق والميزانية والجدول الزمني للمشروع الجديد في دبي. ',
  zh: '你好，这是本周会议的摘要。团队讨论了新项目的发布计划、预算和时间表，并同意下周再次开会。',
};
for (const [lang, para] of Object.entries(MULTI)) {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: para.repeat(Math.ceil(4096 / para.length)).slice(0, 4096) }] };
  results.multilingual4KiB[lang] = measureLatency(() => classifier.classifyRequest(body, 'internal'), 1000, 5000).p50Us;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `classify-${results.date.slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

const ok = (good: boolean): string => (good ? 'ok' : 'MISS');
const us = (x: number): string => `${x.toFixed(1).padStart(8)} µs`;
console.log('classify benchmark');
console.log(`  prose 1 MiB                 ${results.prose.mbPerSecond.toFixed(1).padStart(8)} MB/s  (${proseMs.toFixed(2)} ms, median of 15)  target >= ${TARGET_PROSE_MBPS}: ${ok(results.prose.mbPerSecond >= TARGET_PROSE_MBPS)}`);
console.log(`  prose 1 MiB + 1 RE2 pattern ${results.proseWithOneCustomPattern.mbPerSecond.toFixed(1).padStart(8)} MB/s  (${proseCustomMs.toFixed(2)} ms)`);
console.log(`  chat request ${reqBytes} B  p50 ${us(reqLatency.p50Us)}  target <= ${TARGET_P50_US}: ${ok(reqLatency.p50Us <= TARGET_P50_US)}`);
console.log(`                           p99 ${us(reqLatency.p99Us)}  target <= ${TARGET_P99_US}: ${ok(reqLatency.p99Us <= TARGET_P99_US)}`);
console.log(`                           p90 ${us(reqLatency.p90Us)}  p99.9 ${us(reqLatency.p999Us)}  mean ${us(reqLatency.meanUs)}  (${reqLatency.samples} calls)`);
console.log(`                           batch mean ${us(results.chatRequest4KiB.usPerCall)}  (${results.chatRequest4KiB.mbPerSecond.toFixed(1)} MB/s)`);
console.log(`  cost per KiB: prose ${results.costPerKiB.proseUs.toFixed(2)} µs, chat request ${results.costPerKiB.chatRequestP50Us.toFixed(2)} µs (p50)`);
console.log(`  4 KiB chat request p50 by language: ${Object.entries(results.multilingual4KiB).map(([l, v]) => `${l} ${v.toFixed(1)} µs`).join(', ')}`);
console.log(`  written to ${file}`);
