// `npm run bench:abuse`: what slow and heavy clients cost a running Sovereign (sovereign up,
// default limits and timeouts), measured on this machine:
//   1. 200 connections send headers and 5 bytes of a promised 1,000-byte body, then stall:
//      when each is answered 408 and closed, and the gateway's descriptors before, during, after;
//   2. another user (its own process) sends three concurrent 9 MB chat bodies, again 250 ms after
//      each answer: other users' small requests, median latency with the sender paused vs running
//      (alternating windows, so the machine's other load weighs on both alike), ejections, and the
//      resident memory of the gateway and the cell 20 s after.
// Writes bench/results/abuse-<date>.json and .md.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startCluster } from '../test/helpers/cluster.ts';
import { machine, writeResults } from './lib/results.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const rssMb = (pid: number): number => Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] as number;

console.log('bench:abuse: starting Sovereign (4 cells and the gateway, default limits; body limit 10 MiB) ...');
const c = await startCluster({ gateway: { bodyLimitBytes: 10 * 1024 * 1024, probeIntervalMs: 1000 } });
const port = Number(new URL(c.gateway).port);
const gw = c.pidOf('gateway');
const cfg = { bodyTimeoutMs: 5000, headersTimeoutMs: 10_000 };

try {
  // 1. Stalled bodies.
  console.log('1/2 200 stalled bodies ...');
  await sleep(1000);
  const baseline = fds(gw);
  const started = Date.now();
  const closes = await (async () => {
    const done: Promise<{ ms: number; status: number }>[] = [];
    for (let i = 0; i < 200; i++) {
      const s = connect(port, '127.0.0.1');
      let answer = '';
      s.on('data', (b: Buffer) => (answer += b.toString()));
      s.on('error', () => undefined);
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"mod`);
      done.push(new Promise((r) => s.once('close', () => r({ ms: Date.now() - started, status: Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 0) }))));
    }
    await sleep(1000);
    const during = fds(gw);
    return { during, all: await Promise.all(done) };
  })();
  await sleep(500);
  const stalled = {
    connections: 200,
    bodyTimeoutMs: cfg.bodyTimeoutMs,
    answered408: closes.all.filter((x) => x.status === 408).length,
    firstClosedMs: Math.min(...closes.all.map((x) => x.ms)),
    lastClosedMs: Math.max(...closes.all.map((x) => x.ms)),
    descriptors: { baseline, during: closes.during, after: fds(gw) },
  };
  console.log(stalled);

  // 2. Heavy bodies beside small requests.
  console.log('2/2 three concurrent 9 MB bodies beside small requests ...');
  const small = JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'What a wonderful morning in Frankfurt.' }] });
  const one = async (): Promise<{ ms: number; status: number; attempts: string }> => {
    const t0 = performance.now();
    const res = await request(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: small });
    await res.body.dump();
    return { ms: performance.now() - t0, status: res.statusCode, attempts: String(res.headers['x-sovereign-attempts'] ?? '') };
  };
  for (let i = 0; i < 20; i++) await one();
  const rssBefore = { gateway: rssMb(gw), 'eu-frankfurt': rssMb(c.pidOf('eu-frankfurt')), 'eu-paris': rssMb(c.pidOf('eu-paris')) };
  const sender = spawn(process.execPath, [fileURLToPath(new URL('../test/helpers/heavy-sender.ts', import.meta.url)), `${c.gateway}/v1/chat/completions`, String(9 * 1024 * 1024), 'DE'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let senderOut = '';
  sender.stdout.on('data', (b: Buffer) => (senderOut += b.toString()));
  while (!senderOut.includes('\n')) await sleep(20);
  const idle: number[] = [];
  const loaded: { ms: number; status: number; attempts: string }[] = [];
  for (let round = 0; round < 10; round++) {
    sender.kill('SIGSTOP');
    await sleep(100);
    for (let i = 0; i < 20; i++) idle.push((await one()).ms);
    sender.kill('SIGCONT');
    await sleep(100);
    for (let i = 0; i < 20; i++) loaded.push(await one());
  }
  sender.kill('SIGKILL');
  const answers = senderOut.trim().split('\n');
  const regions = (await (await fetch(`${c.gateway}/sovereign/regions`, { headers: { authorization: `Bearer ${c.adminToken()}` } })).json()) as { regions: { region: string; healthy: boolean }[] };
  console.log('waiting 20 s idle for memory ...');
  await sleep(20_000);
  const heavy = {
    bodies: answers.length,
    answers: Object.fromEntries([...new Set(answers)].map((a) => [a, answers.filter((x) => x === a).length])),
    smallRequests: {
      idle: { n: idle.length, medianMs: +median(idle).toFixed(2), p95Ms: +p95(idle).toFixed(2) },
      beside9MB: { n: loaded.length, medianMs: +median(loaded.map((x) => x.ms)).toFixed(2), p95Ms: +p95(loaded.map((x) => x.ms)).toFixed(2) },
      ratioOfMedians: +(median(loaded.map((x) => x.ms)) / median(idle)).toFixed(2),
      notServed: loaded.filter((x) => x.status !== 200).length,
      failedOver: loaded.filter((x) => x.attempts.includes(',')).length,
    },
    unhealthyRegionsAfter: regions.regions.filter((r) => !r.healthy).map((r) => r.region),
    healthChangesLogged: (c.output().match(/"healthy":false/g) ?? []).length,
    rssMbBefore: rssBefore,
    rssMbAfter20sIdle: { gateway: rssMb(gw), 'eu-frankfurt': rssMb(c.pidOf('eu-frankfurt')), 'eu-paris': rssMb(c.pidOf('eu-paris')) },
  };
  console.log(heavy);

  const m = machine() as { cpus: number; loadavg: number[] };
  const result = { date: new Date().toISOString(), machine: { ...m, note: 'shared with other developers while measured' }, command: 'npm run bench:abuse', stalled, heavy };
  const md = `# Slow and heavy clients (${result.date.slice(0, 10)})

Command: \`npm run bench:abuse\` (sovereign up on this machine; ${m.cpus} cores, load average ${m.loadavg.map((x) => x.toFixed(1)).join(' ')}, shared with other developers).

## 200 stalled bodies (headers + 5 of 1,000 promised bytes)

| body timeout | answered 408 | first closed | last closed | gateway descriptors before / during / after |
|---|---|---|---|---|
| ${stalled.bodyTimeoutMs} ms | ${stalled.answered408} / 200 | ${stalled.firstClosedMs} ms | ${stalled.lastClosedMs} ms | ${stalled.descriptors.baseline} / ${stalled.descriptors.during} / ${stalled.descriptors.after} |

## Three concurrent 9 MB chat bodies beside other users' small requests

| | median | p95 |
|---|---|---|
| small request, sender paused | ${heavy.smallRequests.idle.medianMs} ms | ${heavy.smallRequests.idle.p95Ms} ms |
| small request, 9 MB bodies arriving | ${heavy.smallRequests.beside9MB.medianMs} ms | ${heavy.smallRequests.beside9MB.p95Ms} ms |

Ratio of medians ${heavy.smallRequests.ratioOfMedians}x; 9 MB bodies answered: ${Object.entries(heavy.answers).map(([k, v]) => `${v} x ${k}`).join(', ')}; small requests not served ${heavy.smallRequests.notServed}, failed over ${heavy.smallRequests.failedOver}; unhealthy regions after: ${heavy.unhealthyRegionsAfter.length === 0 ? 'none' : heavy.unhealthyRegionsAfter.join(', ')}; health changes logged ${heavy.healthChangesLogged}.
Resident memory before, and 20 s after: gateway ${heavy.rssMbBefore.gateway} → ${heavy.rssMbAfter20sIdle.gateway} MB, eu-frankfurt ${heavy.rssMbBefore['eu-frankfurt']} → ${heavy.rssMbAfter20sIdle['eu-frankfurt']} MB, eu-paris ${heavy.rssMbBefore['eu-paris']} → ${heavy.rssMbAfter20sIdle['eu-paris']} MB.
`;
  const files = writeResults('abuse', result, md);
  console.log(`wrote ${files.json} and ${files.md}`);
} finally {
  await c.stop();
}
