// Heavy requests do not wear a region down: a request over its model's input limit is refused
// before any work, a cell bounds the inference it runs (then 429 with Retry-After) and answers
// its health probe outside that bound, and memory returns below its ceiling afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startCluster, type Cluster } from '../helpers/cluster.ts';
import { meshClient, type MeshClient } from '../helpers/mesh.ts';

let c: Cluster;
let gw: MeshClient;

before(async () => {
  // One gateway process: its CPU and memory are read from /proc by pid.
  c = await startCluster({ gateway: { bodyLimitBytes: 10 * 1024 * 1024, workers: 1 }, cell: { maxConcurrentInference: 1, maxQueuedInference: 1 } });
  gw = await meshClient(c.configFile);
});
after(async () => {
  await gw?.close();
  await c?.stop();
});

/** A cell called directly, over the mesh as the gateway would. */
const cellFetch = (cellUrl: string, path: string, init?: Parameters<MeshClient['fetch']>[1]): ReturnType<MeshClient['fetch']> => gw.fetch(`${cellUrl}${path}`, init);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
/** CPU time (user + system) of a process, in ms (clock ticks of 10 ms). */
/** This process's CPU to decode and JSON.parse a body like the heavy sender's (median of three). */
function parseCpuMs(size: number): number {
  const text = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(size / 27)).slice(0, size);
  const body = Buffer.from(JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: text }] }));
  const runs = [0, 1, 2].map(() => {
    const u0 = process.cpuUsage();
    JSON.parse(body.toString('utf8'));
    const u = process.cpuUsage(u0);
    return (u.user + u.system) / 1000;
  });
  return runs.sort((a, b) => a - b)[1] as number;
}

const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const small = JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'What a wonderful morning in Frankfurt.' }] });

async function smallRequest(): Promise<{ ms: number; status: number; attempts: string }> {
  const t0 = performance.now();
  const res = await request(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: small });
  await res.body.dump();
  return { ms: performance.now() - t0, status: res.statusCode, attempts: String(res.headers['x-sovereign-attempts'] ?? '') };
}

