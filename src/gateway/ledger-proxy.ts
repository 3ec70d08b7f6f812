// The gateway's read-only view of each region's log: the C2SP tlog-tiles static paths and
// Sovereign's three read endpoints, nothing else of the cell. The path is judged after the
// router has decoded it once; anything left over that is not in the grammar (a "%", "..", a
// second encoding) is refused, and the path sent to the cell is rebuilt from the parsed parts.
import type { FastifyInstance } from 'fastify';
import type { Dispatcher } from 'undici';
import { HttpError, notFound } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { parseTilePath } from '../ledger/index.ts';

/** A resource of a region's log the gateway relays: path (no query) and the query it may carry. */
export interface LedgerResource {
  path: string;
  query: string;
}

const DECIMAL = /^(0|[1-9]\d{0,15})$/;

/**
 * The grammar: `checkpoint` and `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]` (C2SP
 * tlog-tiles, "Checkpoints" and "Tiles"); `key`, `proof/<n>`, `checkpoint-at/<size>` and
 * `entries` (Sovereign's key listing, tlog-proof receipts, archived checkpoints and JSON entry
 * listing; only `from` and `to`, decimal, as query).
 */
export function ledgerResource(rest: string, query: Record<string, unknown>): LedgerResource | null {
  if (rest === 'checkpoint' || rest === 'key') return { path: rest, query: '' };
  // Archived checkpoints, for compliance reports: checkpoint-at/<size>.
  const archived = /^checkpoint-at\/(.+)$/.exec(rest);
  if (archived) return DECIMAL.test(archived[1] as string) ? { path: rest, query: '' } : null;
  if (rest.startsWith('tile/')) return parseTilePath(rest) ? { path: rest, query: '' } : null;
  const proof = /^proof\/(.+)$/.exec(rest);
  if (proof) return DECIMAL.test(proof[1] as string) ? { path: rest, query: '' } : null;
  if (rest === 'entries') {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if ((k !== 'from' && k !== 'to') || typeof v !== 'string' || !DECIMAL.test(v)) return null;
      q.set(k, v);
    }
    const s = q.toString();
    return { path: rest, query: s ? `?${s}` : '' };
  }
  return null;
}

export function registerLedgerProxy(app: FastifyInstance, topology: () => Topology, cellClient: (region: string) => Dispatcher): void {
  app.get<{ Params: { region: string; '*': string }; Querystring: Record<string, unknown> }>('/sovereign/ledger/:region/*', { config: { access: 'public' } }, async (req, reply) => {
    const region = topology().region(req.params.region);
    if (!region) throw notFound(`no region "${req.params.region}"`);
    const resource = ledgerResource(req.params['*'], req.query);
    if (!resource) throw notFound('no such ledger resource: the log serves checkpoint, tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>], key, proof/<n>, checkpoint-at/<size> and entries?from=&to=');
    let res;
    try {
      res = await cellClient(region.id).request({ method: 'GET', path: `/sovereign/ledger/${region.id}/${resource.path}${resource.query}`, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new HttpError(503, 'region_unavailable', `the cell of ${region.id} cannot be reached to serve its ledger (${(err as Error).message})`);
    }
    void reply.code(res.statusCode);
    for (const h of ['content-type', 'cache-control', 'retry-after']) {
      const v = res.headers[h];
      if (typeof v === 'string') void reply.header(h, v);
    }
    return reply.send(res.body);
  });
}
