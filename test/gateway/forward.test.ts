// The forwarder asks the law in force right before each attempt: a region suspended while a
// request's decision was being recorded (in the subjects' home regions, before sending) or
// retried is never sent that request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { topologyFrom } from '../../src/config/index.ts';
import { pino } from 'pino';
import { HealthMonitor } from '../../src/health/index.ts';
import { Mesh } from '../../src/mesh/index.ts';
import { Forwarder } from '../../src/gateway/forward.ts';
import type { Decision } from '../../src/gateway/decision.ts';
import type { PendingRecord } from '../../src/gateway/outbox.ts';

const hits: Record<string, number> = { a: 0, b: 0 };
const servers: Server[] = [];
const urls: Record<string, string> = {};

before(async () => {
  for (const id of ['a', 'b']) {
    const s = createServer((req, res) => {
      if (req.url !== '/v2/health/ready') hits[id] = (hits[id] ?? 0) + 1;
      // A stand-in cell that records what it is sent: its receipt names its own log.
      const receipt = req.headers['x-sovereign-record'] !== undefined ? { 'x-sovereign-ledger': `origin/${id} ${hits[id]}` } : {};
      res.writeHead(200, { 'content-type': 'application/json', ...receipt }).end(`{"region":"${id}"}`);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    servers.push(s);
    urls[id] = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  }
});
after(() => {
  for (const s of servers) s.close();
});

test('a region that stops being permitted after its entry was recorded is skipped, never sent', async () => {
  const topology = topologyFrom({
    jurisdictions: { EU: ['DE', 'FR'] },
    regions: [
      { id: 'a', jurisdiction: 'EU', country: 'DE', url: urls.a },
      { id: 'b', jurisdiction: 'EU', country: 'FR', url: urls.b },
    ],
    // The forwarder's choice of regions is under test, not the channel: plain HTTP stand-in cells.
    mesh: { mode: 'plaintext' },
  });
  const health = new HealthMonitor(topology.regions.map((r) => ({ region: r.id, url: r.url })), { intervalMs: 1000 });
  await health.probe('a');
  await health.probe('b');
  const suspended = new Set<string>();
  const recorded: string[] = [];
  // Records for other regions (a transfer in the subjects' home region) are made before sending.
  const recorder = {
    recordElsewhere: async (records: readonly PendingRecord[]): Promise<void> => {
      for (const r of records) {
        recorded.push(r.region);
        // The legal trigger lands while the transfer to region a is being recorded.
        if (r.entry.region === 'a') suspended.add('a');
      }
    },
  };
  const forwarder = new Forwarder(topology, health, await Mesh.open(topology, 'spiffe://sovereign.internal/gateway/test', pino({ level: 'silent' })), recorder);
  const d = { id: 'd1', tenant: null, candidates: ['a', 'b'], permitted: ['a', 'b'] } as unknown as Decision;
  const sha = createHash('sha256').update('{}').digest('hex');
  const out = await forwarder.send(d, {
    method: 'POST',
    path: '/v1/chat/completions',
    body: Buffer.from('{}'),
    contentType: 'application/json',
    signal: new AbortController().signal,
    permitted: (r) => !suspended.has(r),
    plan: (region, before) => ({
      record: { entry: { v: 1, kind: 'decision', decision_id: 'd1', region, attempts: before.map((a) => ({ region: a.region, outcome: a.outcome })) }, body_sha256: sha },
      elsewhere: [{ region: 'home', entry: { v: 1, kind: 'decision', outcome: 'transfer', region }, body_sha256: sha }],
    }),
  });
  assert.ok(out.ok);
  assert.equal(out.region, 'b');
  assert.equal(out.receipt, 'origin/b 1');
  assert.equal(hits.a, 0, 'the suspended region received the request');
  assert.equal(hits.b, 1);
  assert.deepEqual(recorded, ['home', 'home']);
  assert.deepEqual(out.attempts.map((a) => `${a.region}=${a.outcome}`), ['a=skipped', 'b=ok']);
  await forwarder.close();
});
