// Renewal under load: with SVIDs living 4 s (renewed every 2 s) on both sides, steady inference
// traffic through a pooled mTLS client sees no failed request, the open connections are kept
// (renewal applies to new handshakes), and both sides really renewed many times.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startCell, type RunningCell } from '../../src/cell/index.ts';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { initTrustDomain, Mesh, spiffeId } from '../../src/mesh/index.ts';
import { withShippedModel } from '../helpers/golden.ts';
import { freePort } from '../helpers/ports.ts';

const TTL_S = 4;
const LOAD_MS = 20_000;
const RATE = 40;

let topology: Topology;
let cell: RunningCell;
let golden: { close(): Promise<void> } | undefined;
let gw: Mesh;

before(async () => {
  topology = topologyFrom({
    dataDir: mkdtempSync(path.join(tmpdir(), 'sovereign-mesh-renew-')),
    jurisdictions: { EU: ['FR'] },
    regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: `https://127.0.0.1:${await freePort()}` }],
    mesh: { svidTtlSeconds: TTL_S },
  });
  await initTrustDomain(topology);
  golden = await withShippedModel(topology);
  cell = await startCell({ topology, region: 'eu-paris', logger: pino({ level: 'silent' }) });
  await cell.ready;
  gw = await Mesh.open(topology, spiffeId.gateway('sovereign.internal', 'renewal-test'), pino({ level: 'silent' }));
});
after(async () => {
  await gw?.closeClients();
  gw?.close();
  await cell?.close();
  await golden?.close();
});

test(`${RATE} req/s for ${LOAD_MS / 1000} s with ${TTL_S} s SVIDs: no failed request, connections kept, both sides renewed`, async () => {
  const pool = gw.cellPool('eu-paris', { connections: 4, keepAliveTimeout: 60_000 });
  let handshakes = 0;
  cell.app.server.on('secureConnection', () => handshakes++);
  const serials = { gateway: new Set<string>(), cell: new Set<string>() };
  const body = JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'Renewal keeps the train running.' }] });
  const failures: string[] = [];
  let done = 0;
  const inflight: Promise<void>[] = [];
  const started = Date.now();
  for (let i = 0; Date.now() - started < LOAD_MS; i++) {
    serials.gateway.add(gw.svid?.serial ?? '');
    serials.cell.add(cell.mesh.svid?.serial ?? '');
    inflight.push(
      pool
        .request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body, headersTimeout: 10_000, bodyTimeout: 10_000 })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`);
          done++;
        })
        .catch((err: unknown) => void failures.push((err as Error).message)),
    );
    const next = started + ((i + 1) * 1000) / RATE;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  await Promise.all(inflight);
  await pool.close();
  assert.deepEqual(failures, []);
  assert.ok(done >= (RATE * LOAD_MS) / 1000 / 2, `only ${done} requests completed`);
  // Renewed every TTL/2 = 2 s on both sides.
  const expected = Math.floor(LOAD_MS / 1000 / (TTL_S / 2)) - 3;
  assert.ok(serials.gateway.size >= expected, `gateway renewed ${serials.gateway.size - 1} times`);
  assert.ok(serials.cell.size >= expected, `cell renewed ${serials.cell.size - 1} times`);
  // Connections opened before a renewal were kept: a handful of handshakes, not one per renewal per connection.
  assert.ok(handshakes <= 8, `${handshakes} handshakes for ${done} requests`);
});
