// The test bed's client agent: runs inside the client namespace (`ip netns exec sov-client`)
// and makes HTTP requests and TCP round-trip measurements there on behalf of a process in the
// root namespace, which talks to it over a Unix socket (file-system sockets cross network
// namespaces). It plays the trusted load balancer: the public address of the user it stands
// for travels only as data, in X-Forwarded-For.
//
//   node scripts/testbed/agent.ts --socket <path> --allow <cidr>
//
//   POST /fetch {url, method?, headers?, body?, timeoutMs?} -> {status, headers, body, ms} | {error, ms}
//   POST /rtt   {host, port, count?}                        -> {samples: [ms, ...]}
//
// Only addresses inside --allow (the test bed's private range) may be targets.
import { createServer, type IncomingMessage } from 'node:http';
import { BlockList, connect, isIP } from 'node:net';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { socket: { type: 'string' }, allow: { type: 'string' } } });
if (!values.socket || !values.allow) {
  console.error('usage: agent.ts --socket <path> --allow <cidr>');
  process.exit(2);
}
const socketPath = values.socket;
const [net, bits] = values.allow.split('/');
const allowed = new BlockList();
allowed.addSubnet(net ?? '', Number(bits), 'ipv4');

const MAX_TIMEOUT_MS = 30_000;
const MAX_RTT_SAMPLES = 50;

function target(host: string): string {
  if (isIP(host) !== 4 || !allowed.check(host, 'ipv4')) throw new Error(`target ${host} is outside the test bed range ${values.allow}`);
  return host;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const chunk of req) raw += String(chunk);
  return JSON.parse(raw || '{}') as Record<string, unknown>;
}

async function doFetch(p: Record<string, unknown>): Promise<unknown> {
  const url = new URL(String(p.url));
  target(url.hostname);
  const timeoutMs = Math.min(Number(p.timeoutMs ?? 10_000), MAX_TIMEOUT_MS);
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: typeof p.method === 'string' ? p.method : 'GET',
      headers: (p.headers ?? {}) as Record<string, string>,
      ...(typeof p.body === 'string' ? { body: p.body } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.text();
    return { status: res.status, headers: Object.fromEntries(res.headers), body, ms: performance.now() - started };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { error: `${e.name}: ${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`, ms: performance.now() - started };
  }
}

/** TCP connect time (SYN to SYN-ACK: one network round trip). */
async function rtt(p: Record<string, unknown>): Promise<unknown> {
  const host = target(String(p.host));
  const port = Number(p.port);
  const count = Math.min(Math.max(1, Number(p.count ?? 5)), MAX_RTT_SAMPLES);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host, port, timeout: 5000 });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('timeout', () => {
        s.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      });
      s.once('error', reject);
    });
    samples.push(performance.now() - started);
  }
  return { samples };
}

rmSync(socketPath, { force: true });
const server = createServer((req, res) => {
  const handler = req.url === '/fetch' ? doFetch : req.url === '/rtt' ? rtt : null;
  if (req.method !== 'POST' || !handler) {
    res.writeHead(404).end();
    return;
  }
  readJson(req)
    .then(handler)
    .then(
      (out) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out)),
      (err: unknown) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message })),
    );
});
server.listen(socketPath, () => console.log(`client agent listening on ${socketPath}`));
const stop = (): void => {
  server.close();
  rmSync(socketPath, { force: true });
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
