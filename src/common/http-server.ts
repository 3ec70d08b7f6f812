// Shared Fastify setup for every Sovereign HTTP service: JSON bodies kept as raw bytes too
// (the gateway hashes and forwards the exact bytes), a body limit, and one error shape.
import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';
import { JsonBodyError, parseJsonBody } from './json-body.ts';
import type { Logger } from './logger.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody: Buffer | null;
  }
  interface FastifyContextConfig {
    /** An inference route: its body is model input (input limits, the cell's inference gate). */
    inference?: boolean;
  }
}

export interface HttpServerOptions {
  bodyLimit: number;
  logger: Logger;
  /** Silence allowed while a request body arrives; then 408 and the connection is closed (default 10 s). */
  bodyTimeoutMs?: number;
  /** Time allowed for a request's headers to arrive; then 408 and the connection is closed (default 10 s). */
  headersTimeoutMs?: number;
  /** Open connections allowed per client address (socket peer); more are answered 429 (0: no limit). */
  maxConnectionsPerClient?: number;
  /** TLS settings (node:https server options); plain HTTP when absent. */
  https?: object | null;
  /**
   * With `https`: serve HTTP/2 to clients that offer it (ALPN) and HTTP/1.1 to the others
   * (allowHTTP1), so one connection can carry many requests at once (the gateway's ledger
   * channel to a cell).
   */
  http2?: boolean;
}

/** How long a closing connection keeps reading (and discarding) what the client still sends. */
const LINGER_MS = 2000;

/**
 * Answers on the socket itself and closes it cleanly: the answer, then our FIN, then whatever
 * the client still sends is read and dropped until it closes (or LINGER_MS passes). Closing
 * with unread bytes would make the kernel send a reset, and the client would never read the answer.
 */
