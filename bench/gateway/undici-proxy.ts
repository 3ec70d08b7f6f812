// The bare reverse proxy of the benchmark: node:http in, undici Pool out, headers and body
// passed through (streams chunk by chunk), nothing else. It is the floor for any Node gateway.
// Usage: node bench/gateway/undici-proxy.ts <listen-port> <upstream-origin> [<cert.pem> <key.pem> <ca.pem>]
// With the three PEM files, the proxy calls an https upstream with that client certificate
// (a gateway SVID of the mesh: a region cell takes mutual-TLS peers only).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const port = Number(process.argv[2] ?? '0');
const upstream = process.argv[3] ?? 'http://127.0.0.1:8000';
const [certFile, keyFile, caFile] = process.argv.slice(4);
const tls = certFile && keyFile && caFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile) } : undefined;
const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000, ...(tls ? { connect: tls } : {}) });

// Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);

function forwardHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

const server = createServer((req, res) => {
  // A client that goes away mid-request (wrk stopping) must not take the proxy down.
  req.on('error', () => res.destroy());
  res.on('error', () => undefined);
  const parts: Buffer[] = [];
  req.on('data', (b: Buffer) => parts.push(b));
  req.on('end', () => {
    const method = req.method === 'POST' ? 'POST' : 'GET';
    pool.request({ method, path: req.url ?? '/', headers: forwardHeaders(req.headers), ...(method === 'POST' ? { body: Buffer.concat(parts) } : {}) }).then(
      (up) => {
        if (res.destroyed) {
          // The client left while the upstream answered: drain and drop the answer.
          up.body.dump().catch(() => undefined);
          return;
        }
        const headers: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
        res.writeHead(up.statusCode, headers);
        res.flushHeaders();
        pipeline(up.body, res, () => undefined);
      },
      (err: Error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `upstream: ${err.message}` } }));
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log(`undici proxy listening on 127.0.0.1:${port} -> ${upstream}`));
const stop = (): void => {
  server.close();
  void pool.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
