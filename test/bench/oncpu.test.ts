// bench/gateway/oncpu.ts names JIT code from node's --perf-basic-prof map by the newest entry
// that covers an address: V8 reuses the addresses of collected code, and the map keeps the dead
// owners' entries, so the first entry found can name startup code in a request's stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JitMap } from '../../bench/gateway/oncpu.ts';

test('a JIT address is named after the newest map entry that covers it', () => {
  const map = new JitMap(
    [
      '1000 100 JS:~resolveSync node:internal/modules/esm/loader:741:14', // startup, collected later
      '2000 40 JS:*emit node:events:489:44',
      '1080 40 JS:*route file:///app/src/gateway/server.ts:82:23', // reused part of the first range
      'not a map line',
      '1f00 300 JS:+onEnd /app/node_modules/fastify/lib/content-type-parser.js:295:1', // covers 0x2000.. too, newer
    ].join('\n'),
  );
  assert.equal(map.name(0x1090), 'JS:*route file:///app/src/gateway/server.ts:82:23');
  assert.equal(map.name(0x1010), 'JS:~resolveSync node:internal/modules/esm/loader:741:14');
  assert.equal(map.name(0x10c0), 'JS:~resolveSync node:internal/modules/esm/loader:741:14');
  assert.equal(map.name(0x2010), 'JS:+onEnd /app/node_modules/fastify/lib/content-type-parser.js:295:1');
  assert.equal(map.name(0x1b00), null);
  assert.equal(map.name(0x900), null);
});