export function answerAndClose(socket: Socket, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const payload = JSON.stringify(body);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'content-type: application/json; charset=utf-8', `content-length: ${Buffer.byteLength(payload)}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${v}`);
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${payload}`);
  socket.on('data', () => undefined);
  socket.resume();
  const t = setTimeout(() => socket.destroy(), LINGER_MS);
  t.unref();
  socket.once('close', () => clearTimeout(t));
}

/** Errors Node's HTTP parser raises before a request exists, in the documented error shape. */
function parserError(err: NodeJS.ErrnoException): { status: number; body: { error: { type: string; message: string; code: string } } } {
  const code = err.code ?? 'HPE_UNKNOWN';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, body: { error: { type: 'request_timeout', message: 'the request headers did not arrive in time; send them at once', code } } };
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, body: { error: { type: 'request_header_fields_too_large', message: 'the request headers are larger than the server accepts (16 KiB); send fewer or smaller headers', code } } };
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return { status: 413, body: { error: { type: 'request_too_large', message: 'chunk extensions are too large', code } } };
  return { status: 400, body: { error: { type: 'invalid_request_error', message: `the request is not valid HTTP/1.1 (${err.message}); check Content-Length and Transfer-Encoding`, code } } };
}

/** Counts open connections per client address; a connection over the limit is answered 429. */
function limitConnectionsPerClient(app: FastifyInstance, max: number): void {
  const open = new Map<string, number>();
  app.server.on('connection', (socket: Socket) => {
    const who = socket.remoteAddress ?? '';
    const n = open.get(who) ?? 0;
    if (n >= max) {
      answerAndClose(socket, 429, { error: { type: 'too_many_connections', message: `this client address already has ${max} open connections, the most allowed (gateway.maxConnectionsPerClient); reuse connections or close idle ones` } }, { 'retry-after': '1' });
      return;
    }
    open.set(who, n + 1);
    socket.once('close', () => {
      const left = (open.get(who) ?? 1) - 1;
      if (left <= 0) open.delete(who);
      else open.set(who, left);
    });
  });
}

export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? 10_000;
  const connectionsCheckingInterval = Math.max(100, Math.min(1000, Math.floor((opts.headersTimeoutMs ?? 10_000) / 4)));
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 72_000,
    // A request (headers and body) must arrive within 2 minutes in all, however it trickles.
    requestTimeout: 120_000,
    // Node checks header deadlines on this interval; the default (30 s) would let a stalled
    // client hold its connection up to 30 s past the deadline.
    ...(opts.https ? { https: { ...opts.https, connectionsCheckingInterval } } : { http: { connectionsCheckingInterval } satisfies ServerOptions }),
    // HTTP/2 beside HTTP/1.1 (Fastify's http2 with allowHTTP1); the instance is used through
    // the HTTP/1.1 types, which the compatibility API of node:http2 implements.
    ...((opts.https && opts.http2 ? { http2: true, https: { ...opts.https, connectionsCheckingInterval, allowHTTP1: true } } : {}) as object),
    // Errors of the HTTP parser (431, conflicting lengths, header timeout) in the one error shape.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const { status, body } = parserError(err);
      answerAndClose(socket, status, body);
    },
    // Errors of the router (a malformed URL) in the one error shape.
    frameworkErrors: (err, _req, reply) => {
      void (reply as unknown as FastifyReply).code(400).send({ error: { type: 'invalid_request_error', message: `${err.message}; check the URL's percent-encoding`, code: err.code } });
    },
  });
  app.server.headersTimeout = opts.headersTimeoutMs ?? 10_000;
  if (opts.https && opts.http2) {
    // node:http2's HTTP/1.1 fallback does not take http.Server's defaults: without noDelay a
    // streamed answer's second write waits for the peer's delayed ACK (Nagle), and idle
    // keep-alive connections would never time out.
    Object.assign(app.server, { noDelay: true, keepAliveTimeout: 72_000, requestTimeout: 120_000 });
    app.server.on('secureConnection', (s: Socket) => s.setNoDelay(true));
  }
  if (opts.maxConnectionsPerClient && opts.maxConnectionsPerClient > 0) limitConnectionsPerClient(app as unknown as FastifyInstance, opts.maxConnectionsPerClient);

  // A body that stops arriving: after bodyTimeoutMs of silence, 408 and the connection is closed.
  // A callback hook, not an async one: it runs for every request, and an async hook costs each a
  // promise and a microtask turn (bench/http-layer.ts measures the layer).
  app.addHook('onRequest', (req, reply, done) => {
    watchBody(req.raw, reply);
    done();
  });
  function watchBody(raw: FastifyRequest['raw'], reply: FastifyReply): void {
    // An HTTP/2 stream shares its connection: a stalled one holds a stream, not the connection
    // (and the socket of an HTTP/2 request cannot be timed out on its own).
    if (raw.httpVersionMajor === 2) return;
    if (raw.complete || (raw.headers['content-length'] === undefined && raw.headers['transfer-encoding'] === undefined)) return;
    const socket = raw.socket as Socket | undefined;
    // An injected request (app.inject) has no real socket and no client to wait for.
    if (typeof socket?.setTimeout !== 'function') return;
    // The hooks run while Node's parser is still inside the packet that carried the headers; a
    // body sent with them (most requests) is complete once that packet is parsed. Only a body
    // still incomplete then is watched: most requests pay one tick instead of two socket
    // timer changes and three listeners.
    process.nextTick(watchRest, raw, socket, reply);
  }
  function watchRest(raw: FastifyRequest['raw'], socket: Socket, reply: FastifyReply): void {
    if (raw.complete || raw.readableEnded || raw.destroyed || socket.destroyed) return;
    const stalled = (): void => {
      reply.hijack();
      // The body parser waits on the body's data, end and error; the request is answered here,
      // so it must not answer it again when the connection closes (Fastify would log a
      // "Reply was already sent" warning, with a stack, for every stalled client).
      raw.removeAllListeners('data').removeAllListeners('end').removeAllListeners('error');
      answerAndClose(socket, 408, { error: { type: 'request_timeout', message: `no part of the request body arrived for ${bodyTimeoutMs} ms; send the body without pauses`, code: 'SOVEREIGN_BODY_TIMEOUT' } });
    };
    socket.setTimeout(bodyTimeoutMs);
    raw.once('timeout', stalled);
    const done = (): void => {
      raw.removeListener('timeout', stalled);
      if (!socket.destroyed) socket.setTimeout(0);
    };
    raw.once('end', done);
    raw.once('close', done);
  }

  app.decorateRequest('rawBody', null);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const raw = body as Buffer;
    req.rawBody = raw;
    if (raw.length === 0) return done(null, undefined);
    try {
      done(null, parseJsonBody(raw.toString('utf8')));
    } catch (err) {
      if (err instanceof JsonBodyError) done(new HttpError(400, 'invalid_request_error', err.message, { code: err.code }), undefined);
      else done(err as Error, undefined);
    }
  });
  // Bodies with no or another content type: keep the bytes, parse nothing.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    req.rawBody = body as Buffer;
    done(null, undefined);
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { type: 'not_found_error', message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) {
      if (err.headers.connection === 'close' && req.raw.httpVersionMajor !== 2) {
        // Refused before the body was read: answer, then close cleanly (see answerAndClose).
        const { connection: _, ...headers } = err.headers;
        void reply.hijack();
        answerAndClose(req.raw.socket, err.statusCode, err.body(), headers);
        req.raw.resume();
        return;
      }
      // HTTP/2 has no connection header (RFC 9113 §8.2.2): the stream ends, the connection stays.
      const { connection: _, ...h2 } = err.headers;
      void reply
        .code(err.statusCode)
        .headers(req.raw.httpVersionMajor === 2 ? h2 : err.headers)
        .send(err.body());
      return;
    }
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && req.raw.httpVersionMajor !== 2) {
      // Answered from the declared length before the body is read; the connection is closed
      // cleanly (the rest of the body is read and dropped, so the client is not reset).
      void reply.hijack();
      answerAndClose(req.raw.socket, 413, { error: { type: 'request_too_large', message: `the request body is larger than the limit of ${opts.bodyLimit} bytes; send a smaller body or raise bodyLimitBytes in the topology file`, code: err.code } });
      req.raw.resume();
      return;
    }
    if (status >= 400 && status < 500) {
      void reply.code(status).send({ error: { type: 'invalid_request_error', message: err.message, code: err.code } });
      return;
    }
    req.log.error({ err }, 'request failed');
    void reply.code(500).send({ error: { type: 'internal_error', message: 'internal error; the log of this service has the details' } });
  });
  return app as unknown as FastifyInstance;
}
