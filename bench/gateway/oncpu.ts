// Where a process's CPU goes, from Linux perf: `perf record -g` samples the process only while
// it runs on a CPU (all its threads, kernel included), and `node --perf-basic-prof` names the JIT
// code. node --cpu-prof samples the main thread on a wall clock instead: on a shared 2-core
// machine a thread that wakes another (a socket write, a postMessage) is often descheduled right
// there, and those waits show up as the caller's time (writev looked like a fifth of the
// gateway). Each sample is put under the nearest JavaScript function on its stack (a builtin, a
// V8 runtime call or libc code counts for the JS that called it), or under the kernel, the
// garbage collector, the JIT compiler or "native" (event loop, TLS, HTTP parser with no JS above).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Linux perf, when installed (Debian: linux-perf). */
export function havePerf(): boolean {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts `perf record -g` on `pid` (every thread) into `file`; stop it with {@link stopPerf}. */
export function startPerf(pid: number, file: string, hz = 1999): ChildProcess {
  return spawn('perf', ['record', '-F', String(hz), '-g', '-p', String(pid), '-o', file], { stdio: 'ignore' });
}

export function stopPerf(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGINT'); // perf writes its file on SIGINT
  });
}

/** The system calls {@link startSyscalls} counts: all of them, and the ones a proxy's cost is made of. */
export const SYSCALLS = ['raw_syscalls:sys_enter', 'syscalls:sys_enter_writev', 'syscalls:sys_enter_write', 'syscalls:sys_enter_read', 'syscalls:sys_enter_epoll_wait', 'syscalls:sys_enter_futex', 'syscalls:sys_enter_pwrite64', 'syscalls:sys_enter_fdatasync'] as const;

/** Starts `perf stat` counting {@link SYSCALLS} on `pid` (every thread) into `file` (CSV); stop it with {@link stopPerf}. */
export function startSyscalls(pid: number, file: string): ChildProcess {
  return spawn('perf', ['stat', '-x', ',', '-o', file, '-e', SYSCALLS.join(','), '-p', String(pid)], { stdio: 'ignore' });
}

/** The counts {@link startSyscalls} wrote, by short name (`all`, `writev`, `read`, ...). */
export function readSyscalls(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [count, , event] = line.split(',');
    if (!event || !count || !/^\d+$/.test(count)) continue;
    out[event === 'raw_syscalls:sys_enter' ? 'all' : event.replace('syscalls:sys_enter_', '')] = Number(count);
  }
  return out;
}

interface Sample {
  thread: string;
  frames: { sym: string; dso: string }[];
}

/**
 * Names JIT code from a `--perf-basic-prof` map by the newest entry that covers an address. V8
 * appends an entry each time it places code and never removes one, so once the collector has
 * freed a function's code its addresses come back in the map under a later function; perf's own
 * lookup may name a sample after the first, long-dead owner (module loading and startup code in
 * the middle of a request's stack). The samples are taken at the end of a run, after the
 * warm-up, so the newest entry is the code that ran.
 */
export class JitMap {
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  readonly #names: string[] = [];
  /** Entry indexes by start address (ties: file order). */
  readonly #byStart: number[];
  #maxSize = 0;
  readonly #cache = new Map<number, string | null>();

  constructor(text: string) {
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
      if (!m) continue;
      const start = Number.parseInt(m[1] as string, 16);
      const size = Number.parseInt(m[2] as string, 16);
      this.#starts.push(start);
      this.#ends.push(start + size);
      this.#names.push(m[3] as string);
      if (size > this.#maxSize) this.#maxSize = size;
    }
    this.#byStart = this.#starts.map((_, i) => i).sort((a, b) => (this.#starts[a] as number) - (this.#starts[b] as number) || a - b);
  }

