// `sovereign up` leaves no process behind: not on SIGTERM, and not when it is itself killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startCluster } from '../helpers/cluster.ts';

function processesOf(configFile: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((l) => l.includes(configFile) && !l.includes(' ps '))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('SIGTERM stops every child cleanly', async () => {
  const c = await startCluster();
  assert.equal(processesOf(c.configFile).length, 7, 'up + golden + 4 cells + gateway');
  await c.stop();
  await until('no processes left', () => processesOf(c.configFile).length === 0);
  assert.match(c.output(), /all processes stopped/);
});

test('kill -9 of the supervisor leaves no orphans', async () => {
  const c = await startCluster();
  c.proc.kill('SIGKILL');
  await until('children to notice and exit', () => processesOf(c.configFile).length === 0);
});

test('a second `up` on the same ports refuses with a clear error', async () => {
  const c = await startCluster();
  try {
    const out = execFileSync(process.execPath, ['src/cli/main.ts', '--config', c.configFile, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
    assert.fail(`second up started: ${out}`);
  } catch (err) {
    const e = err as { status: number; stderr: string };
    assert.equal(e.status, 1);
    assert.match(e.stderr, /already in use\. Is Sovereign already running\?/);
  } finally {
    await c.stop();
  }
});

test('a bad topology file stops start-up naming the file and the key', () => {
  try {
    execFileSync(process.execPath, ['src/cli/main.ts', '--config', 'test/fixtures/bad-topology.yaml', 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    assert.fail('started with a bad file');
  } catch (err) {
    const e = err as { status: number; stderr: string };
    assert.equal(e.status, 2);
    assert.match(e.stderr, /bad-topology\.yaml: invalid configuration/);
    assert.match(e.stderr, /regions\[0\]\.country \(line \d+\): expected an ISO 3166-1 alpha-2 country code/);
  }
});
