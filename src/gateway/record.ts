// Record: every decision goes into the ledger of the region it concerns before anything is
// forwarded there. The entry carries no personal data: the request body is sent only as its
// SHA-256, which the region keys with its own secret (HMAC) before storing.
import { hash } from 'node:crypto';
import type { Pool } from 'undici';
import { HttpError, MAX_APPEND_BATCH, formatReceipt, type AppendBatchResult, type AppendRecord, type ForwardRecord, type Receipt } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { Mesh } from '../mesh/index.ts';
import { failedOver, jurisdictionDenied, type Attempt, type Decision } from './decision.ts';
import { AppendRefused, isPermanentRefusal } from './append-refused.ts';
import type { Outbox, OutboxItem, PendingErasure, PendingRecord } from './outbox.ts';

export type { Receipt };

export type DecisionOutcome = 'routed' | 'denied' | 'failed_over' | 'unavailable' | 'transfer';

interface QueuedRecord {
  record: AppendRecord;
  resolve: (r: Receipt) => void;
  reject: (e: Error) => void;
}

const EMPTY = Buffer.alloc(0);

/** SHA-256 (hex) of a request body; one-shot (no Hash object per request). */
export function bodyDigest(body: Buffer | null): string {
  return hash('sha256', body ?? EMPTY, 'hex');
}

export class Recorder {
  readonly #pools = new Map<string, Pool>();
  readonly #topology: Topology;
  readonly #outbox: Outbox;
  /** Records waiting for this turn of the event loop to end, by region. */
  readonly #queued = new Map<string, QueuedRecord[]>();
  /** Delivers an erasure kept in the outbox (set by the data subject rights service). */
  #deliverErasure: ((e: PendingErasure) => Promise<void>) | null = null;

