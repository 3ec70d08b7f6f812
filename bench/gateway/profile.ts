// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per code area
// (Sovereign's own folders, each npm package, Node internals, GC, idle), and total time per
// function (its own samples and those of everything it called; a recursive function counts once
// per sample).
// Usage: node bench/gateway/profile.ts <file.cpuprofile> [top=25] [last-ms: only the end of the profile]
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] }

export interface SelfTime { name: string; where: string; ms: number; pct: number }
export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  /** By self time. */
  functions: SelfTime[];
  areas: SelfTime[];
  /** By total (inclusive) time; `ms` is the total. */
  totals: SelfTime[];
}

/** The code area a script URL belongs to: "src/gateway", "fastify", "node:internal", ... */
export function areaOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return (rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : rest[0]) ?? url;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1).split('/').slice(0, 2).join('/');
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 14);
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * Self time per function and per area. With `lastMs`, only samples from the last `lastMs`
 * milliseconds of the profile count (the load window, without start-up).
 */
export function summarise(file: string, top = 25, lastMs?: number): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; attribute the gap after a sample to it.
  const from = lastMs === undefined ? -Infinity : p.endTime - lastMs * 1000;
  let t = p.startTime;
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    t += deltas[i] ?? 0;
    if (t < from) continue;
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (cf: CallFrame): { name: string; where: string; key: string } => {
    const name = cf.functionName || '(anonymous)';
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    return { name, where, key: `${name} ${where}` };
  };
  const fns = new Map<string, SelfTime>();
  const areas = new Map<string, SelfTime>();
  const totals = new Map<string, SelfTime>();
  let total = 0, idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    total += us;
    if (cf.functionName === '(idle)') idle += us;
    // Total time: every function on this node's stack, once each.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const an = byId.get(at);
      if (!an || an.callFrame.functionName === '(root)') continue;
      const k = keyOf(an.callFrame);
      if (seen.has(k.key)) continue;
      seen.add(k.key);
      const t = totals.get(k.key) ?? { name: k.name, where: k.where, ms: 0, pct: 0 };
      t.ms += us / 1000;
      totals.set(k.key, t);
    }
    const { name, where, key } = keyOf(cf);
    const f = fns.get(key) ?? { name, where, ms: 0, pct: 0 };
    f.ms += us / 1000;
    fns.set(key, f);
    const area = areaOf(cf.url, name);
    const a = areas.get(area) ?? { name: area, where: '', ms: 0, pct: 0 };
    a.ms += us / 1000;
    areas.set(area, a);
  }
  const busy = total - idle;
  const rank = (m: Map<string, SelfTime>): SelfTime[] =>
    [...m.values()]
      .filter((x) => x.name !== '(idle)')
      .map((x) => ({ ...x, pct: busy > 0 ? (100 * x.ms * 1000) / busy : 0 }))
      .sort((a, b) => b.ms - a.ms);
  const skip = new Set(['(idle)', '(program)', '(garbage collector)']);
  const totalsRanked = [...totals.values()]
    .filter((x) => !skip.has(x.name))
    .map((x) => ({ ...x, pct: busy > 0 ? (100 * x.ms * 1000) / busy : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return { file, totalMs: total / 1000, busyMs: busy / 1000, functions: rank(fns).slice(0, top), areas: rank(areas).slice(0, top), totals: totalsRanked.slice(0, top) };
}

/** A markdown rendering of a summary. */
export function summaryMarkdown(s: ProfileSummary, title: string): string {
  const lines = [`### ${title}`, '', `${s.file}: ${s.busyMs.toFixed(0)} ms busy of ${s.totalMs.toFixed(0)} ms sampled.`, '', '| self ms | % of busy | function | where |', '|---:|---:|---|---|'];
  for (const f of s.functions) lines.push(`| ${f.ms.toFixed(1)} | ${f.pct.toFixed(1)} | \`${f.name}\` | ${f.where} |`);
  lines.push('', '| self ms | % of busy | code area |', '|---:|---:|---|');
  for (const a of s.areas) lines.push(`| ${a.ms.toFixed(1)} | ${a.pct.toFixed(1)} | ${a.name} |`);
  if (s.totals?.length) {
    lines.push('', '| total ms | % of busy | function (with what it calls) | where |', '|---:|---:|---|---|');
    for (const f of s.totals) lines.push(`| ${f.ms.toFixed(1)} | ${f.pct.toFixed(1)} | \`${f.name}\` | ${f.where} |`);
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/gateway/profile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  const last = process.argv[4];
  console.log(summaryMarkdown(summarise(file, Number(process.argv[3] ?? '25'), last ? Number(last) : undefined), file));
}
