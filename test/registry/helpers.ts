// Fixtures for registry tests: an in-process golden registry on a free port, model directories,
// and a region layout to replicate into.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { topologyFrom, type Topology } from '../../src/config/index.ts';
import { initTrustDomain, type Mesh } from '../../src/mesh/index.ts';
import {
  RegistryClient,
  closeRegistryClients,
  goldenClient,
  loadOrCreateSigningKey,
  openOperatorMesh,
  openRegistryMesh,
  publisherKeyFile,
  registryToken,
  startGolden,
  type ModelConfig,
  type RunningGolden,
} from '../../src/registry/index.ts';

export const silent = pino({ level: 'silent' });

const made: string[] = [];
// Temporary directories go when the test file's process ends.
process.once('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'registry-'): string {
  const d = mkdtempSync(path.join(tmpdir(), `sovereign-${prefix}`));
  made.push(d);
  return d;
}

export function config(name: string, version: string, extra: Partial<ModelConfig> = {}): ModelConfig {
  return { name, version, licence: 'MIT', trainingData: { dataClass: 'public', jurisdictions: [], sources: ['test corpus'] }, runtime: { kind: 'wink-nlp' }, ...extra };
}

/** A model directory: `files` relative path → content (a number: that many random bytes). */
export function modelDir(files: Record<string, string | number>): string {
  const dir = tempDir('model-');
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, typeof content === 'number' ? randomBytes(content) : content);
  }
  return dir;
}

export interface TestGolden {
  topology: Topology;
  /** The topology as written (for a child process to load the same one). */
  config: Record<string, unknown>;
  golden: RunningGolden;
  /** The publisher's client: an operator identity under mtls, the write token in plaintext mode. */
  client: RegistryClient;
  /** A reader of golden as a region's registry is (spiffe://<td>/region/eu-frankfurt/registry under mtls). */
  source: RegistryClient;
  /** Under mtls: the operator's and the region registry's identities. */
  operator?: Mesh;
  regionMesh?: Mesh;
  key: KeyObject;
  close(): Promise<void>;
}

/**
 * A topology with EU, AE and SG regions (no cells) and an embedded golden started in-process.
 * `mtls: true` puts golden on the mesh (a trust domain is created); otherwise plaintext mode,
 * where the distribution API's own behaviour is tested with plain HTTP requests.
 */
export async function startTestGolden(extra: Record<string, unknown> = {}, opts: { mtls?: boolean } = {}): Promise<TestGolden> {
  const dir = tempDir('golden-');
  const cfg = {
    mesh: { mode: opts.mtls ? 'mtls' : 'plaintext' },
    dataDir: dir,
    jurisdictions: { EU: ['DE', 'FR'], AE: ['AE'], SG: ['SG'] },
    regions: [
      { id: 'eu-frankfurt', jurisdiction: 'EU', country: 'DE', url: 'http://127.0.0.1:1' },
      { id: 'uae-dubai', jurisdiction: 'AE', country: 'AE', url: 'http://127.0.0.1:2', transfers: { scc: ['EU'] } },
      { id: 'sg-singapore', jurisdiction: 'SG', country: 'SG', url: 'http://127.0.0.1:3' },
    ],
    ...extra,
  };
  const topology = topologyFrom(cfg);
  if (opts.mtls) await initTrustDomain(topology);
  const golden = await startGolden({ topology, logger: silent, port: 0 });
  const key = loadOrCreateSigningKey(publisherKeyFile(topology));
  if (!opts.mtls) {
    const client = new RegistryClient(golden.url, { token: registryToken(topology, true) as string });
    return { topology, config: cfg, golden, client, source: new RegistryClient(golden.url), key, close: () => golden.close() };
  }
  const operator = await openOperatorMesh(topology, silent, 'test-publisher');
  const regionMesh = await openRegistryMesh(topology, { kind: 'region', region: 'eu-frankfurt' }, silent, '127.0.0.1');
  return {
    topology,
    config: cfg,
    golden,
    client: goldenClient(topology, operator, golden.url),
    source: goldenClient(topology, regionMesh, golden.url),
    operator,
    regionMesh,
    key,
    async close() {
      for (const m of [operator, regionMesh]) {
        await closeRegistryClients(m);
        m.close();
      }
      await golden.close();
    },
  };
}

export function otherKey(kind: 'ed25519' | 'p256' = 'ed25519'): KeyObject {
  return kind === 'ed25519' ? generateKeyPairSync('ed25519').privateKey : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}
