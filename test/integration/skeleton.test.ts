// The walking skeleton end to end: `sovereign up` on free ports, real processes, HTTP only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import OpenAI from 'openai';
import { startCluster, type Cluster } from '../helpers/cluster.ts';
import { meshClient } from '../helpers/mesh.ts';

const sha = (k: string): string => createHash('sha256').update(k).digest('hex');
const KEY = 'sk-test-open-tenant';
const KEY_AE = 'sk-test-dubai-clinic';

let c: Cluster;

/**
 * Announces a body of `bytes` bytes (Content-Length) and waits for the answer before sending
 * any of it: a gateway that checks the limit answers 413 at once, and the test never races a
 * reset against a half-sent body.
 */
function postOversized(url: string, bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(bytes), authorization: `Bearer ${KEY}`, 'x-sovereign-jurisdiction': 'DE' } }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
        req.destroy();
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer to an oversized body within 30 s')));
    req.flushHeaders();
  });
}

before(async () => {
  c = await startCluster({
    tenants: [
      { name: 'acme', apiKeySha256: sha(KEY) },
      { name: 'dubai-clinic', apiKeySha256: sha(KEY_AE), jurisdiction: 'AE', mayDeclare: false },
    ],
  });
});
after(async () => {
  await c?.stop();
});

async function chat(jurisdiction: string | null, opts: { key?: string | null; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.key !== null) headers.authorization = `Bearer ${opts.key ?? KEY}`;
  if (jurisdiction) headers['x-sovereign-jurisdiction'] = jurisdiction;
  return fetch(`${c.gateway}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify(opts.body ?? { model: 'text-analysis', messages: [{ role: 'user', content: 'What a wonderful morning in Dubai.' }] }),
  });
}

/** One chat request over a raw HTTP/1.1 connection: the status line, headers and body as the client gets them. */
function rawChat(url: string, body: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; names: string[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-sovereign-jurisdiction': 'DE' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, names: res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()), body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the answer of bounded length', () => {
  test('reaches the client with its exact length (no chunked framing) and every header Sovereign owes it', async () => {
    const res = await rawChat(`${c.gateway}/v1/chat/completions`, JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'A calm day in Frankfurt.' }] }));
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers['transfer-encoding'], undefined);
    assert.equal(res.headers['content-length'], String(res.body.length));
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.match(String(res.headers['x-sovereign-decision-id']), /^[0-9a-f-]{36}$/);
    assert.match(String(res.headers['x-sovereign-region']), /^eu-/);
    assert.match(String(res.headers['x-sovereign-ledger']), /^\S+ \d+$/);
    assert.match(String(res.headers['x-sovereign-attempts']), new RegExp(`(^|, )${String(res.headers['x-sovereign-region'])}=ok$`));
    assert.match(String(res.headers['server-timing']), /^record;dur=\d+\.\d{2}, region;dur=\d+\.\d{2}$/);
    assert.match(String(res.headers['x-sovereign-model-version']), /^text-analysis@/);
    // Headers appear once each (the reply's own and the relayed ones are not doubled).
    assert.deepEqual(res.names, [...new Set(res.names)]);
    const answer = JSON.parse(res.body.toString()) as { object: string };
    assert.equal(answer.object, 'chat.completion');
  });
});

describe('routing by declared jurisdiction', () => {
  test('AE is served by uae-dubai, EU and DE by an EU region, SG by sg-singapore', async () => {
    for (const [j, allowed] of [
      ['AE', ['uae-dubai']],
      ['EU', ['eu-frankfurt', 'eu-paris']],
      ['DE', ['eu-frankfurt', 'eu-paris']],
      ['fr', ['eu-frankfurt', 'eu-paris']],
      ['SG', ['sg-singapore']],
    ] as const) {
      const res = await chat(j);
      assert.equal(res.status, 200, `${j}: ${await res.clone().text()}`);
      const region = res.headers.get('x-sovereign-region');
      assert.ok(region && (allowed as readonly string[]).includes(region), `${j} served by ${region}`);
      assert.match(res.headers.get('x-sovereign-decision-id') ?? '', /^[0-9a-f-]{36}$/);
      assert.match(res.headers.get('x-sovereign-model-version') ?? '', /^text-analysis@\d+\.\d+\.\d+ sha256:[0-9a-f]{64}$/);
      const body = (await res.json()) as { system_fingerprint: string; choices: { message: { content: string } }[] };
      assert.ok(body.system_fingerprint.startsWith(`${region}/`));
      assert.match(body.choices[0]?.message.content ?? '', /^Sentiment: positive/);
    }
  });

  test('US gets 451 with the decision id and the rationale', async () => {
    const res = await chat('US');
    assert.equal(res.status, 451);
    const body = (await res.json()) as { error: { type: string; decision_id: string; rationale: string[] } };
    assert.equal(body.error.type, 'jurisdiction_denied');
    assert.equal(body.error.decision_id, res.headers.get('x-sovereign-decision-id'));
    assert.ok(body.error.rationale.length > 0);
    assert.equal(res.headers.get('x-sovereign-region'), null);
  });

  test("a tenant's fixed jurisdiction applies, and it may not declare another", async () => {
    const res = await chat(null, { key: KEY_AE });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sovereign-region'), 'uae-dubai');
    assert.equal((await chat('DE', { key: KEY_AE })).status, 403);
  });
});

describe('the official openai client', () => {
  const client = (): OpenAI => new OpenAI({ baseURL: `${c.gateway}/v1`, apiKey: KEY, defaultHeaders: { 'x-sovereign-jurisdiction': 'SG' } });

  test('non-streaming', async () => {
    const { data, response } = await client()
      .chat.completions.create({ model: 'text-analysis', messages: [{ role: 'user', content: 'The hawker centre near Marina Bay was terrible.' }] })
      .withResponse();
    assert.equal(response.headers.get('x-sovereign-region'), 'sg-singapore');
    assert.match(data.choices[0]?.message.content ?? '', /^Sentiment: negative/);
  });

  test('streaming arrives chunk by chunk and assembles to the full answer', async () => {
    const stream = await client().chat.completions.create({ model: 'text-analysis', stream: true, messages: [{ role: 'user', content: 'I am happy.' }] });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    assert.ok(chunks > 3, `only ${chunks} chunks`);
    assert.match(text, /^Sentiment: positive .* tokens in 1 sentence\.$/);
  });

  test('models are listed', async () => {
    const models = await client().models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['text-analysis']);
  });
});

describe('Open Inference Protocol V2', () => {
  test('infer returns tensors from the permitted region; metadata names versions', async () => {
    const headers = { authorization: `Bearer ${KEY}`, 'x-sovereign-jurisdiction': 'AE', 'content-type': 'application/json' };
    const res = await fetch(`${c.gateway}/v2/models/text-analysis/infer`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ id: 'r1', inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: ['Great service!', 'Awful delay.'] }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sovereign-region'), 'uae-dubai');
    const body = (await res.json()) as { id: string; model_version: string; outputs: { name: string; data: number[] }[] };
    assert.equal(body.id, 'r1');
    const sentiment = body.outputs.find((o) => o.name === 'sentiment')?.data ?? [];
    assert.ok((sentiment[0] ?? 0) > 0 && (sentiment[1] ?? 0) < 0, JSON.stringify(sentiment));
    const meta = await fetch(`${c.gateway}/v2/models/text-analysis`, { headers });
    assert.equal(meta.status, 200);
    assert.equal(((await meta.json()) as { versions: string[] }).versions[0], body.model_version);
  });

  test('the gateway is ready only with a ready cell in every region', async () => {
    const res = await fetch(`${c.gateway}/v2/health/ready`);
    assert.equal(res.status, 200);
    assert.equal((await fetch(`${c.gateway}/v2/health/live`)).status, 200);
  });
});

describe('bad input gets a clear JSON error and takes nothing down', () => {
  test('400, 401, 404, 413', async () => {
    const bad = await fetch(`${c.gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: '{"model":' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /not valid JSON/);

    const badShape = await chat('DE', { body: { model: 'text-analysis', messages: 'hi' } });
    assert.equal(badShape.status, 400);
    assert.match(((await badShape.json()) as { error: { message: string } }).error.message, /messages/);

    const typo = await chat('EUROPE');
    assert.equal(typo.status, 400);
    assert.match(((await typo.json()) as { error: { message: string } }).error.message, /x-sovereign-jurisdiction/);

    assert.equal((await chat('DE', { key: null })).status, 401);
    assert.equal((await chat('DE', { key: 'sk-wrong' })).status, 401);

    const unknownModel = await chat('DE', { body: { model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] } });
    assert.equal(unknownModel.status, 404);

    const big = await postOversized(`${c.gateway}/v1/chat/completions`, 2 * 1024 * 1024);
    assert.equal(big.status, 413);
    assert.match(big.body, /larger than the limit of 1048576 bytes/);

    // Still serving.
    assert.equal((await chat('DE')).status, 200);
  });
});

