// Registry benchmark: replication throughput of a 1 GiB model artifact golden → region against a
// plain file copy on this machine (target >= 50%), the time a cell takes to verify (and load) a
// 1 GiB artifact, and the time from `sovereign model promote` to the first request served by the
// new version through a running `sovereign up`. Golden runs as its own process (`sovereign golden`);
// the region's side runs in this process, as the region's registry identity. Transport: the
// mesh's mutual TLS (mesh.mode mtls, the default; SOVEREIGN_BENCH_MESH=plaintext for the pair),
// TLS 1.3 on loopback. The 1 GiB files are removed at the end. Writes
// bench/results/registry-<YYYY-MM-DD>.{json,md}.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, cpSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { topologyFrom } from '../src/config/index.ts';
import { pino } from 'pino';
import { request } from 'undici';
import { initTrustDomain } from '../src/mesh/index.ts';
import {
  LayoutStore,
  closeRegistryClients,
  goldenClient,
  layoutReader,
  materializeModel,
  openOperatorMesh,
  openRegistryMesh,
  publishModel,
  loadOrCreateSigningKey,
  publisherKeyFile,
  registryDispatcher,
  registryId,
  replicateIntoLayout,
  trustedPublishers,
} from '../src/registry/index.ts';
import { ProcessGroup, freePort, waitUntil } from './lib/procs.ts';
import { machine, writeResults } from './lib/results.ts';
import { median } from './lib/stats.ts';
import { EU_COUNTRIES_FOR_BENCH } from './lib/topology.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const GiB = 1024 ** 3;
const SIZE = Number(process.env.SOVEREIGN_BENCH_REGISTRY_BYTES ?? GiB);
const RUNS = Number(process.env.SOVEREIGN_BENCH_REGISTRY_RUNS ?? 3);
const MESH = process.env.SOVEREIGN_BENCH_MESH === 'plaintext' ? 'plaintext' : 'mtls';
const silent = pino({ level: 'silent' });

