// End-to-end tests on the network-namespace test bed (scripts/testbed/bed.ts): every cell, the
// gateway and a client in their own namespaces with real inter-region round trips. Clients of
// several countries are played by the client namespace, a trusted proxy that sends each user's
// public address only as data, in X-Forwarded-For; every request goes to test bed addresses.
//
// Needs root and `ip netns`: skipped with the reason otherwise, except under CI=true, where a
// missing capability fails the tests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentFetch, type FetchResult } from '../../scripts/testbed/client.ts';
import { spiffeId } from '../../src/mesh/index.ts';
import { meshClient } from '../helpers/mesh.ts';
import { capability, down, heal, measure, partition, restartGateway, setRtt, up, DEFAULT_RTT_MS, type State } from '../../scripts/testbed/bed.ts';

const cap = capability();
const skip = !cap.ok && process.env.CI !== 'true' ? `test bed unavailable: ${cap.reason}` : false;

const IP = { DE: '193.99.144.80', FR: '212.27.48.10', AE: '94.200.200.200', SG: '165.21.83.88', US: '8.8.8.8' } as const;
const PERSONAL = 'My name is Anna Schmidt, email anna.schmidt@example.com';
const SPECIAL = 'Please summarise my diabetes treatment plan';
const PUBLIC = 'What a lovely sunny day in the park.';
const EU_REGIONS = ['eu-frankfurt', 'eu-paris'];
const EU_PERSONAL_PERMITTED = ['eu-frankfurt', 'eu-paris', 'uae-dubai'];

let bed: State;

