// Interop: a log written by Sovereign verifies with the Go reference implementations
// (golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog), which share no code with it.
// Needs `go` and the x/mod sources (Debian: golang-go golang-golang-x-mod-dev). Without them the
// test is skipped with the reason, except under CI=true, where that is a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLedger, type Ledger } from '../../src/ledger/index.ts';
import { decision } from '../ledger/helpers.ts';

const GOPATH = process.env.SOVEREIGN_GOPATH ?? '/usr/share/gocode';
const goEnv = { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: process.env.GOCACHE ?? path.join(tmpdir(), 'sovereign-gocache') };

function missingGo(): string | null {
  const v = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (v.error !== undefined) return `go is not installed (${v.error.message}); apt-get install golang-go golang-golang-x-mod-dev`;
  if (!existsSync(path.join(GOPATH, 'src/golang.org/x/mod/sumdb/tlog'))) return `golang.org/x/mod is not under ${GOPATH}; apt-get install golang-golang-x-mod-dev (or set SOVEREIGN_GOPATH)`;
  return null;
}

const why = missingGo();
if (why !== null && process.env.CI === 'true') {
  test('Go interop toolchain is present (required under CI=true)', () => assert.fail(why));
}

function buildChecker(out: string): string {
  const bin = path.join(out, 'tlogcheck');
  const r = spawnSync('go', ['build', '-o', bin, '.'], { cwd: path.join(import.meta.dirname, 'go'), env: goEnv, encoding: 'utf8' });
  assert.equal(r.status, 0, `go build failed:\n${r.stderr}`);
  return bin;
}

function check(bin: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

test('a Sovereign log verifies with golang.org/x/mod/sumdb/{note,tlog}; tampering is rejected', { skip: why ?? false, timeout: 300_000 }, async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ledger-interop-'));
  const bin = buildChecker(root);
  const dir = path.join(root, 'ledger');
  const l: Ledger = await openLedger({ dir, origin: 'sovereign.example/ledger/interop', keyDir: path.join(root, 'keys'), checkpointIntervalMs: 60_000 });
  // Schema-validated entries first, then enough raw ones for a full level-1 tile (65,536 leaves)
  // plus partial tiles at levels 0, 1 and 2.
  await Promise.all(Array.from({ length: 300 }, (_, i) => l.append(decision(i))));
  await l.publish();
  const oldCheckpoint = l.checkpoint();
  const total = 65_536 + 256 * 3 + 77;
  for (let i = 300; i < total; i += 5000) {
    await Promise.all(Array.from({ length: Math.min(5000, total - i) }, (_, j) => l.appendRaw(Buffer.from(`entry ${i + j}`))));
  }
  await l.publish();
  assert.equal(l.checkpointSize, total);
  writeFileSync(path.join(root, 'old-checkpoint'), oldCheckpoint);
  writeFileSync(path.join(root, 'consistency'), l.consistency(300).map((h) => `${h.toString('base64')}\n`).join(''));
  writeFileSync(path.join(root, 'proof-early'), await l.proof(123));
  writeFileSync(path.join(root, 'proof-late'), await l.proof(total - 2));
  const vkey = l.verifierKey;
  await l.close();

  const common = ['-dir', dir, '-vkey', vkey, '-old-checkpoint', path.join(root, 'old-checkpoint'), '-consistency', path.join(root, 'consistency')];
  for (const p of ['proof-early', 'proof-late']) {
    const r = check(bin, [...common, '-proof', path.join(root, p)]);
    assert.ok(r.ok, r.out);
    assert.match(r.out, /ok checkpoint signature/);
    assert.match(r.out, /tiles match tlog\.ReadTileData/);
    assert.match(r.out, /ok inclusion proof .*tlog\.CheckRecord/);
    assert.match(r.out, new RegExp(`ok consistency proof 300 -> ${total}`));
  }

  // Tamper cases, each on a copy: the Go checker must reject every one.
  const tampered = (name: string, edit: (d: string) => void): string => {
    const d = path.join(root, `tampered-${name}`);
    cpSync(dir, d, { recursive: true });
    edit(d);
    return d;
  };
  const flip = (file: string, at: number): void => {
    const b = readFileSync(file);
    b[at] = (b[at] as number) ^ 0x01;
    writeFileSync(file, b);
  };
  const cases: [string, string[], RegExp][] = [
    ['entry', ['-dir', tampered('entry', (d) => flip(path.join(d, 'tile/entries/000'), 40))], /FAIL: tree hash recomputed/],
    ['tile', ['-dir', tampered('tile', (d) => flip(path.join(d, 'tile/1/000'), 100))], /FAIL: tile\/1\/000 differs/],
    ['checkpoint', ['-dir', tampered('checkpoint', (d) => writeFileSync(path.join(d, 'checkpoint'), readFileSync(path.join(d, 'checkpoint'), 'utf8').replace(`\n${total}\n`, `\n${total - 1}\n`)))], /FAIL: checkpoint: note\.Open/],
  ];
  for (const [name, args, want] of cases) {
    const r = check(bin, [...args, '-vkey', vkey]);
    assert.equal(r.ok, false, `tampered ${name} was accepted:\n${r.out}`);
    assert.match(r.out, want);
  }
  // A wrong consistency proof and a wrong inclusion proof.
  const cons = readFileSync(path.join(root, 'consistency'), 'utf8').split('\n');
  cons[0] = Buffer.alloc(32, 7).toString('base64');
  writeFileSync(path.join(root, 'consistency-bad'), cons.join('\n'));
  let r = check(bin, ['-dir', dir, '-vkey', vkey, '-old-checkpoint', path.join(root, 'old-checkpoint'), '-consistency', path.join(root, 'consistency-bad')]);
  assert.equal(r.ok, false, r.out);
  assert.match(r.out, /FAIL: tlog\.CheckTree/);
  const proof = readFileSync(path.join(root, 'proof-early'), 'utf8').replace(/^index 123$/m, 'index 124');
  writeFileSync(path.join(root, 'proof-bad'), proof);
  r = check(bin, ['-dir', dir, '-vkey', vkey, '-proof', path.join(root, 'proof-bad')]);
  assert.equal(r.ok, false, r.out);
  assert.match(r.out, /FAIL: tlog-proof: extra data is not entry 124|FAIL: tlog\.CheckRecord/);
});