  /** The newest entry's name covering `addr`, or null. */
  name(addr: number): string | null {
    const hit = this.#cache.get(addr);
    if (hit !== undefined) return hit;
    const order = this.#byStart;
    // The last entry starting at or below addr, then back over every start within the largest size.
    let lo = 0;
    let hi = order.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#starts[order[mid] as number] as number) <= addr) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let best = -1;
    for (let k = at; k >= 0; k--) {
      const i = order[k] as number;
      if ((this.#starts[i] as number) + this.#maxSize <= addr) break;
      if (addr < (this.#ends[i] as number) && i > best) best = i;
    }
    const out = best < 0 ? null : (this.#names[best] as string);
    this.#cache.set(addr, out);
    return out;
  }
}

function parseScript(text: string, jitMaps: Map<string, JitMap | null> = new Map()): Sample[] {
  const out: Sample[] = [];
  let cur: Sample | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur) out.push(cur);
      cur = null;
    } else if (!/^\s/.test(line)) {
      cur = { thread: line.trim().split(/\s+/)[0] ?? '?', frames: [] };
    } else if (cur) {
      const m = /^\s*([0-9a-f]+) (.*) \((.*)\)\s*$/.exec(line);
      if (!m) continue;
      const dso = m[3] ?? '';
      let sym = m[2] ?? '';
      if (/\/perf-\d+\.map$/.test(dso)) {
        if (!jitMaps.has(dso)) jitMaps.set(dso, existsSync(dso) ? new JitMap(readFileSync(dso, 'utf8')) : null);
        sym = jitMaps.get(dso)?.name(Number.parseInt(m[1] as string, 16)) ?? sym;
      }
      cur.frames.push({ sym, dso });
    }
  }
  if (cur) out.push(cur);
  return out;
}

const GC = /Scaveng|Heap::|MarkCompact|Sweeper|IncrementalMarking|ConcurrentMarking|GCTracer/;
const JIT = /v8::internal::compiler|[Mm]aglev|OptimizedCompilationJob|Compiler::/;

/** The area of a JIT frame name: a package, a node: module, or a folder of Sovereign's src/. */
function areaOf(sym: string): string {
  if (sym.includes('wasm')) return 'undici (llhttp, wasm)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/|node:([a-z_]+)|\/(src\/[a-z-]+)\//.exec(sym);
  if (!m) return 'JS (other)';
  if (m[1]) return m[1] === 'undici' ? 'undici' : m[1];
  if (m[2]) return `node:${m[2]}`;
  return m[3] as string;
}

function categoryOf(s: Sample): string {
  const top = s.frames.slice(0, 12).map((f) => f.sym).join(' ');
  if (s.thread !== 'MainThread') {
    if (JIT.test(top)) return 'V8 JIT compiler';
    if (GC.test(top)) return 'V8 garbage collector';
    return `other threads (${s.thread})`;
  }
  const leaf = s.frames[0];
  if (leaf?.dso.includes('kernel')) return 'kernel (TCP, epoll, syscalls)';
  if (GC.test(top)) return 'V8 garbage collector';
  if (JIT.test(top)) return 'V8 JIT compiler';
  for (const f of s.frames) if (f.sym.startsWith('JS:')) return areaOf(f.sym);
  return 'native with no JS caller (event loop, TLS, HTTP parser)';
}

/** The nearest JavaScript function of a main-thread sample (name and file, node_modules shortened), or null. */
function nearestFunction(s: Sample): string | null {
  if (s.thread !== 'MainThread' || s.frames[0]?.dso.includes('kernel')) return null;
  const f = s.frames.find((x) => x.sym.startsWith('JS:'));
  return f ? f.sym.replace(/^JS:[*~^+']*/, '').replace(/(?:file:\/\/)?\/\S*?(node_modules\/|src\/|bench\/)/, '$1').replace(/:\d+:\d+$/, '') : null;
}

const shares = (counts: Map<string, number>, n: number): [string, number][] => [...counts].map(([k, v]): [string, number] => [k, v / Math.max(1, n)]).sort((a, b) => b[1] - a[1]);

/** Share of the samples in `perfData` per category, largest first; and per nearest JavaScript function (the top frames). `keepScript`: also write the symbolized stacks there. */
export function oncpuBreakdown(perfData: string, keepScript?: string): { samples: number; shares: [string, number][]; functions: [string, number][] } {
  const text = execFileSync('perf', ['script', '-i', perfData, '-F', 'comm,tid,ip,sym,dso'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  // JIT frames renamed from the newest map entry (JitMap); the map is removed after this.
  const samples = parseScript(text);
  // The stacks as they were counted.
  if (keepScript !== undefined) writeFileSync(keepScript, samples.map((x) => `${x.thread}\n${x.frames.map((f) => `\t${f.sym} (${f.dso})`).join('\n')}\n`).join('\n'));
  const counts = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const s of samples) {
    const c = categoryOf(s);
    counts.set(c, (counts.get(c) ?? 0) + 1);
    const fn = nearestFunction(s);
    if (fn !== null) fns.set(fn, (fns.get(fn) ?? 0) + 1);
  }
  return { samples: samples.length, shares: shares(counts, samples.length), functions: shares(fns, samples.length) };
}

/** A markdown table of a process's top `n` nearest JavaScript functions, in µs of CPU per request (self and the native code they call). */
export function topFunctionsMarkdown(name: string, cpuUsPerReq: number, b: ReturnType<typeof oncpuBreakdown>, n = 30): string {
  const lines = [`| ${name}: nearest JS function | µs/req | share |`, '|---|---:|---:|'];
  for (const [fn, share] of b.functions.slice(0, n)) lines.push(`| \`${fn.replaceAll('|', '\\|')}\` | ${(share * cpuUsPerReq).toFixed(1)} | ${(100 * share).toFixed(1)}% |`);
  return lines.join('\n');
}

/** A markdown table: each category's µs of CPU per request for each process (share × its CPU per request). */
export function oncpuMarkdown(columns: { name: string; cpuUsPerReq: number; breakdown: ReturnType<typeof oncpuBreakdown> }[]): string {
  const cats = new Map<string, number>();
  for (const c of columns) for (const [k, v] of c.breakdown.shares) cats.set(k, Math.max(cats.get(k) ?? 0, v * c.cpuUsPerReq));
  const order = [...cats].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const lines = [`| category (nearest JS caller) | ${columns.map((c) => `${c.name} µs/req`).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  for (const k of order) {
    const cells = columns.map((c) => {
      const share = c.breakdown.shares.find(([x]) => x === k)?.[1] ?? 0;
      return share * c.cpuUsPerReq < 0.5 ? '' : `${(share * c.cpuUsPerReq).toFixed(0)} (${(100 * share).toFixed(1)}%)`;
    });
    lines.push(`| ${k} | ${cells.join(' | ')} |`);
  }
  lines.push(`| **total** | ${columns.map((c) => `**${c.cpuUsPerReq.toFixed(0)}** (${c.breakdown.samples} samples)`).join(' | ')} |`);
  return lines.join('\n');
}
