// The per-request pieces of the gateway's reply path, each measured in a tight loop in one
// process (CPU from process.cpuUsage, variants interleaved for several rounds, medians): less
// exposed to a shared machine than a whole system under load, which cannot resolve a few µs.
//   reply: Fastify's send path (status, the cell's headers and Sovereign's four through
//          reply.header/headers, then send(buffer)) against writing the same answer on the
//          response directly (one flat header list, writeHead + end), both through app.inject
//          (a real http.ServerResponse, no socket);
//   client: an AbortController per request with an 'abort' listener added and removed on its
//          signal, against a ClientWatch;
//   head:   undici's parseHeaders of a cell's answer against pickHeaders of the few read.
// Usage: node bench/gateway/reply-micro.ts [--rounds 5] [--n 20000]
import { parseArgs } from 'node:util';
import type { FastifyReply } from 'fastify';
import { pino } from 'pino';
import { util } from 'undici';
import { createHttpServer } from '../../src/common/index.ts';
import { pickHeaders } from '../../src/gateway/exchange.ts';
import { clientGone, newClientWatch } from '../../src/gateway/forward.ts';
import { median } from '../lib/stats.ts';

const { values: f } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, n: { type: 'string', default: '20000' } } });
const rounds = Number(f.rounds), n = Number(f.n);

const BODY = Buffer.from(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'text-analysis', choices: [{ index: 0, message: { role: 'assistant', content: 'Sentiment: neutral. A summary of the release note.' }, finish_reason: 'stop' }] }));
const cellHeaders = (): Record<string, string> => ({ 'content-type': 'application/json; charset=utf-8', 'x-sovereign-model-version': 'text-analysis@1.0.0 sha256:' + 'a'.repeat(64) });
const ours = { region: 'eu-frankfurt', receipt: 'sovereign.example/ledger/eu-frankfurt 1234', attempts: 'eu-frankfurt=ok', timing: 'record;dur=0.41, region;dur=1.93' };

/** The raw variant (not in Sovereign: measured no cheaper than Fastify's send): the reply's headers, the given ones and the length in one flat list, writeHead + end. */
function relayWhole(reply: FastifyReply, status: number, headers: Readonly<Record<string, string>>, body: Buffer): void {
  const res = reply.raw;
  reply.hijack();
  const head: string[] = [];
  const own = reply.getHeaders();
  for (const name in own) head.push(name, String(own[name]));
  for (const name in headers) head.push(name, headers[name] as string);
  head.push('content-length', String(body.length));
  res.writeHead(status, head);
  res.end(body);
}

async function replyApp(variant: 'fastify' | 'raw') {
  const app = createHttpServer({ bodyLimit: 1 << 20, logger: pino({ level: 'silent' }) });
  app.post('/r', async (_req, reply) => {
    void reply.header('x-sovereign-decision-id', '6f1c2a8e-0d7b-4c8e-9a51-2b7f4f0e9c11');
    const headers = cellHeaders();
    if (variant === 'raw') {
      headers['x-sovereign-region'] = ours.region;
      headers['x-sovereign-ledger'] = ours.receipt;
      headers['x-sovereign-attempts'] = ours.attempts;
      headers['server-timing'] = ours.timing;
      relayWhole(reply, 200, headers, BODY);
      return reply;
    }
    void reply.code(200).headers(headers);
    void reply.header('x-sovereign-region', ours.region);
    void reply.header('x-sovereign-ledger', ours.receipt);
    void reply.header('x-sovereign-attempts', ours.attempts);
    void reply.header('server-timing', ours.timing);
    return reply.send(BODY);
  });
  await app.ready();
  return app;
}

/** µs of CPU per call of `op` (awaited), over n calls. */
async function cpuPer(op: () => unknown, count: number): Promise<number> {
  const a = process.cpuUsage();
  for (let i = 0; i < count; i++) await op();
  const d = process.cpuUsage(a);
  return (d.user + d.system) / count;
}

function cpuPerSync(op: () => unknown, count: number): number {
  const a = process.cpuUsage();
  for (let i = 0; i < count; i++) op();
  const d = process.cpuUsage(a);
  return (d.user + d.system) / count;
}

const RAW_HEAD = ['content-type', 'application/json; charset=utf-8', 'content-length', String(BODY.length), 'date', new Date().toUTCString(), 'connection', 'keep-alive', 'keep-alive', 'timeout=72', 'x-sovereign-region', 'eu-frankfurt', 'x-sovereign-model-version', 'text-analysis@1.0.0 sha256:' + 'a'.repeat(64), 'x-sovereign-ledger', ours.receipt, 'server-timing', 'record;dur=0.41', 'x-sovereign-decision-id', '6f1c2a8e-0d7b-4c8e-9a51-2b7f4f0e9c11', 'x-sovereign-served-by', 'cell-eu-frankfurt', 'cache-control', 'no-store'].map((s) => Buffer.from(s));
const WANTED = new Set(['content-type', 'cache-control', 'x-sovereign-model-version', 'x-accel-buffering', 'retry-after', 'content-length', 'server-timing', 'x-sovereign-ledger', 'x-sovereign-record-refused', 'x-sovereign-cell-busy']);

async function main(): Promise<void> {
  const apps = { fastify: await replyApp('fastify'), raw: await replyApp('raw') };
  const inject = (app: Awaited<ReturnType<typeof replyApp>>) => async (): Promise<void> => {
    const res = await app.inject({ method: 'POST', url: '/r', payload: '{}', headers: { 'content-type': 'application/json' } });
    if (res.statusCode !== 200 || res.rawPayload.length !== BODY.length) throw new Error(`unexpected answer ${res.statusCode}`);
  };
  const sink: unknown[] = [];
  const controller = (): void => {
    const ac = new AbortController();
    const on = (): void => undefined;
    ac.signal.addEventListener('abort', on);
    sink[0] = ac.signal.aborted;
    ac.signal.removeEventListener('abort', on);
  };
  const watch = (): void => {
    const c = newClientWatch();
    c.onGone = (): void => undefined;
    sink[0] = c.gone;
    c.onGone = null;
    if (sink.length > 1) clientGone(c);
  };
  const results: Record<string, number[]> = {};
  const put = (k: string, v: number): void => void (results[k] ??= []).push(v);
  // Warm-up: JIT.
  await cpuPer(inject(apps.fastify), 3000);
  await cpuPer(inject(apps.raw), 3000);
  for (let r = 0; r < rounds; r++) {
    put('reply: Fastify send', await cpuPer(inject(apps.fastify), n));
    put('reply: relayWhole', await cpuPer(inject(apps.raw), n));
    put('client: AbortController + listener', cpuPerSync(controller, n * 10));
    put('client: ClientWatch', cpuPerSync(watch, n * 10));
    put('head: util.parseHeaders', cpuPerSync(() => (sink[0] = util.parseHeaders(RAW_HEAD)), n * 5));
    put('head: pickHeaders', cpuPerSync(() => (sink[0] = pickHeaders(RAW_HEAD, WANTED)), n * 5));
  }
  console.log(`| piece | µs CPU per request (median of ${rounds} rounds) | rounds |\n|---|---:|---|`);
  for (const [k, v] of Object.entries(results)) console.log(`| ${k} | ${median(v).toFixed(2)} | ${v.map((x) => x.toFixed(2)).join(' ')} |`);
  await apps.fastify.close();
  await apps.raw.close();
}

void main();
