// The gateway on several cores (gateway.workers: 2): one decision table, one health view and one
// suspension state across its workers. Each request goes on a fresh connection, so the primary
// hands them to the workers in turn; the x-sovereign-worker header says which one answered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { startCluster, type Cluster } from '../helpers/cluster.ts';
import { alive } from '../../bench/lib/procs.ts';

let c: Cluster;
let token: string;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  c = await startCluster({ gateway: { workers: 2 } });
  token = c.adminToken();
});
after(async () => {
  await c?.stop();
});

interface Served {
  status: number;
  region: string;
  worker: string;
  attempts: string;
}

async function chat(content = 'hello', jurisdiction = 'DE'): Promise<Served> {
  const res = await request(`${c.gateway}/v1/chat/completions`, {
    method: 'POST',
    // A new connection per request: the primary deals connections to the workers in turn.
    reset: true,
    headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': jurisdiction, connection: 'close' },
    body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content }] }),
  });
  await res.body.dump();
  return { status: res.statusCode, region: String(res.headers['x-sovereign-region']), worker: String(res.headers['x-sovereign-worker']), attempts: String(res.headers['x-sovereign-attempts'] ?? '') };
}

/**
 * Batches of `n` concurrent requests, each on a new connection, until both workers have answered
 * (at most 8 batches): the primary deals connections in turn, but passes over a worker that has
 * not yet taken the connection before (one busy with a long turn, on a loaded machine).
 */
async function onBothWorkers(n: number): Promise<Served[]> {
  const all: Served[] = [];
  for (let i = 0; i < 8 && new Set(all.map((x) => x.worker)).size < 2; i++) all.push(...(await Promise.all(Array.from({ length: n }, () => chat()))));
  return all;
}

