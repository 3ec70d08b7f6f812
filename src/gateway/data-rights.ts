// Data subject rights through the gateway's admin API: export everything the regions hold about
// a subject (GDPR Art. 15 and 20), and erase it (Art. 17) by having each region destroy the
// subject's data keys. A region that cannot be reached gets the erasure from the outbox when it
// is back; the answer names the regions still pending.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpError, badRequest, firstIssue } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { Mesh } from '../mesh/index.ts';
import type { PendingErasure } from './outbox.ts';
import type { Recorder } from './record.ts';

const Subject = z.string().min(1, 'give the subject id (--subject)').max(256, 'a subject id has at most 256 characters');
const ExportBody = z.strictObject({ subject: Subject, tenant: z.string().min(1).optional(), region: z.string().min(1).optional(), proofs: z.boolean().default(false) });
const EraseBody = z.strictObject({ subject: Subject, tenant: z.string().min(1).optional() });

/** How long a region has to answer an erasure before it is kept in the outbox. */
const ERASE_TIMEOUT_MS = 5000;
const EXPORT_TIMEOUT_MS = 120_000;

export interface RegionErasure {
  region: string;
  status: 'erased' | 'nothing_held' | 'pending';
  keys?: number;
  records?: number;
  ledger?: string | null;
  subject_hash?: string;
  reason?: string;
}

/** Calls a region's cell over the mesh (mutual TLS as the gateway's identity). */
async function callCell(mesh: Mesh, region: string, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const res = await mesh.cellClient(region).request({
    method,
    path,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    let msg = text.slice(0, 300);
    try {
      msg = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {
      /* not our error shape */
    }
    throw new Error(`region ${region} answered ${res.statusCode}: ${msg}`);
  }
  return JSON.parse(text) as unknown;
}

/** Delivers one erasure to its region; rejects when the region cannot take it now. */
export async function deliverErasure(mesh: Mesh, e: PendingErasure): Promise<RegionErasure> {
  const out = (await callCell(mesh, e.region, 'POST', '/sovereign/store/erase', { subject: e.subject, tenant: e.tenant, requested: e.requested }, ERASE_TIMEOUT_MS)) as {
    keys: number;
    records: number;
    ledger: string | null;
    subject_hash: string;
  };
  return { region: e.region, status: out.keys > 0 || out.records > 0 ? 'erased' : 'nothing_held', keys: out.keys, records: out.records, ledger: out.ledger, subject_hash: out.subject_hash };
}

/** A region's store status as its cell reports it; null when the cell cannot be reached. */
export async function storeStatusOf(mesh: Mesh, region: string): Promise<unknown> {
  try {
    return await callCell(mesh, region, 'GET', '/sovereign/store/status', undefined, 2000);
  } catch {
    return null;
  }
}

export interface DataRightsDeps {
  current: () => { topology: Topology; recorder: Recorder; mesh: Mesh };
  /** Erasures waiting in any outbox of this gateway (every worker's); default: this process's recorder. */
  pendingErasures?: () => PendingErasure[];
}

export function registerDataRights(app: FastifyInstance, deps: DataRightsDeps): void {
  void app.register(async (scope) => {
    // Every route here is under /sovereign/admin/: the access hook (access.ts) admits the admin token only.
    scope.post('/sovereign/admin/data/export', async (req) => {
      const parsed = ExportBody.safeParse(req.body ?? {});
      if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'export'));
      const { subject, tenant, region, proofs } = parsed.data;
      const { topology, mesh } = deps.current();
      if (region !== undefined && !topology.region(region)) throw new HttpError(404, 'not_found_error', `no region "${region}"; regions: ${topology.regions.map((r) => r.id).join(', ')}`);
      const regions = region !== undefined ? [region] : topology.regions.map((r) => r.id);
      const answers = await Promise.all(
        regions.map(async (id) => {
          try {
            const out = (await callCell(mesh, id, 'POST', '/sovereign/store/export', { subject, tenant: tenant ?? null, proofs }, EXPORT_TIMEOUT_MS)) as { records: unknown[]; unreadable: number };
            return { region: id, ok: true as const, records: out.records, unreadable: out.unreadable };
          } catch (err) {
            return { region: id, ok: false as const, error: (err as Error).message };
          }
        }),
      );
      const records = answers.flatMap((a) => (a.ok ? a.records : []));
      const unavailable = answers.filter((a) => !a.ok).map((a) => ({ region: a.region, error: a.error }));
      const message =
        records.length > 0
          ? `${records.length} record(s) held about this subject in ${answers.filter((a) => a.ok && a.records.length > 0).map((a) => a.region).join(', ')}`
          : `no data held about this subject${tenant ? ` of tenant ${tenant}` : ''} in ${answers.filter((a) => a.ok).map((a) => a.region).join(', ') || 'any region asked'}`;
      return {
        subject,
        tenant: tenant ?? null,
        exported: new Date().toISOString(),
        message: unavailable.length > 0 ? `${message}; NOT asked (unreachable): ${unavailable.map((u) => u.region).join(', ')}` : message,
        regions: answers.map((a) => (a.ok ? { region: a.region, records: a.records.length, unreadable_erased: a.unreadable } : { region: a.region, unavailable: a.error })),
        complete: unavailable.length === 0,
        records,
      };
    });

    scope.post('/sovereign/admin/data/erase', async (req) => {
      const parsed = EraseBody.safeParse(req.body ?? {});
      if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'erasure'));
      const { subject, tenant } = parsed.data;
      const { topology, recorder, mesh } = deps.current();
      const requested = new Date().toISOString();
      const results = await Promise.all(
        topology.regions.map(async (r): Promise<RegionErasure> => {
          const job: PendingErasure = { kind: 'erasure', region: r.id, subject, tenant: tenant ?? null, requested };
          try {
            return await deliverErasure(mesh, job);
          } catch (err) {
            recorder.keep(job);
            const e = err as Error;
            const reason = e.name === 'TimeoutError' || e.name === 'AbortError' || /timeout/i.test(e.message) ? `no answer within ${ERASE_TIMEOUT_MS / 1000} s` : e.message;
            return { region: r.id, status: 'pending', reason };
          }
        }),
      );
      const pending = results.filter((r) => r.status === 'pending').map((r) => r.region);
      return { requested, tenant: tenant ?? null, regions: results, pending, complete: pending.length === 0 };
    });

    scope.get('/sovereign/admin/data/erasures', async () => {
      const pending = deps.pendingErasures ? deps.pendingErasures() : deps.current().recorder.pendingErasures();
      // Subject ids are not shown: the operator who asked has them.
      return { pending: pending.map((e) => ({ region: e.region, tenant: e.tenant, requested: e.requested })) };
    });
  });
}
