// The cell's side of the region store: it keeps a record of each request it served for the
// gateway (input, output, model version, decision, receipt, tenant, subject, class), answers the
// gateway's export and erasure calls, and serves the store's metrics and status. Records are
// taken from the response as it is sent (onSend) and queued; the store writes them afterwards.
// Who may call what is the mesh's exposure table (src/mesh/exposure.ts): the inference routes,
// whose served-for headers are believed, and the store's routes answer the gateway's identity only.
import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { HttpError, badRequest, firstIssue, servedForOf, type Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { Ledger } from '../ledger/index.ts';
import type { PgTlsIdentity } from '../mesh/index.ts';
import { openRegionStore, type RegionStore } from '../store/index.ts';

const SubjectBody = z.strictObject({
  subject: z.string().min(1).max(256),
  tenant: z.string().min(1).max(128).nullable().default(null),
});
const ExportBody = SubjectBody.extend({ proofs: z.boolean().default(false) });
const EraseBody = SubjectBody.extend({ requested: z.iso.datetime({ offset: false }) });

/** Inference routes whose requests are kept: POST /v1/... and /v2/models/{m}/infer. */
function isInference(req: FastifyRequest): boolean {
  if (req.method !== 'POST') return false;
  const url = req.routeOptions.url ?? '';
  return url.startsWith('/v1/') || url === '/v2/models/:model/infer';
}

export async function openStoreService(topology: Topology, region: string, ledger: Ledger, logger: Logger, registry: Registry, identity: PgTlsIdentity | null = null): Promise<RegionStore | null> {
  if (!topology.data.store.enabled) return null;
  return openRegionStore(topology, region, {
    // Keyed with the region's secret (the ledger's request-hash key): never the id itself.
    subjectHash: (subject) => ledger.requestHash(`sovereign-store/subject/v1\n${subject}`),
    appendLedger: async (entry) => `${ledger.origin} ${(await ledger.append(entry)).index}`,
    logger,
    registry,
    identity,
  });
}

function modelOf(req: FastifyRequest): string {
  const params = req.params as { model?: unknown } | undefined;
  if (typeof params?.model === 'string') return params.model;
  const body = req.body as { model?: unknown } | undefined;
  return typeof body?.model === 'string' ? body.model : 'unknown';
}

/** Registers the recording hook and the store's routes. */
export function registerStoreRoutes(app: FastifyInstance, region: string, store: RegionStore | null, registry: Registry, ledger: Ledger): void {
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (store === null || reply.statusCode >= 400 || !isInference(req)) return payload;
    const ctx = servedForOf(req.headers);
    if (ctx === null) return payload;
    const mv = reply.getHeader('x-sovereign-model-version');
    const base = {
      tenant: ctx.tenant,
      subject: ctx.subject,
      decisionId: ctx.decisionId,
      dataClass: ctx.dataClass,
      receipt: ctx.receipt,
      model: modelOf(req),
      modelVersion: typeof mv === 'string' ? mv : null,
      path: req.url,
      status: reply.statusCode,
      time: Date.now(),
      retentionDays: ctx.retentionDays,
      input: ctx.retentionDays > 0 ? (req.rawBody?.toString('utf8') ?? '') : '',
    };
    if (ctx.retentionDays <= 0) {
      store.record({ ...base, output: '' });
      return payload;
    }
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
      store.record({ ...base, output: payload.toString() });
      return payload;
    }
    if (payload !== null && typeof payload === 'object' && typeof (payload as NodeJS.ReadableStream).pipe === 'function') {
      // A stream (SSE, a relayed model server answer): kept as sent, recorded once it ends.
      const chunks: Buffer[] = [];
      const tap = new Transform({
        transform(chunk: Buffer | string, _enc, cb) {
          chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
          cb(null, chunk);
        },
        flush(cb) {
          store.record({ ...base, output: Buffer.concat(chunks).toString('utf8') });
          cb();
        },
      });
      const src = payload as NodeJS.ReadableStream;
      src.on('error', (err: Error) => tap.destroy(err));
      return src.pipe(tap);
    }
    return payload;
  });

  app.get('/metrics', async (_req, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()));

  void app.register(async (scope) => {
    scope.addHook('onRequest', async (req) => {
      if (store === null && req.url !== '/sovereign/store/status') throw new HttpError(409, 'store_disabled', `region ${region} keeps no store (store.enabled is false)`);
    });
    scope.get('/sovereign/store/status', async () => store?.status() ?? { region, enabled: false });
    scope.post('/sovereign/store/export', async (req) => {
      const b = ExportBody.safeParse(req.body ?? {});
      if (!b.success) throw badRequest(firstIssue(b.error, 'export'));
      const out = await (store as RegionStore).export(b.data.subject, b.data.tenant);
      if (b.data.proofs) {
        // Each record's receipt as c2sp.org/tlog-proof@v1, checkable offline with the region's key.
        for (const r of out.records) {
          if (r.ledger && r.ledger.origin === ledger.origin && r.ledger.index < ledger.checkpointSize) r.proof = await ledger.proof(r.ledger.index);
        }
      }
      return { region, ...out };
    });
    scope.post('/sovereign/store/erase', async (req) => {
      const b = EraseBody.safeParse(req.body ?? {});
      if (!b.success) throw badRequest(firstIssue(b.error, 'erasure'));
      try {
        return await (store as RegionStore).erase(b.data.subject, b.data.tenant, b.data.requested);
      } catch (err) {
        throw new HttpError(503, 'store_unavailable', `region ${region} could not erase: ${(err as Error).message}; the gateway keeps the erasure and retries`);
      }
    });
  });
}
