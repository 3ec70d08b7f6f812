// A region's disk fills up during replication: refused with a clear error, no tag, no partial
// file left taking the space, and the release arrives once there is room. Needs a small tmpfs,
// so root; skipped with the reason elsewhere, required under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { LayoutStore, RegistryError, publishModel, replicateIntoLayout, trustedPublishers } from '../../src/registry/index.ts';
import { config, modelDir, startTestGolden, tempDir } from './helpers.ts';
import { mountTmpfs } from '../helpers/tmpfs.ts';

const root = tempDir('registry-diskfull-');
const mnt = path.join(root, 'mnt');
mkdirSync(mnt);
const why = mountTmpfs(mnt, '4m');
if (why !== null && process.env.CI === 'true') throw new Error(`the registry disk-full test must run under CI: ${why}`);

test('a full disk refuses the replication (STORAGE_FAILED), leaves nothing visible or half-written, and the release arrives once there is room', { skip: why ?? false, timeout: 120_000 }, async (t) => {
  t.after(() => {
    execFileSync('umount', [mnt], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  });
  const g = await startTestGolden();
  t.after(() => g.close());
  await publishModel(g.client, modelDir({ 'package.json': '{}', 'weights.bin': 6 * 1024 * 1024 }), config('demo', '1.0.0'), g.key);
  const store = new LayoutStore(path.join(mnt, 'region'));
  const opts = { source: g.source, name: 'demo', version: '1.0.0', publishers: trustedPublishers(g.topology) };
  const err = await replicateIntoLayout(store, opts).then(
    () => assert.fail('a 6 MiB release cannot fit a 4 MiB disk'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RegistryError);
  assert.equal(err.code, 'STORAGE_FAILED');
  assert.match(err.message, /disk is full/);
  assert.equal(store.resolve('demo', '1.0.0'), null, 'no tag');
  assert.deepEqual(readdirSync(path.join(store.root, 'partial')), [], 'no partial file keeps the space');
  const st = statfsSync(mnt);
  assert.ok(st.bfree * st.bsize > 3 * 1024 * 1024, 'the space was given back');

  // Room again (a bigger disk): the same promotion completes.
  execFileSync('mount', ['-o', 'remount,size=16m', mnt]);
  const a = await replicateIntoLayout(store, opts);
  assert.equal(store.resolve('demo', '1.0.0')?.digest, a.digest);
});
