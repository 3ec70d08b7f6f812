// The one free-port helper (bench/lib/procs.ts), which the test clusters, the test bed and the
// benchmarks use to lay out a topology before anything listens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../../bench/lib/procs.ts';

test('freePort never hands out the same port twice in a process (two regions of one topology once got the same URL)', async () => {
  // 500 random picks from 12,000 ports repeat one with probability above 99.99% without the rule.
  const ports: number[] = [];
  for (let i = 0; i < 500; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length);
  for (const p of ports) assert.ok(p >= 1024 && p <= 65535, `port ${p}`);
});
