// A complete answer of bounded length (the forwarder read it whole) goes to the client as one
// head and one body, written by Node's response directly: the status, the headers the request's
// hooks already set on the reply (x-sovereign-decision-id, x-sovereign-worker), the cell's pass-
// through headers, Sovereign's own and the length, as one flat list, then the body; Node corks
// the socket for end(), so head and body leave in one write. Fastify's send path (content-type
// parsing, the onSend hook runner, a header object per call, the length check) is skipped: no
// gateway route has onSend or onResponse hooks, and nothing of it changes what the client gets.
import type { FastifyReply } from 'fastify';

/** Sends `body` with `status` and `headers` (names lower-case) after the reply's own headers; the reply is done. */
export function relayWhole(reply: FastifyReply, status: number, headers: Readonly<Record<string, string>>, body: Buffer): void {
  const res = reply.raw;
  // Nothing to answer once the client is gone (Fastify's send would not write either).
  reply.hijack();
  if (res.destroyed || res.headersSent) return;
  const head: string[] = [];
  const own = reply.getHeaders();
  for (const name in own) {
    const v = own[name];
    if (v === undefined || name === 'content-length' || name in headers) continue;
    if (Array.isArray(v)) for (const x of v) head.push(name, x);
    else head.push(name, String(v));
  }
  for (const name in headers) head.push(name, headers[name] as string);
  // As Fastify does for a buffer sent without a type.
  if (headers['content-type'] === undefined && own['content-type'] === undefined) head.push('content-type', 'application/octet-stream');
  // RFC 9110 §8.6: no Content-Length on 1xx and 204 answers (the cell sends neither through here).
  if (status >= 200 && status !== 204 && status !== 304) head.push('content-length', String(body.length));
  res.writeHead(status, head);
  res.end(status === 204 || status === 304 ? undefined : body);
}