function chat(country: keyof typeof IP, text: string, timeoutMs = 10_000): Promise<FetchResult> {
  return agentFetch(bed.agentSocket, {
    url: `${bed.gatewayUrl}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': IP[country] },
    body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: text }] }),
    timeoutMs,
  });
}

interface RegionHealth {
  region: string;
  healthy: boolean;
  latencyMs: number;
}

async function regions(): Promise<RegionHealth[]> {
  const r = await agentFetch(bed.agentSocket, { url: `${bed.gatewayUrl}/sovereign/regions`, timeoutMs: 5000 });
  assert.equal(r.status, 200, `GET /sovereign/regions: ${r.error ?? r.body}`);
  return (JSON.parse(r.body ?? '{}') as { regions: RegionHealth[] }).regions;
}

async function waitHealthy(region: string, healthy: boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await regions()).find((r) => r.region === region)?.healthy === healthy) return Date.now();
    await sleep(100);
  }
  throw new Error(`${region} not ${healthy ? 'healthy' : 'ejected'} within ${timeoutMs} ms`);
}

function served(r: FetchResult): string {
  assert.equal(r.status, 200, `expected 200, got ${r.status ?? r.error}: ${r.body ?? ''}`);
  for (const h of ['x-sovereign-region', 'x-sovereign-decision-id', 'x-sovereign-ledger', 'x-sovereign-attempts']) assert.ok(r.headers?.[h], `missing ${h}`);
  return r.headers?.['x-sovereign-region'] ?? '';
}

it('this machine can run the test bed (root, ip netns, tc netem or TUN + python3)', { skip }, (t) => {
  assert.ok(cap.ok, `CI=true and the test bed cannot run here: ${cap.reason}`);
  t.diagnostic(cap.reason);
});

describe('test bed: Sovereign across network namespaces with real latency', { skip, timeout: 300_000 }, () => {
  before(async () => {
    if (!cap.ok) throw new Error(`CI=true and the test bed cannot run here: ${cap.reason}`);
    await down({ log: () => {} });
    bed = await up({ log: () => {} });
  });

  after(async () => {
    if (cap.ok) await down({ log: () => {} });
  });

  it('links add the configured round-trip times', async (t) => {
    // TCP connect time from the client namespace: one round trip over the client link and,
    // for a cell, the region's link (plus a few ms of emulation and scheduling overhead).
    for (const r of await measure(bed.dir, 5)) {
      const sorted = [...r.samplesMs].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
      t.diagnostic(`${r.link}: configured ${r.configuredMs} ms, measured ${r.samplesMs.map((x) => x.toFixed(1)).join(' ')} ms`);
      assert.ok(median >= r.configuredMs * 0.9 && median < r.configuredMs + 40, `${r.link}: median ${median.toFixed(1)} ms, configured ${r.configuredMs} ms`);
    }
  });

  it('cells reach each other across namespaces over mTLS (witness traffic)', async () => {
    // The gateway namespace routes between regions; a cell's witness learns the others' keys
    // and pushes checkpoints to them, presenting its own cell SVID.
    const { execFileSync } = await import('node:child_process');
    const script = `import https from 'node:https'; import { readFileSync as r } from 'node:fs'; const [url, cert, key, ca] = process.argv.slice(1);
      https.get(url, { cert: r(cert), key: r(key), ca: r(ca), timeout: 5000 }, (res) => { console.log(res.statusCode); res.resume(); }).on('error', (e) => console.log(e.message));`;
    for (const [from, to] of [['sg-singapore', 0], ['eu-frankfurt', 3]] as const) {
      const target = bed.regions[to];
      const me = await meshClient(bed.configFile, spiffeId.cell('sovereign.internal', from));
      const out = execFileSync('ip', ['netns', 'exec', `sov-${from}`, process.execPath, '--input-type=module', '-e', script, `${target?.url}/sovereign/ledger/${target?.id}/key`, me.files.cert, me.files.key, me.files.bundle], { encoding: 'utf8', timeout: 15_000 });
      await me.close();
      assert.equal(out.trim(), '200', `${from} -> ${target?.url}`);
    }
  });

  it('(a) routes personal data by the client country; legal-first puts the home region first', async () => {
    const expect: Record<string, { permitted: string[]; first: string[] }> = {
      DE: { permitted: EU_PERSONAL_PERMITTED, first: EU_REGIONS },
      FR: { permitted: EU_PERSONAL_PERMITTED, first: EU_REGIONS },
      AE: { permitted: ['uae-dubai'], first: ['uae-dubai'] },
      SG: { permitted: ['eu-frankfurt', 'eu-paris', 'uae-dubai', 'sg-singapore'], first: ['sg-singapore'] },
    };
    for (const [country, e] of Object.entries(expect)) {
      for (let i = 0; i < 3; i++) {
        const region = served(await chat(country as keyof typeof IP, PERSONAL));
        assert.ok(e.permitted.includes(region), `${country}: served by ${region}, permitted ${e.permitted.join(', ')}`);
        assert.ok(e.first.includes(region), `${country}: legal-first served by ${region}, expected the home jurisdiction (${e.first.join(', ')})`);
      }
    }
    const us = await chat('US', PERSONAL);
    assert.equal(us.status, 451, `US: expected 451, got ${us.status ?? us.error}`);
    assert.equal(us.headers?.['x-sovereign-region'], undefined);
    assert.match(us.body ?? '', /decision/i);
    // Special-category data stays home: AE in uae-dubai, EU in the EU.
    assert.equal(served(await chat('AE', SPECIAL)), 'uae-dubai');
    assert.ok(EU_REGIONS.includes(served(await chat('DE', SPECIAL))));
  });

  it('(b) fails over within the permitted set when eu-frankfurt is partitioned', async (t) => {
    interface Sample extends FetchResult {
      startedAt: number;
    }
    const samples: Promise<Sample>[] = [];
    const INTERVAL_MS = 50;
    const COUNT = 120; // 6 s of requests, each bounded by its own timeout
    const partitionAt = Date.now() + 1500;
    let partitioned = false;
    let ejectedAt: number | null = null;
    const watcher = (async () => {
      while (ejectedAt === null && Date.now() < partitionAt + 10_000) {
        if (partitioned && (await regions()).find((r) => r.region === 'eu-frankfurt')?.healthy === false) ejectedAt = Date.now();
        await sleep(50);
      }
    })();
    for (let i = 0; i < COUNT; i++) {
      if (!partitioned && Date.now() >= partitionAt) {
        partition('eu-frankfurt');
        partitioned = true;
      }
      const startedAt = Date.now();
      samples.push(chat('DE', PERSONAL, 8000).then((r) => ({ ...r, startedAt })));
      await sleep(INTERVAL_MS);
    }
    const results = await Promise.all(samples);
    await watcher;
    try {
      assert.ok(partitioned, 'the partition never started');
      assert.ok(ejectedAt !== null, 'eu-frankfurt was never ejected');
      const ejected = ejectedAt;
      for (const r of results) {
        const region = r.headers?.['x-sovereign-region'];
        if (region !== undefined) assert.ok(EU_PERSONAL_PERMITTED.includes(region), `served by ${region}: outside the permitted set`);
        if (r.startedAt > ejected) {
          assert.equal(r.status, 200, `a request sent ${r.startedAt - ejected} ms after ejection failed: ${r.status ?? r.error} ${r.body ?? ''}`);
          assert.notEqual(region, 'eu-frankfurt');
        }
      }
      const afterEjection = results.filter((r) => r.startedAt > ejected);
      const failedBefore = results.filter((r) => r.startedAt <= ejected && r.status !== 200).length;
      t.diagnostic(`${results.length} requests; eu-frankfurt ejected ${ejected - partitionAt} ms after the partition; ${failedBefore} in flight before ejection failed; ${afterEjection.length} after it, all served by ${[...new Set(afterEjection.map((r) => r.headers?.['x-sovereign-region']))].join(', ')}`);
      assert.ok(afterEjection.length >= 20, `only ${afterEjection.length} requests after ejection (ejected ${ejected - partitionAt} ms after the partition)`);
      // Special-category data of EU subjects: only in the EU, so eu-paris now.
      for (let i = 0; i < 5; i++) assert.equal(served(await chat('DE', SPECIAL)), 'eu-paris');
    } finally {
      heal('eu-frankfurt');
    }
    await waitHealthy('eu-frankfurt', true, 20_000);
    assert.equal(served(await chat('DE', PERSONAL)), 'eu-frankfurt', 'legal-first returns to eu-frankfurt once healed');
  });

  it('(c) performance-first follows the real latencies and moves away from EU when it slows down', async (t) => {
    await restartGateway('performance-first');
    try {
      // Let the latency EWMA settle on probes (every 200 ms).
      await sleep(3000);
      // The gateway's latency EWMA also takes each request's service time, so a region that just
      // served a request looks slower for a moment; requests 400 ms apart (two probes) let it settle.
      const before: string[] = [];
      for (let i = 0; i < 8; i++) {
        before.push(served(await chat('SG', PUBLIC)));
        await sleep(400);
      }
      t.diagnostic(`SG public data, EU at 10 ms: ${before.join(', ')}`);
      assert.ok(!before.includes('sg-singapore'), `SG public data served by sg-singapore (150 ms) although EU (10 ms) is nearer: ${before.join(', ')}`);
      assert.ok(before.filter((r) => EU_REGIONS.includes(r)).length >= 6, `SG public data mostly not in EU (10 ms): ${before.join(', ')}`);
      const changedAt = Date.now();
      setRtt('eu-frankfurt', (DEFAULT_RTT_MS['eu-frankfurt'] ?? 10) + 200);
      setRtt('eu-paris', (DEFAULT_RTT_MS['eu-paris'] ?? 10) + 200);
      let run = 0;
      let movedAfter: number | null = null;
      while (Date.now() - changedAt < 10_000) {
        const region = served(await chat('SG', PUBLIC));
        run = EU_REGIONS.includes(region) ? 0 : run + 1;
        if (run >= 5) {
          movedAfter = Date.now() - changedAt;
          break;
        }
        await sleep(100);
      }
      assert.ok(movedAfter !== null, 'traffic did not move away from the slowed EU regions within 10 s');
      assert.ok(movedAfter < 8000, `moved after ${movedAfter} ms`);
      const moved: string[] = [];
      for (let i = 0; i < 5; i++) {
        moved.push(served(await chat('SG', PUBLIC)));
        await sleep(400);
      }
      t.diagnostic(`EU links +200 ms: traffic left EU after ${movedAfter} ms; then ${moved.join(', ')}`);
      assert.ok(!moved.some((r) => EU_REGIONS.includes(r)), `back in EU after it slowed down: ${moved.join(', ')}`);
    } finally {
      setRtt('eu-frankfurt', DEFAULT_RTT_MS['eu-frankfurt'] ?? 10);
      setRtt('eu-paris', DEFAULT_RTT_MS['eu-paris'] ?? 10);
    }
  });
});
