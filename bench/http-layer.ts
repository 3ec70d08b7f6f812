// npm run bench:http — what the HTTP layer costs per request on the gateway's hot route
// (POST /v1/chat/completions with a ~1 KiB JSON body, a small JSON answer), with nothing else
// on the path: a raw node:http handler (body read, the strict JSON parser, an answer) against
// Sovereign's Fastify setup (src/common/http-server.ts: body-timeout hook, content-type parser,
// error handler), and against that plus the gateway's own hooks (the access hook, the
// inference-body limit, the decision-id header). Each variant is its own server process; CPU per
// request of that process is read from /proc/<pid>/stat around a wrk run (32 connections);
// variants interleaved for several rounds, medians reported.
// Writes bench/results/http-layer-<date>.json and .md. Flags: --rounds <n>, --seconds <s>.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { HttpError, createHttpServer, parseJsonBody } from '../src/common/index.ts';
import { fmt, median, today } from './lib/stats.ts';
import { ProcessGroup } from './lib/procs.ts';
import { freePort } from './lib/procs.ts';

const VARIANTS = ['raw-node-http', 'fastify', 'fastify+gateway-hooks'] as const;
type Variant = (typeof VARIANTS)[number];
const ANSWER = { id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model: 'bench-model', choices: [{ index: 0, message: { role: 'assistant', content: 'The deployment looks healthy: latency is within budget and no action is needed.' }, finish_reason: 'stop' }], usage: { prompt_tokens: 240, completion_tokens: 18, total_tokens: 258 } };
const ROUTE = '/v1/chat/completions';