  /** `outbox` is the process's one outbox: it outlives this recorder (a reload builds a new one and hands it over). */
  constructor(topology: Topology, outbox: Outbox, mesh: Mesh) {
    this.#topology = topology;
    // One long-lived channel per region for records that are not carried with a request
    // (transfers to the subjects' home regions, denials, 'unavailable', triggers, the outbox):
    // HTTP/2 over the mesh's mutual TLS, many appends at once on one connection. The cells'
    // append endpoint takes gateway identities only: the SVID is the credential.
    for (const r of topology.regions) this.#pools.set(r.id, mesh.cellPool(r.id, { connections: 1, allowH2: true, keepAliveTimeout: 60_000, connectTimeout: 1000 }));
    this.#outbox = outbox;
    // From now on the outbox delivers through this recorder (the topology in force).
    this.#outbox.start((r) => {
      if (r.kind === 'erasure') return this.#deliverErasure ? this.#deliverErasure(r) : Promise.reject(new Error('no erasure delivery yet'));
      return this.append(r.region, r.entry, r.body_sha256).then(() => undefined);
    });
  }

  get pending(): number {
    return this.#outbox.size;
  }

  /** How erasures kept in the outbox are delivered when their region is back. */
  deliverErasuresWith(fn: (e: PendingErasure) => Promise<void>): void {
    this.#deliverErasure = fn;
  }

  /** Keeps an item in the outbox until its region takes it. */
  keep(item: OutboxItem): void {
    this.#outbox.add(item);
  }

  /** Erasures waiting for their region. */
  pendingErasures(): PendingErasure[] {
    return this.#outbox.items().filter((i): i is PendingErasure => i.kind === 'erasure');
  }

  /**
   * Appends durably in `region`'s ledger; rejects if the region cannot record it. Records for
   * one region made in the same turn of the event loop go in one request (the cell commits
   * them with one write), so under load a request costs a fraction of an append exchange.
   */
  append(region: string, entry: Record<string, unknown>, bodySha?: string): Promise<Receipt> {
    const pool = this.#pools.get(region);
    if (!pool) return Promise.reject(new Error(`no region ${region}`));
    return new Promise((resolve, reject) => {
      let q = this.#queued.get(region);
      if (q === undefined) {
        q = [];
        this.#queued.set(region, q);
        setImmediate(() => this.#flush(region, pool));
      }
      q.push({ record: { entry, ...(bodySha ? { body_sha256: bodySha } : {}) }, resolve, reject });
    });
  }

  #flush(region: string, pool: Pool): void {
    const q = this.#queued.get(region) ?? [];
    this.#queued.delete(region);
    for (let i = 0; i < q.length; i += MAX_APPEND_BATCH) {
      const batch = q.slice(i, i + MAX_APPEND_BATCH);
      this.#send(region, pool, batch).catch((err: unknown) => {
        for (const r of batch) r.reject(err as Error);
      });
    }
  }

  async #send(region: string, pool: Pool, batch: QueuedRecord[]): Promise<void> {
    const single = batch.length === 1 ? (batch[0] as QueuedRecord) : null;
    const res = await pool.request({
      method: 'POST',
      path: '/sovereign/ledger/append',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(single !== null ? single.record : { records: batch.map((r) => r.record) }),
      // Lets undici run appends side by side on the HTTP/2 connection (it holds back a
      // non-idempotent request while another runs); undici never resends a request by itself,
      // and the outbox's retries are the gateway's own.
      idempotent: true,
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      // A whole batch refused says nothing for good about each of its records: they are retried
      // (one by one from the outbox, where a refusal of the record itself is definite).
      const message = `ledger of ${region} answered ${res.statusCode}: ${text.slice(0, 200)}`;
      throw new AppendRefused(region, res.statusCode, message, single !== null ? undefined : false);
    }
    if (single !== null) return single.resolve(JSON.parse(text) as Receipt);
    const { results } = JSON.parse(text) as AppendBatchResult;
    if (results.length !== batch.length) throw new Error(`ledger of ${region} answered ${results.length} results for ${batch.length} records`);
    batch.forEach((r, i) => {
      const out = results[i] as AppendBatchResult['results'][number];
      if ('error' in out) r.reject(new AppendRefused(region, out.error.status ?? 500, `ledger of ${region} refused the record: ${out.error.message}`));
      else r.resolve(out);
    });
  }

  /**
   * Appends now if the region can take it, otherwise keeps it in the outbox for later; a record
   * the region refuses for good goes to the dead-letter file instead.
   */
  async appendOrKeep(r: PendingRecord): Promise<Receipt | null> {
    try {
      return await this.append(r.region, r.entry, r.body_sha256);
    } catch (err) {
      if (isPermanentRefusal(err)) this.#outbox.deadLetter(r, err);
      else this.#outbox.add(r);
      return null;
    }
  }

  /** Appends each record now, or keeps it (outbox, or dead-letter if refused for good); resolves when each is one or the other. */
  async recordElsewhere(records: readonly PendingRecord[]): Promise<void> {
    if (records.length > 0) await Promise.all(records.map((r) => this.appendOrKeep(r)));
  }

  /** Items in the dead-letter file, by region. */
  deadLetters(): ReadonlyMap<string, number> {
    return this.#outbox.deadLetters();
  }

  /**
   * The home region of a jurisdiction: where its subjects' denials and transfers are recorded
   * (the first region of the jurisdiction in preference order; for subjects of no configured
   * jurisdiction, ledger.unknownRegion or the first preferred region).
   */
  homeRegion(jurisdiction: string): string {
    const pref = this.#topology.data.routing.preference;
    const inJ = this.#topology.regionsIn(jurisdiction).map((r) => r.id);
    if (inJ.length > 0) return [...inJ].sort((a, b) => rank(pref, a) - rank(pref, b))[0] as string;
    return this.#topology.data.ledger.unknownRegion ?? pref[0] ?? (this.#topology.regions[0]?.id as string);
  }

  /** Closes the pools to the cells; the outbox stays with its process (Outbox.stop ends it). */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
  }
}

function rank(pref: readonly string[], id: string): number {
  const i = pref.indexOf(id);
  return i < 0 ? pref.length : i;
}

/**
 * The transfer mechanism under which `region` receives data of subjects of `jurisdiction`:
 * none recorded when the region is in that jurisdiction; else the first the region holds in
 * the topology (adequacy, SCCs, contract), or 'none' (the law needed none, e.g. public data).
 */
function mechanismOf(topology: Topology | undefined, region: string | null, jurisdiction: string): string | undefined {
  const r = region === null ? undefined : topology?.region(region);
  if (r === undefined || r.jurisdiction === jurisdiction) return undefined;
  const t = r.transfers;
  return t.adequacy.includes(jurisdiction) ? 'adequacy' : t.scc.includes(jurisdiction) ? 'scc' : t.contract.includes(jurisdiction) ? 'contract' : 'none';
}

