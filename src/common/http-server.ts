// Shared Fastify setup for every Sovereign HTTP service: JSON bodies kept as raw bytes too
// (the gateway hashes and forwards the exact bytes), a body limit, and one error shape.
import Fastify, { LogController, type FastifyInstance, type FastifyError } from 'fastify';
import { HttpError } from './errors.ts';
import type { Logger } from './logger.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody: Buffer | null;
  }
}

export interface HttpServerOptions {
  bodyLimit: number;
  logger: Logger;
  /** TLS settings (node:https server options); plain HTTP when absent. */
  https?: object | null;
}

export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 72_000,
    ...(opts.https ? { https: opts.https } : {}),
  });
  app.decorateRequest('rawBody', null);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const raw = body as Buffer;
    req.rawBody = raw;
    if (raw.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch (err) {
      done(new HttpError(400, 'invalid_request_error', `the request body is not valid JSON: ${(err as Error).message}`), undefined);
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
      void reply.code(err.statusCode).headers(err.headers).send(err.body());
      return;
    }
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      void reply.code(413).send({ error: { type: 'request_too_large', message: `the request body is larger than the limit of ${opts.bodyLimit} bytes; send a smaller body or raise bodyLimitBytes in the topology file` } });
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