/** The server of one variant (run as a child process: `node bench/http-layer.ts --serve <variant> <port>`). */
async function serve(variant: Variant, port: number): Promise<void> {
  if (variant === 'raw-node-http') {
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (b: Buffer) => parts.push(b));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== ROUTE) {
          res.writeHead(404).end();
          return;
        }
        const body = parseJsonBody(Buffer.concat(parts).toString('utf8')) as { model?: unknown };
        const payload = JSON.stringify({ ...ANSWER, model: typeof body.model === 'string' ? body.model : '' });
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), 'x-sovereign-decision-id': '00000000-0000-4000-8000-000000000000' });
        res.end(payload);
      });
    });
    server.keepAliveTimeout = 72_000;
    server.listen(port, '127.0.0.1', () => console.log('listening'));
    return;
  }
  const logger = pino({ level: 'info' });
  const app = createHttpServer({ bodyLimit: 10 * 1024 * 1024, logger });
  if (variant === 'fastify+gateway-hooks') {
    const { registerAccess } = await import('../src/gateway/access.ts');
    const { loadTopology } = await import('../src/config/index.ts');
    const topology = loadTopology(path.join(import.meta.dirname, '..', 'sovereign.yaml'));
    registerAccess(app, { topology: () => topology, adminToken: 'x'.repeat(43) });
    app.addHook('onRequest', async (req) => {
      if (!req.routeOptions.config.inference) return;
      const limit = topology.inferenceBodyLimitBytes();
      const declared = Number(req.headers['content-length'] ?? 0);
      if (limit === undefined || !(declared > limit)) return;
      throw new HttpError(413, 'request_too_large', 'too large', {}, { connection: 'close' });
    });
  }
  app.post(ROUTE, { config: { access: 'tenant', inference: true } }, async (req, reply) => {
    const body = req.body as { model?: unknown };
    if (variant === 'fastify+gateway-hooks') void reply.header('x-sovereign-decision-id', '00000000-0000-4000-8000-000000000000');
    return { ...ANSWER, model: typeof body.model === 'string' ? body.model : '' };
  });
  await app.listen({ port, host: '127.0.0.1' });
  console.log('listening');
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, seconds: { type: 'string' } }, strict: true });
  const rounds = Number(values.rounds ?? 3);
  const seconds = Number(values.seconds ?? 5);
  const group = new ProcessGroup();
  group.installSignalHandlers();
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-bench-http-'));
  const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'system', content: 'You are a concise assistant.' }, { role: 'user', content: 'Summarise the release notes. '.repeat(32) }], temperature: 0.2 });
  const files = { body: path.join(dir, 'body.json'), headers: path.join(dir, 'headers.txt') };
  writeFileSync(files.body, body);
  writeFileSync(files.headers, 'x-sovereign-jurisdiction: DE\n');
  const la0 = loadavg().map((l) => l.toFixed(2)).join(' ');
  const servers = new Map<Variant, { pid: number; url: string }>();
  const results: Record<Variant, { rps: number; cpuUsPerReq: number }[]> = { 'raw-node-http': [], fastify: [], 'fastify+gateway-hooks': [] };
  try {
    for (const v of VARIANTS) {
      const port = await freePort();
      const s = group.start(v, process.execPath, [import.meta.filename, '--serve', v, String(port)]);
      await s.waitFor('listening', 30_000);
      servers.set(v, { pid: s.pid, url: `http://127.0.0.1:${port}${ROUTE}` });
    }
    const wrk = async (url: string, secs: number): Promise<{ rps: number; requests: number }> => {
      const w = group.start('wrk', 'wrk', ['-t2', '-c32', `-d${secs}s`, '-s', path.join(import.meta.dirname, 'gateway/post.lua'), url], { env: { ...process.env, BENCH_BODY_FILE: files.body, BENCH_HEADERS_FILE: files.headers } });
      await new Promise<void>((r) => w.proc.once('exit', () => r()));
      const out = w.output();
      if (/Non-2xx/.test(out)) throw new Error(`wrk saw errors on ${url}:\n${out}`);
      return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 'NaN'), requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? '0') };
    };
    for (const v of VARIANTS) await wrk(servers.get(v)!.url, 2); // warm-up
    for (let r = 1; r <= rounds; r++) {
      for (const v of VARIANTS) {
        const s = servers.get(v)!;
        const c0 = cpuMs(s.pid);
        const w = await wrk(s.url, seconds);
        const cpu = ((cpuMs(s.pid) - c0) / Math.max(1, w.requests)) * 1000;
        results[v].push({ rps: w.rps, cpuUsPerReq: cpu });
        console.log(`round ${r}/${rounds} ${v.padEnd(22)} ${fmt(w.rps, 0).padStart(7)} req/s  ${cpu.toFixed(1)} µs CPU/req`);
      }
    }
  } finally {
    await group.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const sum = Object.fromEntries(VARIANTS.map((v) => [v, { rps: median(results[v].map((x) => x.rps)), cpuUsPerReq: median(results[v].map((x) => x.cpuUsPerReq)) }])) as Record<Variant, { rps: number; cpuUsPerReq: number }>;
  const date = today();
  const la1 = loadavg().map((l) => l.toFixed(2)).join(' ');
  const base = path.join(import.meta.dirname, 'results', `http-layer-${date}`);
  writeFileSync(`${base}.json`, `${JSON.stringify({ date, node: process.version, loadavgStart: la0, loadavgEnd: la1, rounds, seconds, requestBytes: Buffer.byteLength(body), results, summary: sum }, null, 2)}\n`);
  const raw = sum['raw-node-http'].cpuUsPerReq;
  const md = [
    `# HTTP layer on the gateway's hot route, ${date}`,
    '',
    `Node ${process.version}; load average ${la0} at start, ${la1} at end; ${rounds} interleaved rounds of wrk (2 threads, 32 connections, ${seconds} s), medians; ${Buffer.byteLength(body)} B JSON body. CPU of the server process from /proc.`,
    '',
    '| variant | req/s | CPU µs/request | over raw node:http |',
    '|---|---:|---:|---:|',
    ...VARIANTS.map((v) => `| ${v} | ${fmt(sum[v].rps, 0)} | ${sum[v].cpuUsPerReq.toFixed(1)} | ${v === 'raw-node-http' ? '' : `+${(sum[v].cpuUsPerReq - raw).toFixed(1)} µs`} |`),
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, md);
  console.log(`\n${md}\nwritten to ${base}.json and ${base}.md`);
}

if (process.argv[2] === '--serve') {
  void serve(process.argv[3] as Variant, Number(process.argv[4]));
} else {
  main().catch((err: unknown) => {
    console.error(`bench:http failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
