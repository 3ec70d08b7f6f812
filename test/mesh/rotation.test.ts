// Rotation without downtime: a new signing CA for a region, then a new root (trusted next to
// the old one, then alone), while traffic flows through pooled mTLS connections and new ones.
// The processes pick up the new CA and trust bundle without a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startCell, type RunningCell } from '../../src/cell/index.ts';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { initTrustDomain, Mesh, parsePemCerts, retireOldRoots, rotateRoot, rotateSigningCas, spiffeId, trustDomainPaths } from '../../src/mesh/index.ts';
import { withShippedModel } from '../helpers/golden.ts';
import { freePort } from '../helpers/ports.ts';

let topology: Topology;
let cell: RunningCell;
let golden: { close(): Promise<void> } | undefined;
let gw: Mesh;

before(async () => {
  topology = topologyFrom({
    dataDir: mkdtempSync(path.join(tmpdir(), 'sovereign-mesh-rotate-')),
    jurisdictions: { EU: ['FR'] },
    regions: [{ id: 'eu-paris', jurisdiction: 'EU', country: 'FR', url: `https://127.0.0.1:${await freePort()}` }],
  });
  await initTrustDomain(topology);
  golden = await withShippedModel(topology);
  cell = await startCell({ topology, region: 'eu-paris', logger: pino({ level: 'silent' }) });
  await cell.ready;
  gw = await Mesh.open(topology, spiffeId.gateway('sovereign.internal', 'rotation-test'), pino({ level: 'silent' }));
});
after(async () => {
  await gw?.closeClients();
  gw?.close();
  await cell?.close();
  await golden?.close();
});

/** Steady requests until stopped, each on the shared pool and every fifth on a fresh pool (a new handshake). */
function traffic(): { stop: () => Promise<string[]>; count: () => number } {
  const failures: string[] = [];
  let n = 0;
  let running = true;
  const shared = gw.cellPool('eu-paris', { connections: 2 });
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const pool = i % 5 === 0 ? gw.cellPool('eu-paris', { connections: 1 }) : shared;
      try {
        const res = await pool.request({ method: 'GET', path: '/v2/health/ready', headersTimeout: 5000 });
        await res.body.dump();
        if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`);
        n++;
      } catch (err) {
        failures.push((err as Error).message);
      } finally {
        if (pool !== shared) await pool.close();
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    count: () => n,
    stop: async () => {
      running = false;
      await loop;
      await shared.close();
      return failures;
    },
  };
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const issuerOf = (pem: string | undefined): string => parsePemCerts(pem ?? '')[0]?.issuer ?? '';
const caFingerprint = (pem: string | undefined): string => parsePemCerts(pem ?? '')[1]?.fingerprint256 ?? '';

test('a region CA rotation, a root rotation and retiring the old root cause no failed request', async () => {
  const t = traffic();
  try {
    // 1. New signing CA for the region: the cell signs with it within a second.
    const before = caFingerprint(cell.mesh.svid?.chainPem);
    await rotateSigningCas(topology, [{ kind: 'region', region: 'eu-paris' }]);
    await until('the cell renewed with the new region CA', () => caFingerprint(cell.mesh.svid?.chainPem) !== before);
    assert.match(issuerOf(cell.mesh.svid?.certPem), /Sovereign region eu-paris CA/);

    // 2. New root: bundle first (both roots), then new signing CAs; both sides switch.
    const oldRoot = readFileSync(trustDomainPaths(topology).rootCert, 'utf8');
    const gwCa = caFingerprint(gw.svid?.chainPem);
    const cellCa = caFingerprint(cell.mesh.svid?.chainPem);
    await rotateRoot(topology, { settleMs: 1000 });
    assert.equal(parsePemCerts(readFileSync(trustDomainPaths(topology).bundle, 'utf8')).length, 2, 'old and new root trusted during the overlap');
    await until('the cell signs under the new root', () => caFingerprint(cell.mesh.svid?.chainPem) !== cellCa);
    await until('the gateway signs under the new root', () => caFingerprint(gw.svid?.chainPem) !== gwCa);
    const n = t.count();
    await until('traffic flows after the root rotation', () => t.count() > n + 10);

    // 3. End of the overlap window: only the new root is trusted.
    assert.equal(await retireOldRoots(topology), 1);
    assert.notEqual(readFileSync(trustDomainPaths(topology).bundle, 'utf8').trim(), oldRoot.trim());
    const m = t.count();
    await until('traffic flows after the old root was retired', () => t.count() > m + 20, 8000);
  } finally {
    const failures = await t.stop();
    assert.deepEqual(failures, []);
  }
});