test('three concurrent 9 MB chats: refused at once, others keep their latency, no ejection, memory back under 300 MB', async (t) => {
  for (let i = 0; i < 10; i++) await smallRequest(); // warm up
  // Another user, in its own process: three concurrent 9 MB bodies, again and again. It is
  // paused and resumed (SIGSTOP, SIGCONT) so idle and loaded windows alternate: the machine's
  // other load then weighs on both alike.
  const rssBefore = rssMb(c.pidOf('gateway'));
  const sender = spawn(process.execPath, [fileURLToPath(new URL('../helpers/heavy-sender.ts', import.meta.url)), `${c.gateway}/v1/chat/completions`, String(9 * 1024 * 1024), 'DE'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let senderOut = '';
  sender.stdout.on('data', (b: Buffer) => (senderOut += b.toString()));
  while (!senderOut.includes('\n')) await sleep(20);
  // Up to three attempts of four alternating idle/loaded window pairs: the machine is shared,
  // so one attempt within the bound shows the 9 MB bodies do not slow the others; a real
  // slowdown (before the fix: seconds instead of milliseconds) fails all three.
  const attempts: { idleMs: number; loadedMs: number }[] = [];
  const loaded: { ms: number; status: number; attempts: string }[] = [];
  let cpuPerBody = Number.NaN;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const idle: number[] = [];
      const here: number[] = [];
      for (let round = 0; round < 4; round++) {
        sender.kill('SIGSTOP');
        await sleep(100);
        for (let i = 0; i < 10; i++) idle.push((await smallRequest()).ms);
        sender.kill('SIGCONT');
        await sleep(100);
        for (let i = 0; i < 10; i++) {
          const r = await smallRequest();
          loaded.push(r);
          here.push(r.ms);
        }
      }
      attempts.push({ idleMs: median(idle), loadedMs: median(here) });
      if (median(here) <= 2 * median(idle)) break;
    }
    // Count work as well as time: the CPU the gateway spends per 9 MB body (sender running, no
    // small requests) beside its idle CPU (sender paused). A body refused from its Content-Length
    // costs reading and dropping it (8-17 ms measured on a loaded 2-core machine); decoding and
    // parsing it as well would add at least 13 ms more (JSON.parse of this body, idle machine).
    const gw = c.pidOf('gateway');
    sender.kill('SIGSTOP');
    const i0 = cpuMs(gw);
    await sleep(2000);
    const idleCpuPerMs = (cpuMs(gw) - i0) / 2000;
    sender.kill('SIGCONT');
    const lines0 = senderOut.split('\n').length;
    const c0 = cpuMs(gw);
    const t0 = performance.now();
    while (senderOut.split('\n').length - lines0 < 30) await sleep(20);
    const bodies = senderOut.split('\n').length - lines0;
    cpuPerBody = (cpuMs(gw) - c0 - idleCpuPerMs * (performance.now() - t0)) / bodies;
  } finally {
    sender.kill('SIGKILL');
  }
  const heavyStatuses = senderOut.trim().split('\n');

  t.diagnostic(`small requests, median idle vs beside three 9 MB bodies: ${attempts.map((a) => `${a.idleMs.toFixed(1)} vs ${a.loadedMs.toFixed(1)} ms`).join('; ')} (${heavyStatuses.length} bodies refused: ${[...new Set(heavyStatuses)].join(', ')})`);
  assert.ok(heavyStatuses.length >= 3 && heavyStatuses.every((s) => s === '413 context_length_exceeded'), heavyStatuses.join('|'));
  assert.ok(loaded.every((x) => x.status === 200));
  // No failover, no ejection: every small request was served by the first region it tried.
  assert.ok(loaded.every((x) => !x.attempts.includes(',')), loaded.map((x) => x.attempts).join(' | '));
  // 25 ms was set where decoding and parsing this body took 13 ms of CPU (JSON.parse, idle
  // machine); on a slower machine both scale, so the limit scales with this machine's parse time.
  const parseMs = parseCpuMs(9 * 1024 * 1024);
  const limitMs = 25 * Math.max(1, parseMs / 13);
  t.diagnostic(`gateway CPU per refused 9 MB body: ${cpuPerBody.toFixed(1)} ms (limit ${limitMs.toFixed(1)} ms; decoding and parsing it here: ${parseMs.toFixed(1)} ms)`);
  assert.ok(cpuPerBody < limitMs, `the gateway spent ${cpuPerBody.toFixed(1)} ms of CPU per 9 MB body (limit ${limitMs.toFixed(1)} ms)`);
  // Latency ratios measure the machine, not Sovereign, once it is so loaded that an idle small
  // request takes over 10 ms (about twice its time on an idle 2-core machine: other test suites
  // are running); then the CPU count above stands alone.
  const calm = attempts.filter((a) => a.idleMs < 10);
  if (calm.length > 0) assert.ok(calm.some((a) => a.loadedMs <= 2 * a.idleMs), JSON.stringify(attempts));
  else t.diagnostic(`machine too loaded for a latency ratio (idle medians ${attempts.map((a) => a.idleMs.toFixed(0)).join(', ')} ms)`);
  const regions = (await (await fetch(`${c.gateway}/sovereign/regions`, { headers: { authorization: `Bearer ${c.adminToken()}` } })).json()) as { regions: { region: string; healthy: boolean }[] };
  assert.ok(regions.regions.every((r) => r.healthy), JSON.stringify(regions));
  assert.doesNotMatch(c.output(), /"healthy":false/);

  await sleep(3000);
  const rss = { gateway: rssMb(c.pidOf('gateway')), 'eu-frankfurt': rssMb(c.pidOf('eu-frankfurt')) };
  t.diagnostic(`RSS after 3 s idle: gateway ${rss.gateway.toFixed(0)} MB (${rssBefore.toFixed(0)} MB before the heavy bodies), eu-frankfurt ${rss['eu-frankfurt'].toFixed(0)} MB`);
  // Nothing of the bodies is kept: back under 300 MB, or within 100 MB of where the gateway was
  // before them when its own baseline (modules, pools, caches) is already above 200 MB. Reading
  // three 9 MB bodies at a time leaves the allocator holding some of it: 45, 77 and 86 MB over
  // the baseline in three CI runs; keeping the 30-odd refused bodies would be over 270 MB.
  assert.ok(rss.gateway < Math.max(300, rssBefore + 100) && rss['eu-frankfurt'] < 300, JSON.stringify({ ...rss, gatewayBefore: rssBefore }));
});