const group = new ProcessGroup();
group.installSignalHandlers();
const root = mkdtempSync(path.join(tmpdir(), 'registry-bench-'));
/** Where the region's CPU went, thread by thread (names as the kernel has them). */
const threadLines: string[] = [];
const results: { metric: string; value: number; unit: string; target: string; pass: boolean | null; note?: string }[] = [];
const record = (metric: string, value: number, unit: string, target = '', pass: boolean | null = null, note?: string): void => {
  results.push({ metric, value: Math.round(value * 1000) / 1000, unit, target, pass, ...(note ? { note } : {}) });
  console.log(`${metric}: ${value.toFixed(2)} ${unit}${target ? ` (target ${target})` : ''}`);
};
const secs = (t0: number): number => (performance.now() - t0) / 1000;
// CPU seconds (user + system) from /proc: of a process, and of this process's waited-for
// children (cp). On a shared machine the wall-clock rates swing with the load; the CPU a
// transfer costs per GiB does not, so both are recorded.
const TICK = 100;
const procCpu = (pid: number | 'self', children = false): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of proc(5) (utime, stime, cutime, cstime), counted from field 3 here.
  const [ut, st, cut, cst] = [fields[11], fields[12], fields[13], fields[14]].map(Number) as [number, number, number, number];
  return (children ? cut + cst : ut + st) / TICK;
};
// This process's main thread alone (its task's stat has the same layout): the SHA-256 of a large
// blob runs on a thread of its own, so the process's CPU and its main thread's differ.
const mainThreadCpu = (): number => {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
};
// CPU seconds of each of this process's threads by task id (with its name), to see where a
// replication's CPU goes: the main thread, the hash thread, the thread pool's writes, V8's helpers.
const threadsCpu = (): Map<string, { name: string; cpu: number }> => {
  const out = new Map<string, { name: string; cpu: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name: f.slice(f.indexOf('(') + 1, f.lastIndexOf(')')), cpu: (Number(fields[11]) + Number(fields[12])) / TICK });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
};
const threadsDelta = (before: Map<string, { name: string; cpu: number }>, per: number): string => {
  const byName = new Map<string, number>();
  for (const [tid, t] of threadsCpu()) byName.set(t.name, (byName.get(t.name) ?? 0) + (t.cpu - (before.get(tid)?.cpu ?? 0)) / per);
  return [...byName].filter(([, c]) => c >= 0.01).sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${c.toFixed(2)}`).join(', ');
};
// A memory file system for the CPU-bound figures: a copy into it costs no disk, so replication
// against cp into the same place compares the two sides' CPU, whatever this machine's disk does.
const MEM_DIR = process.env.SOVEREIGN_BENCH_MEM_DIR ?? '/dev/shm';
const memRoot = existsSync(MEM_DIR) ? mkdtempSync(path.join(MEM_DIR, 'registry-bench-')) : null;

try {
  // A model of one 1 GiB weights file (incompressible bytes) and a small manifest file.
  const modelDir = path.join(root, 'model');
  mkdirSync(modelDir);
  writeFileSync(path.join(modelDir, 'package.json'), '{"name":"bench-model"}');
  {
    const fd = openSync(path.join(modelDir, 'weights.bin'), 'w');
    const chunk = Buffer.alloc(16 * 1024 * 1024);
    for (let done = 0; done < SIZE; done += chunk.length) writeSync(fd, randomFillSync(chunk), 0, Math.min(chunk.length, SIZE - done));
    fsyncSync(fd);
    closeSync(fd);
  }

  // 1. Plain file copy on this machine: cp, then fsync (what a durable copy costs).
  const copyTimes: number[] = [];
  const copyCpu0 = procCpu('self', true);
  for (let i = 0; i < RUNS; i++) {
    const dst = path.join(root, `copy-${i}.bin`);
    const t0 = performance.now();
    execFileSync('cp', ['--reflink=never', path.join(modelDir, 'weights.bin'), dst]);
    const fd = openSync(dst, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    copyTimes.push(secs(t0));
    rmSync(dst);
  }
  const copyRate = SIZE / 2 ** 20 / median(copyTimes);
  const copyCpuPerGiB = (procCpu('self', true) - copyCpu0) / RUNS / (SIZE / GiB);
  record('plain file copy (cp + fsync), median', copyRate, 'MiB/s');
  record('plain file copy: CPU per GiB (cp)', copyCpuPerGiB, 's');
  // The same copy into memory (tmpfs: no disk; its fsync has nothing to write).
  const memCopyTimes: number[] = [];
  if (memRoot) {
    for (let i = 0; i < RUNS; i++) {
      const dst = path.join(memRoot, `copy-${i}.bin`);
      const t0 = performance.now();
      execFileSync('cp', ['--reflink=never', path.join(modelDir, 'weights.bin'), dst]);
      memCopyTimes.push(secs(t0));
      rmSync(dst);
    }
    record(`plain file copy into memory (cp into tmpfs ${MEM_DIR}, no disk), median`, SIZE / 2 ** 20 / median(memCopyTimes), 'MiB/s');
  }

  // 2. Golden as its own process; publish the artifact (signed) to it.
  const goldenPort = await freePort();
  const dataDir = path.join(root, 'data');
  const config = { dataDir, jurisdictions: { EU: EU_COUNTRIES_FOR_BENCH }, regions: [{ id: 'eu-frankfurt', jurisdiction: 'EU', country: 'DE', url: `http://127.0.0.1:${await freePort()}` }], registry: { bootstrap: false, golden: { url: `http://127.0.0.1:${goldenPort}` } }, mesh: { mode: MESH } };
  const configFile = path.join(root, 'sovereign.yaml');
  writeFileSync(configFile, stringify(config));
  const topology = topologyFrom(config, configFile);
  await initTrustDomain(topology);
  // SOVEREIGN_BENCH_GOLDEN_NODE_ARGS: Node options for golden's process (e.g. "--cpu-prof
  // --cpu-prof-dir=/tmp/prof" to profile its side; the profile is written when it stops).
  const goldenNodeArgs = (process.env.SOVEREIGN_BENCH_GOLDEN_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const golden = group.start('golden', process.execPath, [...goldenNodeArgs, MAIN, '--config', configFile, 'golden'], { cwd: ROOT });
  // The publisher (an operator identity) and the region's registry identity, in this process.
  const operator = await openOperatorMesh(topology, silent, 'bench');
  const regionMesh = await openRegistryMesh(topology, { kind: 'region', region: 'eu-frankfurt' }, silent, '127.0.0.1');
  const goldenAt = `${MESH === 'mtls' ? 'https' : 'http'}://127.0.0.1:${goldenPort}`;
  await waitUntil(
    async () => {
      const res = await request(`${goldenAt}/sovereign/golden/ready`, { dispatcher: registryDispatcher(operator, goldenAt, registryId(topology, { kind: 'golden' })) }).catch(() => null);
      await res?.body.dump();
      return res?.statusCode === 200;
    },
    60_000,
    'golden ready',
  );
  const client = goldenClient(topology, operator);
  let t0 = performance.now();
  const pub = await publishModel(client, modelDir, { name: 'bench-model', version: '1.0.0', licence: 'MIT', trainingData: { dataClass: 'public', jurisdictions: [], sources: ['random bytes'] }, runtime: { kind: 'none' } }, loadOrCreateSigningKey(publisherKeyFile(topology)));
  record('publish to golden (hash, chunked push, sign)', SIZE / 2 ** 20 / secs(t0), 'MiB/s');
  rmSync(path.join(modelDir, 'weights.bin'));

  // 3. Replication golden → region: digest and signature verified, durable on the region's disk.
  const publishers = trustedPublishers(topology);
  const replTimes: number[] = [];
  const cpu0 = { region: procCpu('self'), regionMain: mainThreadCpu(), golden: procCpu(golden.pid) };
  const threads0 = threadsCpu();
  // The replication's window on the monotonic clock in µs (the clock of --cpu-prof and perf
  // timestamps, shared by both processes): to cut both sides' profiles to the transfer alone.
  const window0 = process.hrtime.bigint() / 1000n;
  for (let i = 0; i < RUNS; i++) {
    const regionRoot = path.join(root, `region-${i}`);
    const store = new LayoutStore(regionRoot);
    t0 = performance.now();
    const a = await replicateIntoLayout(store, { source: goldenClient(topology, regionMesh), name: 'bench-model', version: '1.0.0', publishers });
    replTimes.push(secs(t0));
    if (a.digest !== pub.digest) throw new Error('replicated digest differs');
    if (i < RUNS - 1) rmSync(regionRoot, { recursive: true, force: true });
  }
  console.log(`replication window (monotonic µs): ${window0} ${process.hrtime.bigint() / 1000n}`);
  const replCpu = { region: (procCpu('self') - cpu0.region) / RUNS / (SIZE / GiB), regionMain: (mainThreadCpu() - cpu0.regionMain) / RUNS / (SIZE / GiB), golden: (procCpu(golden.pid) - cpu0.golden) / RUNS / (SIZE / GiB) };
  threadLines.push(`replication: CPU per GiB by region thread: ${threadsDelta(threads0, RUNS * (SIZE / GiB))}`);
  console.log(threadLines.at(-1));
  const replRate = SIZE / 2 ** 20 / median(replTimes);
  record(`replication golden → region (${MESH === 'mtls' ? 'mTLS, TLS 1.3' : 'plain HTTP'} on loopback), median`, replRate, 'MiB/s', '>= 50% of copy', replRate >= copyRate * 0.5);
  record('replication / plain copy', replRate / copyRate, 'ratio', '>= 0.5', replRate / copyRate >= 0.5);
  record('replication: CPU per GiB, region side (TLS decrypt, SHA-256, write; all threads)', replCpu.region, 's');
  record("replication: CPU per GiB, region side's main thread", replCpu.regionMain, 's');
  record('replication: CPU per GiB, golden side (read, TLS encrypt)', replCpu.golden, 's');
  // On an idle 2-core machine: no thread goes faster than its own CPU allows, and all threads of
  // both sides share the two cores (the region's main thread, its hash thread and its writes in
  // the thread pool run in parallel): the slower bound sets the rate.
  const idleRate = 1024 / Math.max(replCpu.regionMain, replCpu.golden, (replCpu.region + replCpu.golden) / 2);
  const idleCopy = 1024 / copyCpuPerGiB;
  record('replication rate the CPU allows on an otherwise idle 2-core machine (1 GiB / max(main thread, golden, all CPU / 2))', idleRate, 'MiB/s', '', null, `cp's CPU allows ${idleCopy.toFixed(0)} MiB/s; cp on a disk is bound by the disk, not the CPU`);
  // 3b. The same replication into memory: the CPU-bound rate, against cp into the same tmpfs.
  let memCpu: { region: number; regionMain: number; golden: number } | null = null;
  const memReplTimes: number[] = [];
  if (memRoot) {
    const c0 = { region: procCpu('self'), regionMain: mainThreadCpu(), golden: procCpu(golden.pid) };
    const t0s = threadsCpu();
    for (let i = 0; i < RUNS; i++) {
      const regionRoot = path.join(memRoot, `region-${i}`);
      t0 = performance.now();
      const a = await replicateIntoLayout(new LayoutStore(regionRoot), { source: goldenClient(topology, regionMesh), name: 'bench-model', version: '1.0.0', publishers });
      memReplTimes.push(secs(t0));
      if (a.digest !== pub.digest) throw new Error('replicated digest differs');
      rmSync(regionRoot, { recursive: true, force: true });
    }
    threadLines.push(`replication into memory: CPU per GiB by region thread: ${threadsDelta(t0s, RUNS * (SIZE / GiB))}`);
    console.log(threadLines.at(-1));
    memCpu = { region: (procCpu('self') - c0.region) / RUNS / (SIZE / GiB), regionMain: (mainThreadCpu() - c0.regionMain) / RUNS / (SIZE / GiB), golden: (procCpu(golden.pid) - c0.golden) / RUNS / (SIZE / GiB) };
    const memRate = SIZE / 2 ** 20 / median(memReplTimes);
    const memCopyRate = SIZE / 2 ** 20 / median(memCopyTimes);
    record('replication into memory (no disk: region layout in tmpfs), median', memRate, 'MiB/s');
    record('replication into memory / cp into memory', memRate / memCopyRate, 'ratio', '>= 0.5', memRate / memCopyRate >= 0.5);
    record('replication into memory: CPU per GiB, region side (all threads)', memCpu.region, 's');
    record("replication into memory: CPU per GiB, region side's main thread", memCpu.regionMain, 's');
    record('replication into memory: CPU per GiB, golden side', memCpu.golden, 's');
  }
  await group.stop(golden);
  for (const m of [operator, regionMesh]) {
    await closeRegistryClients(m);
    m.close();
  }

  // 4. A cell verifying the 1 GiB artifact: first load (hash while copying out of the layout,
  //    fsync, rename) and a restart's check (re-hash of the loaded files) — both plus the signature.
  const store = new LayoutStore(path.join(root, `region-${RUNS - 1}`));
  const cache = path.join(root, 'cache');
  t0 = performance.now();
  await materializeModel(layoutReader(store), 'bench-model', '1.0.0', publishers, cache);
  record('cell: verify and load a 1 GiB artifact (first load)', secs(t0), 's');
  const verifyTimes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t0 = performance.now();
    await materializeModel(layoutReader(store), 'bench-model', '1.0.0', publishers, cache);
    verifyTimes.push(secs(t0));
  }
  record('cell: verify a loaded 1 GiB artifact (restart), median', median(verifyTimes), 's');
  rmSync(cache, { recursive: true, force: true });
  rmSync(path.join(root, `region-${RUNS - 1}`), { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });

  // 5. promote → first request served by the new version, through `sovereign up`.
  if (process.env.SOVEREIGN_BENCH_REGISTRY_SKIP_UP !== '1') {
    const dir = path.join(root, 'up');
    mkdirSync(dir);
    const regions = [];
    for (const [id, j, c] of [['eu-frankfurt', 'EU', 'DE'], ['eu-paris', 'EU', 'FR']] as const) regions.push({ id, jurisdiction: j, country: c, url: `http://127.0.0.1:${await freePort()}` });
    const gwPort = await freePort();
    // Requests go through the gateway (cells take mTLS peers only); EU requests prefer Frankfurt.
    const cfg = { dataDir: path.join(dir, 'data'), jurisdictions: { EU: EU_COUNTRIES_FOR_BENCH, AE: ['AE'], SG: ['SG'] }, regions, gateway: { host: '127.0.0.1', port: gwPort }, routing: { mode: 'legal-first', preference: ['eu-frankfurt', 'eu-paris'] }, mesh: { mode: MESH } };
    const file = path.join(dir, 'sovereign.yaml');
    writeFileSync(file, stringify(cfg));
    const up = group.start('up', process.execPath, [MAIN, '--config', file, 'up'], { cwd: ROOT });
    await up.waitFor('Sovereign is up', 120_000);
    const req = createRequire(path.join(ROOT, 'package.json'));
    const shipped = path.dirname(req.resolve('wink-eng-lite-web-model/package.json'));
    const release = path.join(dir, 'release');
    cpSync(shipped, release, { recursive: true });
    writeFileSync(path.join(release, 'RELEASE-NOTES.md'), 'bench release\n');
    const sov = (args: string[]): Promise<void> =>
      new Promise((resolve, reject) => {
        const p = spawn(process.execPath, [MAIN, '--config', file, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (b: Buffer) => (err += b.toString()));
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sovereign ${args.join(' ')}: ${err}`))));
      });
    await sov(['model', 'push', release, '--name', 'text-analysis', '--version', '99.0.0', '--licence', 'MIT']);
    const gateway = `http://127.0.0.1:${gwPort}`;
    t0 = performance.now();
    await sov(['model', 'promote', 'text-analysis:99.0.0', '--to', 'eu-frankfurt']);
    const promoted = secs(t0);
    await sov(['model', 'activate', '--region', 'eu-frankfurt', 'text-analysis:99.0.0']);
    await waitUntil(
      async () => {
        const res = await fetch(`${gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hello' }] }) });
        await res.arrayBuffer();
        return (res.headers.get('x-sovereign-model-version') ?? '').startsWith('text-analysis@99.0.0 ');
      },
      60_000,
      'new version served',
      10,
    );
    record('promote → first request served by the new version (CLI promote + activate, 3.8 MiB text-analysis)', secs(t0), 's', '', null, `of which promote ${promoted.toFixed(2)} s; each CLI run starts a Node process`);
    await group.stop(up);
  }

  const json = { date: new Date().toISOString(), machine: machine(), sizeBytes: SIZE, runs: RUNS, transport: MESH === 'mtls' ? 'mutual TLS (TLS 1.3, SPIFFE SVIDs) on loopback' : 'plain HTTP on loopback (mesh.mode plaintext)', copySeconds: copyTimes, replicationSeconds: replTimes, cpuSecondsPerGiB: { copy: copyCpuPerGiB, replication: replCpu, replicationIntoMemory: memCpu }, memCopySeconds: memCopyTimes, memReplicationSeconds: memReplTimes, regionThreads: threadLines, verifySeconds: verifyTimes, results };
  const md = `# Registry benchmark (${json.date.slice(0, 10)})\n\nShared machine (${String(machine().cpus)} cores, load ${(machine().loadavg as number[]).map((x) => x.toFixed(1)).join(' ')}); ${SIZE / GiB} GiB artifact; medians of ${RUNS} runs; ${json.transport}.\n\n| metric | value | unit | target |\n|---|---|---|---|\n${results.map((r) => `| ${r.metric} | ${r.value} | ${r.unit} | ${r.target}${r.pass === null ? '' : r.pass ? ' ✔' : ' ✘'} |`).join('\n')}\n${threadLines.length > 0 ? `\nCPU of the region's process by thread (MainThread: TLS, batching, writes issued; WorkerThread: the SHA-256 thread; libuv-worker: the writes and write-back; V8Worker: the garbage collector's helpers):\n\n${threadLines.map((l) => `- ${l}`).join('\n')}\n` : ''}`;
  // SOVEREIGN_BENCH_RESULTS_SUFFIX (e.g. "-loaded"): results of a run on a busy machine or of a
  // smaller artifact do not overwrite the day's figures.
  const out = writeResults(MESH === 'mtls' ? 'registry-mtls' : 'registry-plaintext', json, md, process.env.SOVEREIGN_BENCH_RESULTS_SUFFIX ?? '');
  console.log(`\nwrote ${out.json} and ${out.md}`);
} finally {
  await group.stopAll();
  rmSync(root, { recursive: true, force: true });
  if (memRoot) rmSync(memRoot, { recursive: true, force: true });
}