describe('supervision', () => {
  test('a killed cell is restarted and its region is served again', async () => {
    const regions = (await (await fetch(`${c.gateway}/sovereign/regions`, { headers: { authorization: `Bearer ${c.adminToken()}` } })).json()) as { regions: { region: string; healthy: boolean }[] };
    assert.ok(regions.regions.every((r) => r.healthy));
    const gw = await meshClient(c.configFile);
    const pidRes = await gw.request(`${c.regions['uae-dubai']}/v2/health/live`);
    await pidRes.body.dump();
    await gw.close();
    assert.equal(pidRes.statusCode, 200);
    // Find the cell's pid through its port owner: the supervisor's children are listed in ps.
    const { execFileSync } = await import('node:child_process');
    const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
    const line = ps.split('\n').find((l) => l.includes(c.configFile) && l.includes('--region uae-dubai'));
    assert.ok(line, 'cell process not found');
    const pid = Number(line.trim().split(/\s+/)[0]);
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 45_000; // a cell restart under a loaded CI machine can take a while
    let served = false;
    while (Date.now() < deadline) {
      const res = await chat('AE');
      if (res.status === 200 && res.headers.get('x-sovereign-region') === 'uae-dubai') {
        served = true;
        break;
      }
      assert.ok([200, 503].includes(res.status), `status ${res.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(served, `uae-dubai not served again:\n${c.output()}`);
    assert.match(c.output(), /uae-dubai exited \(SIGKILL\); restarting/);
    // The restarted cell serves the same model: its arrival is not recorded a second time.
    const log = (await (await fetch(`${c.gateway}/sovereign/ledger/uae-dubai/entries?from=0&to=1000`)).json()) as { entries: { entry: { kind: string } }[] };
    assert.equal(log.entries.filter((e) => e.entry.kind === 'model').length, 1);
  });
});