/** The decision entry (ledger schema v1) for `d` with `outcome`, destined for `region` (with `topology`: the transfer mechanisms). */
export function decisionEntry(d: Decision, outcome: DecisionOutcome, region: string | null, policyIds: string[], topology?: Topology, attempts: readonly Attempt[] = []): Record<string, unknown> {
  return {
    v: 1,
    kind: 'decision',
    time: new Date().toISOString(),
    decision_id: d.id,
    tenant: d.tenant ?? 'anonymous',
    jurisdictions: d.jurisdictions.map((j) => ({ jurisdiction: j.jurisdiction, source: j.source, mechanism: mechanismOf(topology, region, j.jurisdiction) })),
    data_class: d.dataClass,
    detected_types: d.detectedTypes,
    region,
    mode: d.mode,
    outcome,
    attempts: attempts.map((a) => ({ region: a.region, outcome: a.outcome })),
    policy_ids: policyIds,
    model: d.model,
    model_digest: null,
    // Where the request goes, the ledger says how long its input and output are kept there.
    ...(region !== null ? { retention_days: d.retentionDays } : {}),
  };
}

/** The subject jurisdictions whose home regions also record a transfer to `region`. */
export function transfersTo(topology: Topology, d: Decision, region: string): string[] {
  const where = topology.region(region)?.jurisdiction;
  return [...new Set(d.jurisdictions.map((j) => j.jurisdiction))].filter((j) => j !== where && topology.regionsIn(j).length > 0);
}

/**
 * What recording a decision to send `d` to `region` (after the `before` attempts) takes: the
 * record that travels with the request to `region` (one hop: the cell makes it durable before
 * the request is processed), and the transfer records for the subjects' home regions on a
 * cross-border transfer, which must be durable (or kept in the outbox) before the request is
 * sent. Data only: the forwarder records and sends.
 */
export interface RecordPlan {
  /** The destination's record: the decision entry and the digest of the body it decides. */
  record: ForwardRecord;
  /** Records for other regions (the subjects' home regions), made before the request is sent. */
  elsewhere: PendingRecord[];
}

export function recordPlan(topology: Topology, recorder: Pick<Recorder, 'homeRegion'>, d: Decision, policyIds: string[], region: string, bodySha: string, before: readonly Attempt[]): RecordPlan {
  const outcome = failedOver(before) ? 'failed_over' : 'routed';
  return {
    record: { entry: decisionEntry(d, outcome, region, policyIds, topology, before), body_sha256: bodySha },
    elsewhere: transfersTo(topology, d, region).map((j) => ({ region: recorder.homeRegion(j), entry: decisionEntry(d, 'transfer', region, policyIds, topology, before), body_sha256: bodySha })),
  };
}

/**
 * Records a decision to send `d` to `region` through the append endpoints (the data-plane path,
 * ext_authz, where the gateway does not carry the request itself): durable in that region's
 * ledger (rejects if it cannot be), and a transfer record in the subjects' home regions on a
 * cross-border transfer (kept in the outbox when a home region is down). Resolves with the
 * receipt "<origin> <index>".
 */
export async function recordRouted(recorder: Recorder, topology: Topology, d: Decision, policyIds: string[], region: string, bodySha: string, before: readonly Attempt[]): Promise<string> {
  const plan = recordPlan(topology, recorder, d, policyIds, region, bodySha, before);
  const [receipt] = await Promise.all([recorder.append(region, plan.record.entry, bodySha), recorder.recordElsewhere(plan.elsewhere)]);
  return formatReceipt(receipt);
}

/**
 * Records a denial in the subject's home region (kept in the outbox if that region is down)
 * and returns the answer: 451 (RFC 7725) with the rationale, and the receipt when recorded.
 */
export async function recordDenial(recorder: Recorder, d: Decision, policyIds: string[], bodySha: string): Promise<HttpError> {
  const home = recorder.homeRegion(d.jurisdictions[0]?.jurisdiction ?? 'unknown');
  const receipt = await recorder.appendOrKeep({ region: home, entry: decisionEntry(d, 'denied', null, policyIds), body_sha256: bodySha });
  const err = jurisdictionDenied(d, `the law permits no region of Sovereign to process this request (${d.jurisdictions.map((j) => `${j.jurisdiction} from ${j.source}`).join(', ')}; data class ${d.dataClass})`);
  if (receipt) err.headers['x-sovereign-ledger'] = formatReceipt(receipt);
  return err;
}

export function ledgerUnavailable(region: string, err: unknown): HttpError {
  return new HttpError(503, 'ledger_unavailable', `the ledger of ${region} cannot record the decision (${(err as Error).message}); Sovereign forwards nothing it cannot record`);
}
