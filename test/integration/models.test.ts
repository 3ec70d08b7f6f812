// Model releases through a real `sovereign up`: the shipped model published to golden and
// promoted by law at first start; push, promote (and a refusal naming the policy), activation
// under load without a dropped request, x-sovereign-model-version, a tampered release refused
// while the cell keeps serving, deletion recorded and collected, ledger entries on both sides.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT, MAIN, startCluster, type Cluster } from '../helpers/cluster.ts';
import { meshClient, type MeshClient } from '../helpers/mesh.ts';

let c: Cluster;
/** Cells answer mTLS peers only: the test calls them as a gateway identity. */
let gw: MeshClient;
/** Registries answer mTLS peers only: direct calls to them go as an operator identity. */
let op: MeshClient;

before(async () => {
  c = await startCluster();
  gw = await meshClient(c.configFile);
  op = await meshClient(c.configFile, 'spiffe://sovereign.internal/operator/test');
});
after(async () => {
  await gw?.close();
  await op?.close();
  await c?.stop();
});

function sov(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, '--config', c.configFile, ...args], { cwd: ROOT });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

async function chat(jurisdiction: string): Promise<{ status: number; version: string; region: string }> {
  const res = await fetch(`${c.gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': jurisdiction },
    body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'I love the new train to Paris.' }] }),
  });
  await res.arrayBuffer();
  return { status: res.status, version: res.headers.get('x-sovereign-model-version') ?? '', region: res.headers.get('x-sovereign-region') ?? '' };
}

async function entries(region: string): Promise<Record<string, unknown>[]> {
  const res = await gw.fetch(`${c.regions[region]}/sovereign/ledger/${region}/entries?from=0&to=1000`);
  return ((await res.json()) as { entries: { entry: Record<string, unknown> }[] }).entries.map((e) => e.entry);
}

const shipped = (() => {
  const req = createRequire(path.join(ROOT, 'package.json'));
  const pkg = req.resolve('wink-eng-lite-web-model/package.json');
  return { dir: path.dirname(pkg), version: (req(pkg) as { version: string }).version };
})();

function newRelease(note: string): string {
  const dir = path.join(c.dir, `release-${note}`);
  cpSync(shipped.dir, dir, { recursive: true });
  writeFileSync(path.join(dir, 'RELEASE-NOTES.md'), `release ${note}\n`);
  return dir;
}

test('first start: the shipped model was published to golden, promoted to every region and recorded on both sides', async () => {
  const r = await chat('DE');
  assert.equal(r.status, 200);
  assert.match(r.version, new RegExp(`^text-analysis@${shipped.version.replace(/\./g, '\\.')} sha256:[0-9a-f]{64}$`));
  const list = await sov(['model', 'list', '--json']);
  assert.equal(list.code, 0, list.err);
  const l = JSON.parse(list.out) as { golden: { url: string; models: { version: string }[] }; regions: { region: string; registry: string; models: { version: string; digest: string }[]; active: { version: string } }[] };
  assert.ok(l.golden.url.startsWith('https://127.0.0.1:'), 'golden is on the mesh');
  assert.equal(l.regions.length, 4);
  const digest = r.version.split(' ')[1];
  for (const reg of l.regions) {
    assert.match(reg.registry, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(reg.models.map((m) => `${m.version} ${m.digest}`), [`${shipped.version} ${digest}`], reg.region);
    assert.equal(reg.active.version, shipped.version);
  }
  // Golden lives in eu-frankfurt (the first region): its ledger holds a transfer to each region.
  const transfers = (await entries('eu-frankfurt')).filter((e) => e.kind === 'model' && e.event === 'transfer');
  assert.deepEqual(transfers.map((e) => e.to).sort(), ['eu-frankfurt', 'eu-paris', 'sg-singapore', 'uae-dubai']);
  assert.ok(transfers.every((e) => e.digest === digest && Array.isArray(e.policy_ids) && (e.policy_ids as string[]).includes('model-nonpersonal-training-anywhere')));
  for (const region of Object.keys(c.regions)) {
    const arrivals = (await entries(region)).filter((e) => e.kind === 'model' && e.event === 'arrival');
    assert.equal(arrivals.length, 1, region);
    assert.deepEqual({ ...arrivals[0], time: 0 }, { v: 1, kind: 'model', time: 0, event: 'arrival', name: 'text-analysis', digest, region, version: shipped.version, from: 'eu-frankfurt' });
  }
});

test('push and promote a new version; activation under load switches without a dropped request', async () => {
  const push = await sov(['model', 'push', newRelease('a'), '--name', 'text-analysis', '--version', '9.0.0', '--licence', 'MIT']);
  assert.equal(push.code, 0, push.err);
  assert.match(push.out, /published text-analysis:9\.0\.0 sha256:[0-9a-f]{64}/);
  const promote = await sov(['model', 'promote', 'text-analysis:9.0.0', '--to', 'eu-frankfurt', 'uae-dubai']);
  assert.equal(promote.code, 0, `${promote.out}${promote.err}`);
  assert.match(promote.out, /eu-frankfurt: arrived text-analysis:9\.0\.0/);
  // Arrived, not yet served.
  assert.match((await chat('DE')).version, new RegExp(`@${shipped.version.replace(/\./g, '\\.')} `));

  let stop = false;
  const seen: { status: number; version: string }[] = [];
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (!stop) seen.push(await chat('DE'));
    }),
  );
  await new Promise((r) => setTimeout(r, 300));
  const act = await sov(['model', 'activate', '--region', 'eu-frankfurt', 'text-analysis:9.0.0']);
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await load;
  assert.equal(act.code, 0, act.err);
  assert.match(act.out, /eu-frankfurt now serves text-analysis:9\.0\.0/);
  assert.ok(seen.length > 4);
  assert.deepEqual(seen.filter((s) => s.status !== 200), [], 'no request failed during the switch');
  const versions = seen.map((s) => s.version.split(' ')[0]);
  assert.equal(versions[versions.length - 1], 'text-analysis@9.0.0', 'the last requests were served by the new version');
  assert.ok(versions.includes(`text-analysis@${shipped.version}`), 'the first by the old one');
});

test('a model trained on EU personal data is refused outside the EU, naming the policy and its rationale', async () => {
  const push = await sov(['model', 'push', newRelease('eu'), '--name', 'text-analysis', '--version', '9.1.0-eu', '--licence', 'MIT', '--data-class', 'personal', '--jurisdiction', 'EU', '--source', 'support tickets 2025 (EU customers)']);
  assert.equal(push.code, 0, push.err);
  const promote = await sov(['model', 'promote', 'text-analysis:9.1.0-eu', '--to', 'eu-paris', 'uae-dubai', 'sg-singapore']);
  assert.equal(promote.code, 3, 'exit code 3: refused by law');
  assert.match(promote.out, /eu-paris: arrived/);
  assert.match(promote.out, /uae-dubai: refused by @id\("model-eu-personal-training-stays-in-eu"\) — A model fine-tuned on EU personal data may not leave the EU/);
  assert.match(promote.out, /sg-singapore: refused by @id\("model-eu-personal-training-stays-in-eu"\)/);
  const list = JSON.parse((await sov(['model', 'list', '--region', 'uae-dubai', '--json'])).out) as { regions: { models: { version: string }[] }[] };
  assert.ok(!list.regions[0]!.models.some((m) => m.version === '9.1.0-eu'), 'nothing of it reached uae-dubai');
  assert.ok(!(await entries('eu-frankfurt')).some((e) => e.event === 'transfer' && e.version === '9.1.0-eu' && e.to !== 'eu-paris'));

  // An order sent to the region directly, past the CLI (as an operator identity over mTLS): the
  // region asks the law itself.
  const registry = (JSON.parse((await sov(['model', 'list', '--region', 'uae-dubai', '--json'])).out) as { regions: { registry: string }[] }).regions[0]!.registry;
  assert.match(registry, /^https:/, 'the region registry is on the mesh');
  const res = await op.fetch(`${registry}/sovereign/registry/pull`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'text-analysis', version: '9.1.0-eu' }) });
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { error?: { code: string; message: string } });
  assert.equal(lines.at(-1)?.error?.code, 'POLICY_DENIED');
  assert.match(lines.at(-1)?.error?.message ?? '', /may not be held in uae-dubai: @id\("model-eu-personal-training-stays-in-eu"\)/);
});

test('a tampered release is refused at activation and the cell keeps serving its current version', async () => {
  // eu-paris holds 9.1.0-eu (previous test); damage one of its blobs on the region's disk.
  const blobs = path.join(c.dir, 'data', 'regions', 'eu-paris', 'registry', 'oci', 'repos', 'text-analysis', 'blobs', 'sha256');
  const listed = JSON.parse((await sov(['model', 'list', '--region', 'eu-paris', '--json'])).out) as { regions: { registry: string }[] };
  const res = await op.fetch(`${listed.regions[0]!.registry}/v2/text-analysis/manifests/9.1.0-eu`);
  const manifest = (await res.json()) as { layers: { digest: string; size: number }[] };
  const victim = manifest.layers.reduce((a, b) => (b.size > a.size ? b : a));
  const file = path.join(blobs, victim.digest.slice(7));
  const bytes = readFileSync(file);
  bytes[10] = (bytes[10] as number) ^ 0xff;
  writeFileSync(file, bytes);
  assert.ok(readdirSync(blobs).length > 0);

  const act = await sov(['model', 'activate', '--region', 'eu-paris', 'text-analysis:9.1.0-eu']);
  assert.notEqual(act.code, 0);
  assert.match(act.err, /keeps serving text-analysis:/);
  assert.match(act.err, /tampered/);
  const afterReq = await gw.fetch(`${c.regions['eu-paris']}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'hello' }] }) });
  await afterReq.arrayBuffer();
  assert.equal(afterReq.status, 200);
  assert.match(afterReq.headers.get('x-sovereign-model-version') ?? '', new RegExp(`^text-analysis@${shipped.version.replace(/\./g, '\\.')} `), 'still the version it served before');
});

test('deleting a version is recorded in the region ledger and its blobs collected; the active version cannot be deleted', async () => {
  const refused = await sov(['model', 'delete', '--region', 'eu-frankfurt', 'text-analysis:9.0.0']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /is what eu-frankfurt serves; activate another version first/);
  const del = await sov(['model', 'delete', '--region', 'eu-frankfurt', `text-analysis:${shipped.version}`]);
  assert.equal(del.code, 0, del.err);
  assert.match(del.out, /blobs \([\d.]+ MiB\) collected; recorded in the ledger of eu-frankfurt/);
  const d = (await entries('eu-frankfurt')).filter((e) => e.event === 'deletion');
  assert.equal(d.length, 1);
  assert.equal(d[0]?.version, shipped.version);
  assert.equal(typeof d[0]?.collected_bytes, 'number');
  const list = JSON.parse((await sov(['model', 'list', '--region', 'eu-frankfurt', '--json'])).out) as { regions: { models: { version: string }[] }[] };
  assert.deepEqual(list.regions[0]!.models.map((m) => m.version), ['9.0.0']);
  assert.equal((await chat('DE')).status, 200);
});
