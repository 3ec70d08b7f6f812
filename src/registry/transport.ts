// The one place where registry traffic gets its transport: the HTTP server every registry
// (golden, regional) listens with, and the dispatcher every registry client connects with.
// Mutual TLS (the mesh's SPIFFE SVIDs) plugs in here and nowhere else: server options in
// registryHttpServer, client connect options in registryDispatcher.
import type { FastifyInstance } from 'fastify';
import { Agent, type Dispatcher } from 'undici';
import { createHttpServer, type Logger } from '../common/index.ts';

/** The scheme registries are served with (https once TLS is plugged in above). */
export const REGISTRY_SCHEME = 'http';

/** A registry's HTTP server (body limit for JSON admin bodies; blobs are streamed, not limited). */
export function registryHttpServer(logger: Logger): FastifyInstance {
  return createHttpServer({ bodyLimit: 4 * 1024 * 1024, logger });
}

let agent: Agent | undefined;

/** The dispatcher for requests to registries (golden, regions, real OCI registries). */
export function registryDispatcher(): Dispatcher {
  // Long bodies (1 GiB blobs) flow in chunks; a stall of two minutes between chunks is a cut.
  agent ??= new Agent({ connections: 8, bodyTimeout: 120_000, headersTimeout: 60_000, keepAliveTimeout: 30_000 });
  return agent;
}
