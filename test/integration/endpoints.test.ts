// The OpenAI endpoints beyond chat (completions, embeddings, responses), routed by law and
// relayed to a region whose model server is a real HTTP server process; the embedded runtime
// answers them where it can and with the OpenAI-shaped error where it cannot.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { needsChromium, launchChromium } from '../helpers/browser.ts';
import { cli, startCluster, type Cluster } from '../helpers/cluster.ts';

let c: Cluster;
let modelServer: ChildProcess;
let modelUrl: string;

before(async () => {
  modelServer = spawn(process.execPath, [fileURLToPath(new URL('../helpers/model-server.ts', import.meta.url)), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  modelUrl = await new Promise<string>((resolve, reject) => {
    modelServer.stdout?.on('data', (b: Buffer) => {
      const m = /listening (\d+)/.exec(b.toString());
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    modelServer.once('exit', (code) => reject(new Error(`model server exited with ${code}`)));
  });
  // Singapore's region runs its model on its own model server.
  c = await startCluster({}, (cfg) => {
    const sg = (cfg.regions as Record<string, unknown>[]).find((r) => r.id === 'sg-singapore') as Record<string, unknown>;
    sg.runtime = { kind: 'upstream', url: modelUrl };
    sg.models = ['llama-3-8b', 'phi-3-mini'];
    // Frankfurt is named for two models its embedded runtime does not serve (as after a reload
    // that reached the gateway before the cell): its cell answers 404 no_model for them.
    const fra = (cfg.regions as Record<string, unknown>[]).find((r) => r.id === 'eu-frankfurt') as Record<string, unknown>;
    fra.models = ['text-analysis', 'phi-3-mini', 'mistral-7b'];
  });
});
after(async () => {
  await c?.stop();
  modelServer?.kill('SIGTERM');
});

async function post(p: string, body: unknown, jurisdiction: string): Promise<{ status: number; region: unknown; body: Record<string, unknown> }> {
  const res = await request(`${c.gateway}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': jurisdiction }, body: JSON.stringify(body) });
  return { status: res.statusCode, region: res.headers['x-sovereign-region'], body: (await res.body.json()) as Record<string, unknown> };
}

async function received(): Promise<{ path: string; body: string }[]> {
  return (await (await fetch(`${modelUrl}/_received`)).json()) as { path: string; body: string }[];
}

describe('relayed to a model server process', () => {
  for (const [p, body, check] of [
    ['/v1/completions', { model: 'llama-3-8b', prompt: ['Say hello', 'Say bye'], max_tokens: 5 }, (b: Record<string, unknown>) => assert.equal((b.choices as { text: string }[])[1]?.text, 'completed: Say bye')],
    ['/v1/embeddings', { model: 'llama-3-8b', input: ['the weather in Singapore'] }, (b: Record<string, unknown>) => assert.equal((b.data as { embedding: number[] }[])[0]?.embedding.length, 8)],
    ['/v1/responses', { model: 'llama-3-8b', input: 'Tell me a joke', instructions: 'Be brief' }, (b: Record<string, unknown>) => assert.equal(b.object, 'response')],
  ] as const) {
    test(`${p} is routed by law and relayed with the body the gateway judged`, async () => {
      const a = await post(p, body, 'SG');
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.region, 'sg-singapore');
      check(a.body);
      const last = (await received()).at(-1);
      assert.equal(last?.path, p);
      assert.deepEqual(JSON.parse(last?.body ?? ''), body);
    });
  }

  test('every input field is classified: special data of an EU subject is not relayed outside the EU', async () => {
    const before = (await received()).length;
    for (const [p, body] of [
      ['/v1/embeddings', { model: 'llama-3-8b', input: ['my HIV status'] }],
      ['/v1/completions', { model: 'llama-3-8b', prompt: 'my HIV status' }],
      ['/v1/responses', { model: 'llama-3-8b', input: [{ role: 'user', content: [{ type: 'input_text', text: 'my H' }, { type: 'input_text', text: 'IV status' }] }] }],
      ['/v1/responses', { model: 'llama-3-8b', input: 'hello', instructions: 'the user is pregnant' }],
    ] as const) {
      const a = await post(p, body, 'DE');
      assert.equal(a.status, 451, `${p}: ${JSON.stringify(a.body)}`);
    }
    assert.equal((await received()).length, before, 'nothing reached the model server');
  });
});

describe('a region whose runtime does not serve a model the topology names there', () => {
  const size = async (region: string): Promise<number> => ((await (await fetch(`${c.gateway}/sovereign/ledger/${region}/entries?from=0&to=1`)).json()) as { size: number }).size;
  const entry = async (region: string, index: number): Promise<Record<string, unknown>> =>
    ((await (await fetch(`${c.gateway}/sovereign/ledger/${region}/entries?from=${index}&to=${index + 1}`)).json()) as { entries: { entry: Record<string, unknown> }[] }).entries[0]?.entry ?? {};

  test('is tried after the permitted regions that serve the model (its ready probe lists its models), and records nothing of its own', async () => {
    const fra = await size('eu-frankfurt');
    const res = await request(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: JSON.stringify({ model: 'phi-3-mini', messages: [{ role: 'user', content: 'Summarise the weather report.' }] }) });
    const body = (await res.body.json()) as { choices?: { message: { content: string } }[] };
    assert.equal(res.statusCode, 200, JSON.stringify(body));
    // Frankfurt comes first by law and latency, but its cell said it serves text-analysis only:
    // Singapore is tried first, and no exchange is spent on Frankfurt.
    assert.equal(res.headers['x-sovereign-attempts'], 'sg-singapore=ok');
    assert.equal(res.headers['x-sovereign-region'], 'sg-singapore');
    assert.equal(body.choices?.[0]?.message.content, 'echo: Summarise the weather report.');
    // Frankfurt holds only the transfer record of its data subject (DE data served in Singapore),
    // not a decision naming itself: it processed nothing.
    assert.equal(await size('eu-frankfurt'), fra + 1);
    const transfer = await entry('eu-frankfurt', fra);
    assert.deepEqual([transfer.decision_id, transfer.outcome, transfer.region], [res.headers['x-sovereign-decision-id'], 'transfer', 'sg-singapore']);
    const [origin, index] = String(res.headers['x-sovereign-ledger']).split(' ');
    assert.match(origin ?? '', /sg-singapore/);
    const e = await entry('sg-singapore', Number(index));
    // The serving region's entry, written before it served: no attempt before it.
    assert.deepEqual(e.attempts, []);
    assert.equal(e.outcome, 'routed');
    const regions = (await (await fetch(`${c.gateway}/sovereign/regions`, { headers: { authorization: `Bearer ${c.adminToken()}` } })).json()) as { regions: { region: string; healthy: boolean; models: string[] | null; unserved_models: string[] | null }[] };
    assert.ok(regions.regions.every((r) => r.healthy), 'a region without the model is not unhealthy');
    const fraView = regions.regions.find((r) => r.region === 'eu-frankfurt');
    assert.deepEqual([fraView?.models, fraView?.unserved_models], [['text-analysis'], ['phi-3-mini', 'mistral-7b']]);
    const status = await cli(c, ['region', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^eu-frankfurt .* does not serve phi-3-mini, mistral-7b/m);
    assert.doesNotMatch(status.stdout, /^sg-singapore .*does not serve/m);
    const metrics = await (await fetch(`${c.gateway}/metrics`, { headers: { authorization: `Bearer ${c.adminToken()}` } })).text();
    assert.doesNotMatch(metrics, /^sovereign_region_passed_over_total\{region="eu-frankfurt",outcome="no_model"\}/m, 'Frankfurt was sent nothing');
  });

  test('the decision for a data plane (Envoy ext_authz) names a region that serves the model', async () => {
    // The data plane relays the named region's answer: no other region is tried after the check.
    const res = await request(`${c.gateway}/sovereign/ext-authz/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: JSON.stringify({ model: 'phi-3-mini', messages: [{ role: 'user', content: 'hello' }] }) });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-sovereign-region'], 'sg-singapore');
    assert.match(String(res.headers['x-sovereign-ledger']), /sg-singapore/);
  });

  test('the operator console shows the models a region is named for and does not serve', needsChromium(), async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${c.gateway}/sovereign/console?token=${encodeURIComponent(c.adminToken())}`);
      const lacks = (r: string) => page.locator(`tr[data-region="${r}"] .unserved`);
      await lacks('eu-frankfurt').waitFor({ timeout: 10_000 });
      assert.equal(await lacks('eu-frankfurt').innerText(), 'does not serve phi-3-mini, mistral-7b');
      assert.equal(await lacks('sg-singapore').count(), 0);
    } finally {
      await browser.close();
    }
  });

  test('the cell warns at start of the models its topology names that it does not serve', () => {
    const log = readFileSync(path.join(c.dir, 'data/logs/eu-frankfurt.log'), 'utf8');
    assert.match(log, /names models this cell does not serve: phi-3-mini, mistral-7b/);
  });

  test('when no permitted region serves it, the answer is 404 model_not_found with the attempts, not 503', async () => {
    const res = await request(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': 'DE' }, body: JSON.stringify({ model: 'mistral-7b', messages: [{ role: 'user', content: 'hello' }] }) });
    const body = (await res.body.json()) as { error: { type: string; code: string; decision_id: string; attempts: { region: string; outcome: string }[] } };
    assert.equal(res.statusCode, 404, JSON.stringify(body));
    assert.equal(body.error.code, 'model_not_found');
    // The only permitted region is still asked (the view may be one probe old): its cell refuses.
    assert.deepEqual(body.error.attempts.map((a) => `${a.region}=${a.outcome}`), ['eu-frankfurt=no_model']);
    assert.equal(res.headers['x-sovereign-decision-id'], body.error.decision_id);
    const metrics = await (await fetch(`${c.gateway}/metrics`, { headers: { authorization: `Bearer ${c.adminToken()}` } })).text();
    assert.match(metrics, /^sovereign_region_passed_over_total\{region="eu-frankfurt",outcome="no_model"\} [1-9]/m);
  });
});

describe('the embedded runtime', () => {
  test('answers completions and responses with its analysis', async () => {
    const comp = await post('/v1/completions', { model: 'text-analysis', prompt: 'What a lovely day in Paris.' }, 'FR');
    assert.equal(comp.status, 200, JSON.stringify(comp.body));
    assert.equal(comp.body.object, 'text_completion');
    assert.match((comp.body.choices as { text: string }[])[0]?.text ?? '', /^Sentiment: positive/);
    const resp = await post('/v1/responses', { model: 'text-analysis', input: [{ role: 'user', content: 'This is terrible.' }] }, 'FR');
    assert.equal(resp.status, 200, JSON.stringify(resp.body));
    assert.equal(resp.body.object, 'response');
    assert.match(JSON.stringify(resp.body.output), /Sentiment: negative/);
  });

  test('answers embeddings with the OpenAI-shaped error for an unsupported operation', async () => {
    const a = await post('/v1/embeddings', { model: 'text-analysis', input: 'hello' }, 'FR');
    assert.equal(a.status, 400);
    const e = a.body.error as { type: string; code: string; param: string; message: string };
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.code, 'unsupported_operation');
    assert.equal(e.param, 'model');
    assert.match(e.message, /does not support embeddings/);
  });
});
