// A full disk under load: appends fail closed while it is full (none acknowledged that is not
// durable, none stored that was refused), the log takes appends again once space is freed, and
// after a restart it holds exactly the acknowledged entries and verifies. Needs a small tmpfs,
// so root; skipped with the reason elsewhere, required under CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { openLedger, parseEntry, verifyLog, type LedgerError } from '../../src/ledger/index.ts';
import { fill, mountTmpfs } from '../helpers/tmpfs.ts';
import { decision, tempDir } from './helpers.ts';

const root = tempDir('ledger-diskfull-');
const mnt = path.join(root, 'mnt');
mkdirSync(mnt);
const why = mountTmpfs(mnt, '3m');
if (why !== null && process.env.CI === 'true') throw new Error(`the disk-full test must run under CI: ${why}`);

test('a full disk fails appends closed, they resume when space is freed, and only acknowledged entries are in the log', { skip: why ?? false, timeout: 120_000 }, async (t) => {
  t.after(() => {
    execFileSync('umount', [mnt], { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
  });
  const dir = path.join(mnt, 'ledger');
  const keyDir = path.join(root, 'keys');
  const origin = 'sovereign.example/ledger/diskfull';
  const l = await openLedger({ dir, origin, keyDir, checkpointIntervalMs: 50 });
  const filler = path.join(mnt, 'filler');
  fill(filler);

  const acked = new Map<number, string>();
  let refused = 0;
  let next = 0;
  // Six appenders, so several group-committed writes are in flight when the disk runs out.
  const round = async (until: () => boolean): Promise<void> => {
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (!until()) {
          const id = `full-${next++}`;
          try {
            const { index } = await l.append(decision(id));
            acked.set(index, `dec-${id}`);
          } catch (err) {
            assert.equal((err as LedgerError).code, 'SOVEREIGN_LEDGER_UNAVAILABLE', String(err));
            refused++;
          }
        }
      }),
    );
  };
  // Until the preallocated part of the WAL is used up and appends start failing.
  await round(() => refused >= 200 || next > 200_000);
  assert.ok(refused >= 200, `appends failed on the full disk (${refused} refused, ${acked.size} acknowledged)`);
  const ackedWhileFull = acked.size;

  rmSync(filler);
  const resumeFrom = acked.size;
  await round(() => acked.size >= resumeFrom + 500 || next > 400_000);
  assert.ok(acked.size >= resumeFrom + 500, 'appends are taken again once space is freed');
  await l.close();

  const r = await openLedger({ dir, origin, keyDir });
  try {
    assert.equal(r.size, acked.size, `the log holds exactly the ${acked.size} acknowledged entries (${ackedWhileFull} before the disk filled up)`);
    for (const [index, id] of acked) {
      const e = parseEntry(r.entry(index));
      assert.equal(e.kind === 'decision' && e.decision_id, id, `entry ${index}`);
    }
  } finally {
    await r.close();
  }
  const v = await verifyLog({ dir, verifierKey: r.verifierKey });
  assert.equal(v.ok, true, v.error);
});
