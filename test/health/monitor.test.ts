// The models a region serves, as the gateway's health view learns them from the region's ready
// probe: what a cell lists is kept until its next answer, an answer that lists nothing (or is
// not a ready answer) leaves the view silent and the region ready, and gateway workers adopt
// the primary's view with the models.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { HealthMonitor } from '../../src/health/index.ts';

/** The body each stand-in cell answers its ready probe with (status 200). */
const readyBody = new Map<string, string>();
const servers: Server[] = [];
const urls = new Map<string, string>();

before(async () => {
  for (const id of ['a', 'b']) {
    const s = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(readyBody.get(id) ?? '{"ready":true}'));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    servers.push(s);
    urls.set(id, `http://127.0.0.1:${(s.address() as { port: number }).port}`);
  }
});
after(() => {
  for (const s of servers) s.close();
});

const monitor = (): HealthMonitor => new HealthMonitor(['a', 'b'].map((region) => ({ region, url: urls.get(region) as string })), { intervalMs: 60_000 });

test('a region whose ready answer lacks the model is tried after the others, in order; the next answer is taken', async () => {
  const h = monitor();
  readyBody.set('a', JSON.stringify({ ready: true, region: 'a', models: ['llama-3-8b'] }));
  readyBody.set('b', JSON.stringify({ ready: true, region: 'b', models: ['phi-3-mini', 'llama-3-8b'] }));
  await h.probe('a');
  await h.probe('b');
  assert.deepEqual(h.get('a')?.models, ['llama-3-8b']);
  assert.deepEqual(h.servingFirst(['a', 'b'], 'phi-3-mini'), ['b', 'a']);
  const both = ['a', 'b'];
  assert.equal(h.servingFirst(both, 'llama-3-8b'), both, 'served everywhere: the same list');
  // Neither serves it: the order stays (both are still tried, the cells answer for themselves).
  assert.deepEqual(h.servingFirst(['b', 'a'], 'mistral-7b'), ['b', 'a']);
  // The cell's runtime was reloaded with the model: its next answer is the view.
  readyBody.set('a', JSON.stringify({ ready: true, models: ['llama-3-8b', 'phi-3-mini'] }));
  await h.probe('a');
  assert.deepEqual(h.servingFirst(['a', 'b'], 'phi-3-mini'), ['a', 'b']);
  h.stop();
});

test('a ready answer without a model list, or not a ready answer, says nothing of models and leaves the region ready', async () => {
  const many = (n: number, len: number): string => JSON.stringify({ ready: true, models: Array.from({ length: n }, (_, i) => String(i).padStart(len, 'm')) });
  for (const body of ['{"ready":true}', 'ready', '{"ready":true,"models":"phi-3-mini"}', many(1025, 4), many(1024, 300), `{"ready":true,"models":["a"],"pad":"${'x'.repeat(400 * 1024)}"}`]) {
    const h = monitor();
    readyBody.set('a', JSON.stringify({ ready: true, models: ['llama-3-8b'] }));
    await h.probe('a');
    readyBody.set('a', body);
    await h.probe('a');
    assert.equal(h.get('a')?.healthy, true, body.slice(0, 40));
    assert.equal(h.get('a')?.models, null, body.slice(0, 40));
    assert.deepEqual(h.servingFirst(['a', 'b'], 'phi-3-mini'), ['a', 'b']);
    h.stop();
  }
  // The longest list the schema takes is read whole.
  const h = monitor();
  readyBody.set('a', many(1024, 256));
  await h.probe('a');
  assert.equal(h.get('a')?.models?.length, 1024);
  h.stop();
});

test("a gateway worker adopts the primary's view with its models", async () => {
  const primary = monitor();
  readyBody.set('a', JSON.stringify({ ready: true, models: ['llama-3-8b'] }));
  readyBody.set('b', JSON.stringify({ ready: true, models: ['phi-3-mini'] }));
  await primary.probe('a');
  await primary.probe('b');
  const worker = monitor();
  worker.adopt(primary.snapshot());
  assert.deepEqual(worker.servingFirst(['a', 'b'], 'phi-3-mini'), ['b', 'a']);
  assert.deepEqual(worker.get('b')?.models, ['phi-3-mini']);
  primary.stop();
  worker.stop();
});