test('a cell runs a bounded number of inferences, refuses the overflow with 429 and Retry-After, and answers its probe meanwhile', async () => {
  const cell = c.regions['eu-paris'] as string;
  const text = 'The committee met on Tuesday in Paris and praised the excellent new bridge. '.repeat(3000); // ~230 KB: under the input limit, ~0.5 s of analysis
  const send = (): Promise<Response> => cellFetch(cell, '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: text }] }) });
  const finished: string[] = [];
  const inflight = [send(), send(), send(), send()].map((p) => p.then((r) => (finished.push(`inference ${r.status}`), r)));
  await sleep(100);
  const probe = await cellFetch(cell, '/v2/health/ready');
  finished.push('probe');
  const answers = await Promise.all(inflight);
  const statuses = answers.map((r) => r.status);
  assert.equal(probe.status, 200);
  // The probe is answered while the inferences run, not after them.
  assert.ok(finished.indexOf('probe') < finished.indexOf('inference 200'), finished.join(', '));
  assert.equal(statuses.filter((s) => s === 200).length, 2, statuses.join(','));
  const refused = answers.filter((r) => r.status === 429);
  assert.equal(refused.length, 2);
  assert.equal(refused[0]?.headers.get('retry-after'), '1');
  assert.equal(((await refused[0]?.json()) as { error: { code: string } }).error.code, 'cell_busy');
});

test('the cell applies the same input limit as the gateway', async () => {
  const res = await cellFetch(c.regions['eu-paris'] as string, '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'x'.repeat(300 * 1024) }] }) });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'context_length_exceeded');
});

test('the gateway refuses an input over the model limit with 400 context_length_exceeded before deciding or recording', async () => {
  const before = (await (await fetch(`${c.gateway}/sovereign/ledger/eu-frankfurt/entries?from=0&to=1000`)).json()) as { size: number };
  const res = await request(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'word '.repeat(60_000) }] }) });
  const body = (await res.body.json()) as { error: { type: string; code: string; param: string } };
  assert.equal(res.statusCode, 400);
  assert.deepEqual([body.error.type, body.error.code, body.error.param], ['invalid_request_error', 'context_length_exceeded', 'messages']);
  assert.equal(res.headers['x-sovereign-decision-id'], undefined, 'no decision was made');
  const afterwards = (await (await fetch(`${c.gateway}/sovereign/ledger/eu-frankfurt/entries?from=0&to=1000`)).json()) as { size: number };
  assert.equal(afterwards.size, before.size, 'nothing was recorded');
});

test('a busy region is not a failing one: the gateway moves the overflow to the next permitted region', async () => {
  const text = 'The committee met on Tuesday in Frankfurt and praised the excellent new bridge. '.repeat(2800);
  const send = async (): Promise<{ status: number; region: string; attempts: string }> => {
    const res = await request(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: text }] }) });
    await res.body.dump();
    return { status: res.statusCode, region: String(res.headers['x-sovereign-region']), attempts: String(res.headers['x-sovereign-attempts'] ?? '') };
  };
  // Each EU cell runs one and queues one: four fit in the two EU regions, never outside the EU.
  const answers = await Promise.all([send(), send(), send(), send()]);
  assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers));
  assert.ok(answers.every((a) => a.region === 'eu-frankfurt' || a.region === 'eu-paris'), JSON.stringify(answers));
  assert.ok(answers.some((a) => a.attempts.includes('eu-frankfurt=busy')), JSON.stringify(answers));
  const regions = (await (await fetch(`${c.gateway}/sovereign/regions`, { headers: { authorization: `Bearer ${c.adminToken()}` } })).json()) as { regions: { region: string; healthy: boolean }[] };
  assert.ok(regions.regions.every((r) => r.healthy), 'busy is not unhealthy');
});
