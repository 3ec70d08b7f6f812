// The forwarder asks the law in force right before each attempt: a region suspended while a
// request was being recorded (or retried) is never sent that request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import Fastify from 'fastify';
import { topologyFrom } from '../../src/config/index.ts';
import { pino } from 'pino';
import { HealthMonitor } from '../../src/health/index.ts';
import { Mesh } from '../../src/mesh/index.ts';
import { Forwarder } from '../../src/gateway/forward.ts';
import type { Decision } from '../../src/gateway/decision.ts';

const hits: Record<string, number> = { a: 0, b: 0 };
const servers: Server[] = [];
const urls: Record<string, string> = {};

before(async () => {
  for (const id of ['a', 'b']) {
    const s = createServer((req, res) => {
      if (req.url !== '/v2/health/ready') hits[id] = (hits[id] ?? 0) + 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"region":"${id}"}`);
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
  const forwarder = new Forwarder(topology, health, await Mesh.open(topology, 'spiffe://sovereign.internal/gateway/test', pino({ level: 'silent' })));
  const suspended = new Set<string>();
  const recorded: string[] = [];
  const app = Fastify();
  app.post('/x', async (_req, reply) => {
    const d = { id: 'd1', tenant: null, candidates: ['a', 'b'], permitted: ['a', 'b'], attempts: [] } as unknown as Decision;
    return forwarder.send(
      d,
      {
        method: 'POST',
        path: '/v1/chat/completions',
        body: Buffer.from('{}'),
        contentType: 'application/json',
        signal: new AbortController().signal,
        permitted: (r) => !suspended.has(r),
        record: async (r) => {
          recorded.push(r);
          // The legal trigger lands while region a's entry is being written.
          if (r === 'a') suspended.add('a');
          return `origin ${recorded.length}`;
        },
      },
      reply,
    );
  });
  const res = await app.inject({ method: 'POST', url: '/x', payload: {} });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-sovereign-region'], 'b');
  assert.equal(hits.a, 0, 'the suspended region received the request');
  assert.equal(hits.b, 1);
  assert.match(String(res.headers['x-sovereign-attempts']), /a=skipped, b=ok/);
  await app.close();
  await forwarder.close();
});
