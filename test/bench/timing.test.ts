// The benchmark's reading of Sovereign's Server-Timing header: the durations it names, and where
// the latency of the typical and of the slowest requests went.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverTiming, summarize, timedSample, timingMarkdown } from '../../bench/gateway/timing.ts';

test('the durations of a Server-Timing header, by name; an answer without record and region is not timed', () => {
  assert.deepEqual(serverTiming('record;dur=0.53, region;dur=3.02'), { record: 0.53, region: 3.02 });
  assert.deepEqual(serverTiming(['app;desc="x";dur=1.5', 'db;dur=2']), { app: 1.5, db: 2 });
  assert.deepEqual(serverTiming(undefined), {});
  assert.equal(timedSample(4, 'app;dur=1'), null);
  assert.deepEqual(timedSample(4, 'record;dur=1, region;dur=3'), { latency: 4, record: 1, region: 3 });
});

test('the slowest 1% is told apart from the typical request, and the rest is the latency outside the region', () => {
  // 198 requests of 3 ms (1 in the region), 2 slow ones whose time went to the gateway's side.
  const samples = [
    ...Array.from({ length: 198 }, () => ({ latency: 3, record: 0.5, region: 1 })),
    { latency: 30, record: 0.6, region: 2 },
    { latency: 40, record: 0.6, region: 2 },
  ];
  const s = summarize(samples);
  assert.ok(s);
  assert.deepEqual(s.p50, { latency: 3, record: 0.5, region: 1, rest: 2 });
  assert.deepEqual(s.tail, { n: 2, latency: 35, record: 0.6, region: 2, rest: 33 });
  assert.equal(summarize([]), null);
  assert.match(timingMarkdown('t', [s, null]), /\| slowest 1% \| 35\.000 \| 0\.600 \| 2\.000 \| 33\.000 \|/);
  assert.equal(timingMarkdown('t', [null, undefined]), '');
});
