// Where Sovereign's latency goes, from the W3C Server-Timing header its gateway sets on every
// answer (`record;dur=<ms>, region;dur=<ms>`): `record` is the serving cell's durable log write,
// `region` the gateway's time from sending to the region's answer headers (the record included),
// and "rest" is the request's latency less `region`: the client's link, the gateway's own work
// before sending and after the answer's head, and relaying the body. Reported for the typical
// request (p50 of each part) and for the slowest (the medians of each part over the slowest 1%
// of the requests), so a tail shows whether it comes from the region or the gateway.
import { median, percentileSorted } from '../lib/stats.ts';

/** One answered request: its latency and its Server-Timing durations (ms). */
export interface TimedSample {
  latency: number;
  record: number;
  region: number;
}

export interface TimingSummary {
  /** Requests whose answer carried both durations. */
  n: number;
  p50: { latency: number; record: number; region: number; rest: number };
  /** Medians over the slowest 1% of the requests. */
  tail: { n: number; latency: number; record: number; region: number; rest: number };
}

/** The durations named in a Server-Timing header ("name;dur=ms, ..."), by name. */
export function serverTiming(header: string | string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const m = /^\s*([A-Za-z0-9_-]+)\s*;.*?\bdur=([0-9.]+)/.exec(part);
    if (m) out[m[1] as string] = Number(m[2]);
  }
  return out;
}

/** A sample from an answer's headers, or null when it carries no record and region durations (not Sovereign). */
export function timedSample(latency: number, header: string | string[] | undefined): TimedSample | null {
  const t = serverTiming(header);
  return t.record === undefined || t.region === undefined ? null : { latency, record: t.record, region: t.region };
}

export function summarize(samples: readonly TimedSample[]): TimingSummary | null {
  if (samples.length === 0) return null;
  const p50 = (f: (s: TimedSample) => number): number => percentileSorted(samples.map(f).sort((a, b) => a - b), 50);
  // The slowest 1% (at least one request), by latency.
  const tail = [...samples].sort((a, b) => b.latency - a.latency).slice(0, Math.max(1, Math.ceil(samples.length / 100)));
  const med = (f: (s: TimedSample) => number): number => median(tail.map(f));
  const rest = (s: TimedSample): number => s.latency - s.region;
  return {
    n: samples.length,
    p50: { latency: p50((s) => s.latency), record: p50((s) => s.record), region: p50((s) => s.region), rest: p50(rest) },
    tail: { n: tail.length, latency: med((s) => s.latency), record: med((s) => s.record), region: med((s) => s.region), rest: med(rest) },
  };
}

/** A markdown table of the summaries of several runs (medians across runs), with what it means. */
export function timingMarkdown(title: string, runs: readonly (TimingSummary | null | undefined)[]): string {
  const ok = runs.filter((r): r is TimingSummary => r !== null && r !== undefined);
  if (ok.length === 0) return '';
  const m = (f: (r: TimingSummary) => number): string => median(ok.map(f)).toFixed(3);
  return [
    `### ${title}`,
    '',
    `From each answer's Server-Timing header (${ok.length} runs, medians across runs): record = the serving cell's durable log write; region = the gateway's send to the region's answer headers, the record included; rest = the latency less region (the client's link, the gateway's own work, relaying the body). Slowest 1% = the medians over each run's slowest 1% of requests (${median(ok.map((r) => r.tail.n)).toFixed(0)} per run).`,
    '',
    '| requests | latency ms | record ms | region ms | rest ms |',
    '|---|---:|---:|---:|---:|',
    `| typical (p50 of each) | ${m((r) => r.p50.latency)} | ${m((r) => r.p50.record)} | ${m((r) => r.p50.region)} | ${m((r) => r.p50.rest)} |`,
    `| slowest 1% | ${m((r) => r.tail.latency)} | ${m((r) => r.tail.record)} | ${m((r) => r.tail.region)} | ${m((r) => r.tail.rest)} |`,
    '',
  ].join('\n');
}
