// Transfers resume ACROSS RUNS: a replication or a `model push` whose process is killed mid-blob
// continues on the next run from what is already on disk (the region's partial file, hashed
// again; golden's upload session, which survives a restart of golden too) instead of byte 0.
// Nothing half-written becomes visible in between: no tag, no blob under its digest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LayoutStore,
  RegistryClient,
  publishModel,
  registryConnect,
  registryDispatcher,
  registryId,
  replicateIntoLayout,
  startGolden,
  trustedPublishers,
} from '../../src/registry/index.ts';
import type { WriteBatch } from '../../src/registry/drain.ts';
import { config, modelDir, silent, startTestGolden, tempDir, type TestGolden } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./fixtures/transfer-child.ts', import.meta.url));
const BIG = 48 * 1024 * 1024;

function child(args: Record<string, unknown>): ChildProcess {
  return spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Waits until `size()` passes `bytes`, then kills the process with SIGKILL (no cleanup runs). */
async function killWhen(p: ChildProcess, size: () => number, bytes: number): Promise<number> {
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (p.exitCode !== null) throw new Error(`the transfer ended (code ${p.exitCode}) before it could be killed; make BIG larger`);
    const n = size();
    if (n >= bytes) {
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
      return size();
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  p.kill('SIGKILL');
  throw new Error('the transfer did not get going within 240 s');
}

function fileSize(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}

test('a replication killed mid-blob resumes in the next run from the verified bytes on disk (Range request), nothing visible in between', { timeout: 300_000 }, async (t) => {
  const g = await startTestGolden({}, { mtls: true });
  t.after(() => g.close());
  const pub = await publishModel(g.client, modelDir({ 'package.json': '{}', 'big.bin': BIG }), config('demo', '1.0.0'), g.key);
  const root = tempDir('region-');
  const big = (await g.source.manifest('demo', '1.0.0')).bytes.toString();
  const bigDigest = (JSON.parse(big) as { layers: { digest: string; size: number }[] }).layers.find((l) => l.size === BIG)!.digest;
  const partial = path.join(root, 'partial', bigDigest.slice(7));

  const p = child({ mode: 'replicate', config: g.config, url: g.golden.url, root, name: 'demo', version: '1.0.0' });
  const kept = await killWhen(p, () => fileSize(partial), 8 * 1024 * 1024);
  assert.ok(kept > 0 && kept < BIG, `killed with ${kept} of ${BIG} bytes on disk`);
  // Nothing half-written is visible: no tag, the blob not under its digest.
  const after = new LayoutStore(root);
  assert.equal(after.resolve('demo', '1.0.0'), null);
  assert.equal(after.blobSize('demo', bigDigest), null);

  // The next run (a new process would do the same: a new store on the same directory).
  const offsets: number[] = [];
  class Counting extends RegistryClient {
    override async blobInto(name: string, digest: string, offset: number, size: number, write: WriteBatch): Promise<void> {
      if (digest === bigDigest) offsets.push(offset);
      return super.blobInto(name, digest, offset, size, write);
    }
  }
  // As goldenClient makes it: the big blob off a connection of its own, verified as golden.
  const goldenId = registryId(g.topology, { kind: 'golden' });
  const mesh = g.regionMesh;
  assert.ok(mesh, 'the region has a mesh identity (mtls)');
  const own = registryConnect(mesh, g.golden.url, goldenId);
  assert.ok(own, 'golden is reached over the mesh');
  const source = new Counting(g.golden.url, { dispatcher: registryDispatcher(mesh, g.golden.url, goldenId), connect: own });
  const a = await replicateIntoLayout(after, { source, name: 'demo', version: '1.0.0', publishers: trustedPublishers(g.topology) });
  assert.equal(a.digest, pub.digest);
  assert.equal(offsets[0], kept, `the second run asked for bytes ${offsets[0]}- (resumed ${kept} bytes, ${(kept / 2 ** 20).toFixed(1)} MiB)`);
  assert.equal(after.blobSize('demo', bigDigest), BIG);
  assert.equal(existsSync(partial), false, 'the partial file became the blob');
});

test('a model push killed mid-blob resumes in the next run from the upload session golden kept, also across a restart of golden', { timeout: 300_000 }, async (t) => {
  const g: TestGolden = await startTestGolden({}, { mtls: true });
  let golden = g.golden;
  t.after(async () => {
    await golden.close();
    await g.close().catch(() => undefined);
  });
  const dir = modelDir({ 'package.json': '{}', 'big.bin': BIG });
  const sessions = tempDir('sessions-');
  const uploads = path.join(g.topology.dataDir, 'golden', 'oci', 'uploads');
  const uploaded = (): number => readdirSync(uploads).filter((f) => !f.endsWith('.name')).reduce((n, f) => n + fileSize(path.join(uploads, f)), 0);

  const p = child({ mode: 'push', config: g.config, url: g.golden.url, dir, sessionDir: sessions, name: 'demo', version: '1.0.0' });
  const kept = await killWhen(p, uploaded, 20 * 1024 * 1024);
  assert.ok(kept > 0 && kept < BIG, `killed with ${kept} bytes in golden's upload session`);
  assert.equal(golden.store.resolve('demo', '1.0.0'), null, 'no tag');
  assert.equal(readdirSync(sessions).length, 1, 'the push remembered its session');

  // Golden restarts too (same address): the session is taken up from its files.
  const port = Number(new URL(golden.url).port);
  await golden.close();
  await new Promise((r) => setTimeout(r, 200));
  golden = await startGolden({ topology: g.topology, logger: silent, port });
  // Bytes already in golden's socket when the push was killed are still written after the count
  // above: what golden holds is read again once it has taken the session up from its files.
  const held = uploaded();
  assert.ok(held >= kept && held < BIG, `golden holds ${held} bytes of the session`);

  const resumed: number[] = [];
  const client = new RegistryClient(golden.url, {
    dispatcher: registryDispatcher(g.operator, golden.url, registryId(g.topology, { kind: 'golden' })),
    sessionDir: sessions,
    onResume: (_d, offset) => resumed.push(offset),
  });
  const pub = await publishModel(client, dir, config('demo', '1.0.0'), g.key);
  assert.ok(resumed.length === 1 && (resumed[0] as number) > 0 && (resumed[0] as number) <= held, `resumed at byte ${resumed[0]} of ${BIG} (golden held ${held})`);
  assert.equal(golden.store.resolve('demo', '1.0.0')?.digest, pub.digest);
  assert.equal(readdirSync(sessions).length, 0, 'the finished session is forgotten');
  // The blob that was resumed verifies: a region replicates it.
  const store = new LayoutStore(tempDir('region-'));
  const a = await replicateIntoLayout(store, { source: new RegistryClient(golden.url, { dispatcher: registryDispatcher(g.regionMesh, golden.url, registryId(g.topology, { kind: 'golden' })) }), name: 'demo', version: '1.0.0', publishers: trustedPublishers(g.topology) });
  assert.equal(a.digest, pub.digest);
});
