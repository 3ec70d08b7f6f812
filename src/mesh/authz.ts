// Authorization by identity at a cell's edge, deny by default: one Fastify hook looks up the
// route's allowed callers (the route's own `config.allow`, else the exposure table) and
// refuses every other identity with 403 naming the identity and the endpoint.
import type { FastifyInstance } from 'fastify';
import { HttpError, RECORD_HEADER, type Logger } from '../common/index.ts';
import { CELL_ROUTES, RECORD_CALLERS, callerMatches, type Caller, type RouteRule } from './exposure.ts';
import { parseSpiffeId } from './spiffe-id.ts';
import type { Mesh } from './workload.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Callers allowed on this route; overrides the exposure table. */
    allow?: readonly Caller[];
  }
}

/**
 * Installs the hook on a server (before its routes); no-op in plaintext mode. `selfRegion` is the
 * callee's region ("" for golden); `where` names the server in refusals.
 */
export function authorizeByIdentity(app: FastifyInstance, mesh: Mesh, selfRegion: string, logger: Logger, routes: readonly RouteRule[] = CELL_ROUTES, where = `the cell of ${selfRegion}`): void {
  if (mesh.mode === 'plaintext') return;
  const table = new Map(routes.map((r) => [`${r.method} ${r.url}`, r.allow]));
  app.addHook('onRequest', async (req) => {
    const id = mesh.peerOf(req.raw.socket);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const url = req.routeOptions.url;
    const allow = req.routeOptions.config?.allow ?? (url !== undefined ? table.get(`${method} ${url}`) : undefined);
    const parsed = id !== undefined ? parseSpiffeId(id) : null;
    const endpoint = `${req.method} ${url ?? req.url.split('?')[0]}`;
    // A decision record travelling with a request is taken from gateway identities only.
    if (req.headers[RECORD_HEADER] !== undefined && !RECORD_CALLERS.some((c) => callerMatches(c, parsed, mesh.topology, selfRegion || undefined))) {
      logger.warn({ peer: id ?? null, endpoint, allowed: RECORD_CALLERS }, 'mTLS caller may not send a decision record');
      throw new HttpError(403, 'permission_denied', `${id ?? 'a caller without an identity'} may not send a decision record (${RECORD_HEADER}) to ${where}; allowed: ${RECORD_CALLERS.join(', ')}`);
    }
    if (allow && allow.some((c) => callerMatches(c, parsed, mesh.topology, selfRegion || undefined))) return;
    logger.warn({ peer: id ?? null, endpoint, allowed: allow ?? [] }, 'mTLS caller not authorized for endpoint');
    throw new HttpError(
      403,
      'permission_denied',
      `${id ?? 'a caller without an identity'} may not call ${endpoint} on ${where}` + (allow ? `; allowed: ${allow.join(', ')}` : '; no identity is allowed to call it'),
    );
  });
}