async function admin(p: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`${c.gateway}${p}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

async function metrics(): Promise<string> {
  const res = await request(`${c.gateway}/metrics`, { reset: true, headers: { authorization: `Bearer ${token}`, connection: 'close' } });
  assert.equal(res.statusCode, 200);
  return res.body.text();
}

/** The sum of a metric's samples whose labels include every pair of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

test('two workers serve, and a suspension is in force on both before the command returns', async () => {
  assert.equal(c.gatewayWorkers().length, 2, 'the gateway runs two worker processes');
  const before = await onBothWorkers(8);
  assert.deepEqual(new Set(before.map((s) => s.worker)), new Set(['1', '2']), JSON.stringify(before));
  assert.ok(before.every((s) => s.region === 'eu-frankfurt'));

  const s = await admin('/sovereign/admin/regions/eu-frankfurt/suspend', { reason: 'Supervisory authority order', ref: 'SA-W-1', mode: 'drain' });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.in_force_on_workers, 2);
  // At once, on every worker: never the suspended region.
  const during = await onBothWorkers(24);
  assert.deepEqual(new Set(during.map((x) => x.worker)), new Set(['1', '2']));
  for (const x of during) {
    assert.equal(x.status, 200);
    assert.notEqual(x.region, 'eu-frankfurt', JSON.stringify(x));
  }
  const r = await admin('/sovereign/admin/regions/eu-frankfurt/resume', { reason: 'order lifted' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const afterwards = await Promise.all(Array.from({ length: 8 }, () => chat()));
  assert.ok(afterwards.every((x) => x.region === 'eu-frankfurt'), JSON.stringify(afterwards));
});

test('suspensions racing from both workers: each is in force everywhere when its call returns', async () => {
  // Two triggers at once, made on whichever workers take them; neither is lost (compare-and-set at the primary).
  const [a, b] = await Promise.all([
    admin('/sovereign/admin/regions/eu-frankfurt/suspend', { reason: 'order A', ref: 'SA-W-2a', mode: 'drain' }),
    admin('/sovereign/admin/regions/eu-paris/suspend', { reason: 'order B', ref: 'SA-W-2b', mode: 'drain', for: ['EU'] }),
  ]);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(b.status, 200, JSON.stringify(b.body));
  const during = await Promise.all(Array.from({ length: 16 }, () => chat()));
  for (const x of during) assert.ok(!['eu-frankfurt', 'eu-paris'].includes(x.region), JSON.stringify(x));
  for (const region of ['eu-frankfurt', 'eu-paris']) assert.equal((await admin(`/sovereign/admin/regions/${region}/resume`, {})).status, 200);
});

test('--cut aborts the requests in flight to the region on every worker', async () => {
  // About half a second of analysis each at the cell: both are in flight when the cut lands.
  const text = 'The committee met on Tuesday in Paris and praised the excellent new bridge. '.repeat(2500);
  const inflight = [chat(text), chat(text)];
  let seen = 0;
  for (let i = 0; i < 400 && seen < 2; i++) {
    seen = sample(await metrics(), 'sovereign_region_inflight', { region: 'eu-frankfurt' });
    if (seen < 2) await sleep(25);
  }
  assert.equal(seen, 2, 'both requests in flight to eu-frankfurt (the aggregated metric counts both workers)');
  const s = await admin('/sovereign/admin/regions/eu-frankfurt/suspend', { reason: 'Injunction', ref: 'SA-W-3', mode: 'cut' });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  const done = await Promise.all(inflight);
  assert.deepEqual(new Set(done.map((x) => x.worker)), new Set(['1', '2']), JSON.stringify(done));
  for (const x of done) {
    // Cut at eu-frankfurt and served by the next permitted region instead.
    assert.notEqual(x.region, 'eu-frankfurt', JSON.stringify(x));
    assert.match(x.attempts, /eu-frankfurt=skipped/);
  }
  assert.equal((await admin('/sovereign/admin/regions/eu-frankfurt/resume', {})).status, 200);
});

test('a changed topology reaches every worker; a bad one is refused by all and the old stays', async () => {
  const original = readFileSync(c.configFile, 'utf8');
  try {
    // eu-paris first in preference: every worker routes there once the reload is committed.
    writeFileSync(c.configFile, original.replace(/preference:\n(\s+)- eu-frankfurt\n(\s+)- eu-paris/, 'preference:\n$1- eu-paris\n$2- eu-frankfurt'));
    let served: Served[] = [];
    for (let i = 0; i < 100; i++) {
      served = await Promise.all(Array.from({ length: 8 }, () => chat()));
      if (served.every((x) => x.region === 'eu-paris')) break;
      await sleep(200);
    }
    assert.ok(served.every((x) => x.region === 'eu-paris'), JSON.stringify(served));
    assert.deepEqual(new Set(served.map((x) => x.worker)), new Set(['1', '2']));
    // A broken file: refused by every worker, eu-paris stays first everywhere.
    writeFileSync(c.configFile, `${original.replace(/preference:\n(\s+)- eu-frankfurt/, 'preference:\n$1- nowhere-region\n$1- eu-frankfurt')}`);
    for (let i = 0; i < 100 && !/changed topology or policy refused/.test(readFileSync(path.join(c.dir, 'data/logs/gateway.log'), 'utf8')); i++) await sleep(100);
    assert.match(readFileSync(path.join(c.dir, 'data/logs/gateway.log'), 'utf8'), /changed topology or policy refused/);
    const still = await Promise.all(Array.from({ length: 8 }, () => chat()));
    assert.ok(still.every((x) => x.status === 200 && x.region === 'eu-paris'), JSON.stringify(still));
  } finally {
    writeFileSync(c.configFile, original);
  }
  for (let i = 0; i < 100; i++) {
    if ((await Promise.all(Array.from({ length: 4 }, () => chat()))).every((x) => x.region === 'eu-frankfurt')) return;
    await sleep(200);
  }
  assert.fail('the original topology was not reloaded');
});

test('/metrics counts the requests of every worker, with the same labels', async () => {
  const labels = { outcome: 'routed', region: 'eu-frankfurt', jurisdiction: 'EU', class: 'public' };
  const before = sample(await metrics(), 'sovereign_requests_total', labels);
  const served = await onBothWorkers(10);
  assert.deepEqual(new Set(served.map((x) => x.worker)), new Set(['1', '2']));
  const text = await metrics();
  assert.equal(sample(text, 'sovereign_requests_total', labels) - before, 10, text.split('\n').filter((l) => l.startsWith('sovereign_requests_total')).join('\n'));
  assert.equal(sample(text, 'sovereign_region_healthy', { region: 'eu-frankfurt' }), 1, 'healthy on every worker (not summed)');
});

test('a killed worker is restarted in its slot and delivers the outbox of the one it replaced', async () => {
  const outbox = path.join(c.dir, 'data/gateway/ledger-outbox-gateway-w2.jsonl');
  // The worker in slot 2 (its outbox file is ledger-outbox-gateway-w2.jsonl).
  const victim = c.gatewayWorkers().find((pid) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes('SOVEREIGN_GATEWAY_WORKER=2'));
  assert.ok(victim, 'a worker fills slot 2');
  const primary = c.pidOf('gateway');
  // What the worker had kept for a region that was down when it died (the file is what is durable).
  process.kill(victim, 'SIGSTOP');
  const ref = `outbox-drain-${process.pid}-${Date.now()}`;
  const kept = { region: 'eu-paris', entry: { v: 1, kind: 'trigger', time: new Date().toISOString(), action: 'resume', region: 'eu-paris', jurisdictions: ['EU'], reason: 'kept while the region was down', ref } };
  appendFileSync(outbox, `${JSON.stringify(kept)}\n`);
  // The worker dies while the primary is held, so that the primary's next health broadcast
  // (every 200 ms, a timer: it runs before the primary reads the channel's close) is written to
  // the dead worker.
  process.kill(primary, 'SIGSTOP');
  process.kill(victim, 'SIGKILL');
  await sleep(500);
  process.kill(primary, 'SIGCONT');
  // A successor in slot 2, serving, with the outbox delivered into eu-paris's ledger.
  let workers: number[] = [];
  for (let i = 0; i < 600; i++) {
    // The primary outlives its worker (a message it sends the dead worker must not take it down).
    assert.ok(alive(primary), `the gateway primary (pid ${primary}) died with its worker; its log:\n${readFileSync(path.join(c.dir, 'data/logs/gateway.log'), 'utf8').split('\n').filter((l) => !l.startsWith('{')).join('\n')}`);
    workers = c.gatewayWorkers();
    if (workers.length === 2 && !workers.includes(victim) && existsSync(outbox) && readFileSync(outbox, 'utf8').trim() === '') break;
    await sleep(100);
  }
  assert.equal(workers.length, 2, 'a new worker took the slot');
  assert.ok(!workers.includes(victim));
  assert.equal(readFileSync(outbox, 'utf8').trim(), '', 'the outbox was delivered');
  const res = await request(`${c.gateway}/sovereign/ledger/eu-paris/entries?from=0&to=1000`);
  const entries = ((await res.body.json()) as { entries: { entry: Record<string, unknown> }[] }).entries;
  assert.ok(entries.some((e) => e.entry.ref === ref), 'the kept record is in the region ledger');
  const served = await onBothWorkers(8);
  assert.deepEqual(new Set(served.map((x) => x.worker)), new Set(['1', '2']));
  assert.match(c.output() + readFileSync(path.join(c.dir, 'data/logs/gateway.log'), 'utf8'), /gateway worker exited; starting another in its slot/);
});
