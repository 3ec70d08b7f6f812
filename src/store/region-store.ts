// A region's store of the requests it served. The hot path only queues a record (O(1), no I/O,
// no crypto); a timer seals and writes the queue in batches, one transaction each. A write that
// fails (full disk, broken database) keeps the records queued for the next try (up to
// store.maxQueued, beyond which new records are dropped and counted), is counted, logged and
// shown in the status, and never fails a request. Erasure destroys the subject's data keys
// (crypto-shredding) after recording it in the region's ledger; the sweeper then removes the
// unreadable records and those past their retention.
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../common/index.ts';
import { KeyExistsError, type StoreBackend, type SweepResult } from './backend.ts';
import { kekCheck, newDataKey, openRecord, sealRecord, unwrapKey, wrapKey } from './envelope.ts';
import type { Kek } from './kek.ts';
import { newRecordId, type ExportedRecord, type SealedRecord, type ServedRecord, type WrappedKey } from './records.ts';

const DAY_MS = 86_400_000;
/** Records sealed and written in one transaction, at most. */
const MAX_BATCH = 2000;
/** Data keys kept unwrapped in memory (most recently used). */
const KEY_CACHE = 10_000;

export interface ErasureResult {
  region: string;
  subject_hash: string;
  /** Data keys destroyed now (0: nothing held, or already erased). */
  keys: number;
  /** Records made unreadable now. */
  records: number;
  /** Receipt of the erasure entry in the region's ledger, when something was erased. */
  ledger: string | null;
}

export interface StoreStatus {
  region: string;
  backend: string;
  ok: boolean;
  queued: number;
  written: number;
  failed_writes: number;
  dropped: number;
  last_error: string | null;
  last_error_at: string | null;
  last_sweep_at: string | null;
}

export interface RegionStoreOptions {
  region: string;
  backend: StoreBackend;
  kek: Kek;
  /** Keyed hash (HMAC-SHA-256 under the region's secret) of a subject id. */
  subjectHash: (subject: string) => string;
  /** Appends an entry to the region's ledger; resolves with its receipt ("<origin> <index>"). */
  appendLedger: (entry: Record<string, unknown>) => Promise<string>;
  logger: Logger;
  registry: Registry;
  flushIntervalMs: number;
  sweepIntervalMs: number;
  maxQueued: number;
  now?: () => number;
}

interface Queued {
  r: ServedRecord;
  hash?: string;
}

interface CachedKey {
  keyId: string;
  /** A KeyObject: a cipher made from one costs half of one made from raw bytes. */
  key: KeyObject;
}

function metricsOf(registry: Registry): {
  written: Counter;
  notStored: Counter;
  failures: Counter;
  dropped: Counter;
  queued: Gauge;
  up: Gauge;
  sweeps: Counter;
  swept: Counter<'reason'>;
  lastSweep: Gauge;
  erasures: Counter;
} {
  const registers = [registry];
  return {
    written: new Counter({ name: 'sovereign_store_records_written_total', help: 'Records sealed and written to the region store', registers }),
    notStored: new Counter({ name: 'sovereign_store_records_not_stored_total', help: 'Served requests not stored because their retention is 0 days', registers }),
    failures: new Counter({ name: 'sovereign_store_write_failures_total', help: 'Store writes that failed (the records stay queued for the next try)', registers }),
    dropped: new Counter({ name: 'sovereign_store_records_dropped_total', help: 'Records dropped because the write queue was full (store.maxQueued)', registers }),
    queued: new Gauge({ name: 'sovereign_store_queue_records', help: 'Records waiting to be written', registers }),
    up: new Gauge({ name: 'sovereign_store_up', help: '1 when the last store write succeeded, 0 when it failed', registers }),
    sweeps: new Counter({ name: 'sovereign_store_sweeps_total', help: 'Runs of the retention sweeper', registers }),
    swept: new Counter({ name: 'sovereign_store_swept_records_total', help: 'Records removed by the sweeper, by reason (expired, erased)', labelNames: ['reason'], registers }),
    lastSweep: new Gauge({ name: 'sovereign_store_last_sweep_timestamp_seconds', help: 'End of the last successful sweep (Unix time)', registers }),
    erasures: new Counter({ name: 'sovereign_store_erasures_total', help: 'Erasures that destroyed at least one data key', registers }),
  };
}

export class RegionStore {
  readonly region: string;
  readonly #o: RegionStoreOptions;
  readonly #b: StoreBackend;
  readonly #m: ReturnType<typeof metricsOf>;
  readonly #now: () => number;
  #queue: Queued[] = [];
  /** Records taken from the queue by the write in progress. */
  #writing = 0;
  readonly #keys = new Map<string, CachedKey>();
  /** Flushes, erasures, exports and sweeps run one at a time, in order. */
  #chain: Promise<unknown> = Promise.resolve();
  #flushTimer: NodeJS.Timeout | null = null;
  #sweepTimer: NodeJS.Timeout;
  #written = 0;
  #failed = 0;
  #dropped = 0;
  #lastError: { message: string; at: number } | null = null;
  #lastSweep: number | null = null;
  #closed = false;

  private constructor(o: RegionStoreOptions) {
    this.region = o.region;
    this.#o = o;
    this.#b = o.backend;
    this.#m = metricsOf(o.registry);
    this.#m.up.set(1);
    this.#now = o.now ?? Date.now;
    this.#sweepTimer = setInterval(() => void this.sweep().catch(() => undefined), o.sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /**
   * Opens the region's store. Refuses a key-encryption key other than the one the store's data
   * was sealed with: a cell with the wrong key must not serve (nothing it stores could be read).
   */
  static async open(o: RegionStoreOptions): Promise<RegionStore> {
    const mine = kekCheck(o.kek.key);
    const inForce = await o.backend.initMeta('kek_check', mine);
    if (inForce !== mine) {
      throw new Error(
        `region ${o.region}: the store key-encryption key from ${o.kek.source} is not the key this region's store was sealed with ` +
          `(key check ${mine.slice(0, 8)}, store expects ${inForce.slice(0, 8)}); give the region its original key (store.kekEnv, store.kekFile or keys/store-kek.key). The cell does not start with a wrong key.`,
      );
    }
    return new RegionStore(o);
  }

  /** Queues a served request (the hot path: no I/O). Retention 0: nothing is kept. */
  record(r: ServedRecord): void {
    if (this.#closed) return;
    if (r.retentionDays <= 0) {
      this.#m.notStored.inc();
      return;
    }
    if (this.#queue.length >= this.#o.maxQueued) {
      this.#dropped++;
      this.#m.dropped.inc();
      return;
    }
    this.#queue.push({ r });
    this.#m.queued.set(this.#queue.length);
    if (this.#flushTimer === null) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = null;
        void this.flush().catch(() => undefined);
      }, this.#lastError ? Math.max(this.#o.flushIntervalMs, 1000) : this.#o.flushIntervalMs);
      this.#flushTimer.unref();
    }
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn, fn);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  /** Writes everything queued; rejects (after counting and logging) if a write fails. */
  flush(): Promise<void> {
    return this.#run(() => this.#flushNow());
  }

  async #flushNow(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      this.#writing = batch.length;
      try {
        await this.#write(batch);
      } catch (err) {
        this.#writing = 0;
        // Back at the head of the queue, in order; the newest beyond the bound are dropped.
        this.#queue.unshift(...batch);
        const over = this.#queue.length - this.#o.maxQueued;
        if (over > 0) {
          this.#queue.splice(this.#o.maxQueued, over);
          this.#dropped += over;
          this.#m.dropped.inc(over);
        }
        this.#m.queued.set(this.#queue.length);
        this.#failed++;
        this.#m.failures.inc();
        this.#m.up.set(0);
        const first = this.#lastError === null;
        this.#lastError = { message: (err as Error).message, at: this.#now() };
        if (first || this.#failed % 100 === 0) this.#o.logger.error({ err: (err as Error).message, queued: this.#queue.length, failed_writes: this.#failed }, 'store write failed; the records stay queued and inference goes on');
        if (!this.#closed && this.#flushTimer === null) {
          this.#flushTimer = setTimeout(() => {
            this.#flushTimer = null;
            void this.flush().catch(() => undefined);
          }, 1000);
          this.#flushTimer.unref();
        }
        throw err;
      }
      this.#writing = 0;
      this.#written += batch.length;
      this.#m.written.inc(batch.length);
      this.#m.queued.set(this.#queue.length);
      if (this.#lastError !== null) {
        this.#o.logger.warn({ after_failures: this.#failed }, 'store writes succeed again');
        this.#lastError = null;
        this.#m.up.set(1);
      }
    }
  }

  async #keyFor(tenant: string, subjectHash: string, fresh: WrappedKey[]): Promise<CachedKey> {
    const id = `${tenant}\n${subjectHash}`;
    const hit = this.#keys.get(id);
    if (hit) {
      // Most recently used goes last.
      this.#keys.delete(id);
      this.#keys.set(id, hit);
      return hit;
    }
    const stored = await this.#b.getKey(tenant, subjectHash);
    let k: CachedKey;
    if (stored) {
      k = { keyId: stored.keyId, key: createSecretKey(unwrapKey(this.#o.kek.key, stored.wrapped, tenant, subjectHash, stored.keyId)) };
    } else {
      const raw = newDataKey();
      k = { keyId: randomBytes(16).toString('hex'), key: createSecretKey(raw) };
      fresh.push({ tenant, subjectHash, keyId: k.keyId, wrapped: wrapKey(this.#o.kek.key, raw, tenant, subjectHash, k.keyId), created: this.#now() });
    }
    this.#keys.set(id, k);
    if (this.#keys.size > KEY_CACHE) this.#keys.delete(this.#keys.keys().next().value as string);
    return k;
  }

  async #write(batch: Queued[]): Promise<void> {
    const fresh: WrappedKey[] = [];
    const sealed: SealedRecord[] = [];
    // A batch's records mostly share a few subjects: one keyed hash (HMAC) per subject per
    // batch, and nothing kept about a subject once the batch is written.
    const hashes = new Map<string, string>();
    try {
      for (const q of batch) {
        const { r } = q;
        if (q.hash === undefined) {
          let h = hashes.get(r.subject);
          if (h === undefined) hashes.set(r.subject, (h = this.#o.subjectHash(r.subject)));
          q.hash = h;
        }
        const k = await this.#keyFor(r.tenant, q.hash, fresh);
        const id = newRecordId();
        const plaintext = Buffer.from(JSON.stringify({ input: r.input, output: r.output }), 'utf8');
        sealed.push({
          id,
          tenant: r.tenant,
          subjectHash: q.hash,
          keyId: k.keyId,
          decisionId: r.decisionId,
          dataClass: r.dataClass,
          receipt: r.receipt,
          model: r.model,
          modelVersion: r.modelVersion,
          path: r.path,
          status: r.status,
          time: r.time,
          expiresAt: r.time + r.retentionDays * DAY_MS,
          sealed: sealRecord(k.key, plaintext, id, r.tenant, q.hash),
        });
      }
      await this.#b.write(fresh, sealed);
    } catch (err) {
      // Keys that were never stored must not be used again.
      for (const f of fresh) this.#keys.delete(`${f.tenant}\n${f.subjectHash}`);
      if (err instanceof KeyExistsError) return this.#write(batch);
      throw err;
    }
  }

  /** Everything held about `subject` (under `tenant`, or every tenant), decrypted. */
  export(subject: string, tenant: string | null): Promise<{ records: ExportedRecord[]; unreadable: number }> {
    return this.#run(async () => {
      await this.#flushNow().catch(() => undefined);
      const hash = this.#o.subjectHash(subject);
      const keys = new Map<string, KeyObject>();
      for (const k of await this.#b.keysOf(hash, tenant)) keys.set(k.keyId, createSecretKey(unwrapKey(this.#o.kek.key, k.wrapped, k.tenant, hash, k.keyId)));
      const records: ExportedRecord[] = [];
      let unreadable = 0;
      for (const s of await this.#b.recordsOf(hash, tenant)) {
        const key = keys.get(s.keyId);
        if (!key) {
          unreadable++; // erased: its key is destroyed, the sweeper removes it
          continue;
        }
        const content = JSON.parse(openRecord(key, s.sealed, s.id, s.tenant, hash).toString('utf8')) as { input: string; output: string };
        const [origin, index] = s.receipt ? [s.receipt.slice(0, s.receipt.lastIndexOf(' ')), Number(s.receipt.slice(s.receipt.lastIndexOf(' ') + 1))] : [];
        records.push({
          id: s.id,
          region: this.region,
          tenant: s.tenant,
          decision_id: s.decisionId,
          data_class: s.dataClass,
          time: new Date(s.time).toISOString(),
          expires: new Date(s.expiresAt).toISOString(),
          model: s.model,
          model_version: s.modelVersion,
          path: s.path,
          status: s.status,
          ledger: origin !== undefined && Number.isSafeInteger(index) ? { origin, index: index as number } : null,
          input: parseOrText(content.input),
          output: parseOrText(content.output),
        });
      }
      return { records, unreadable };
    });
  }

  /**
   * Crypto-shreds `subject` (under `tenant`, or every tenant): records the erasure in the
   * region's ledger, then destroys the data keys. Idempotent: with nothing left to destroy it
   * changes nothing and records nothing.
   */
  erase(subject: string, tenant: string | null, requested: string): Promise<ErasureResult> {
    return this.#run(async () => {
      await this.#flushNow().catch(() => undefined);
      const hash = this.#o.subjectHash(subject);
      // Whatever could not be written yet is dropped, never written after the keys are gone.
      const before = this.#queue.length;
      this.#queue = this.#queue.filter((q) => (q.hash ?? this.#o.subjectHash(q.r.subject)) !== hash || (tenant !== null && q.r.tenant !== tenant));
      const unwritten = before - this.#queue.length;
      this.#m.queued.set(this.#queue.length);
      for (const id of [...this.#keys.keys()]) {
        const [t, h] = id.split('\n');
        if (h === hash && (tenant === null || t === tenant)) this.#keys.delete(id);
      }
      const keys = (await this.#b.keysOf(hash, tenant)).length;
      if (keys === 0 && unwritten === 0) return { region: this.region, subject_hash: hash, keys: 0, records: 0, ledger: null };
      const records = (await this.#b.countRecords(hash, tenant)) + unwritten;
      const ledger = await this.#o.appendLedger({ v: 1, kind: 'erasure', time: new Date(this.#now()).toISOString(), region: this.region, tenant, subject_hash: hash, keys, records, requested });
      const destroyed = await this.#b.destroyKeys(hash, tenant);
      this.#m.erasures.inc();
      this.#o.logger.warn({ subject_hash: hash, tenant, keys: destroyed, records, ledger }, 'subject erased (data keys destroyed)');
      // Remove the now unreadable records soon rather than at the next scheduled sweep.
      setTimeout(() => void this.sweep().catch(() => undefined), 1000).unref();
      return { region: this.region, subject_hash: hash, keys: destroyed, records, ledger };
    });
  }

  /** Removes expired records and records of erased subjects. */
  sweep(): Promise<SweepResult> {
    return this.#run(async () => {
      const res = await this.#b.sweep(this.#now());
      this.#m.sweeps.inc();
      this.#m.swept.inc({ reason: 'expired' }, res.expired);
      this.#m.swept.inc({ reason: 'erased' }, res.shredded);
      this.#lastSweep = this.#now();
      this.#m.lastSweep.set(this.#lastSweep / 1000);
      if (res.expired + res.shredded > 0) this.#o.logger.info({ expired: res.expired, erased: res.shredded }, 'store sweep removed records');
      return res;
    });
  }

  status(): StoreStatus {
    return {
      region: this.region,
      backend: this.#b.kind,
      ok: this.#lastError === null,
      queued: this.#queue.length + this.#writing,
      written: this.#written,
      failed_writes: this.#failed,
      dropped: this.#dropped,
      last_error: this.#lastError?.message ?? null,
      last_error_at: this.#lastError ? new Date(this.#lastError.at).toISOString() : null,
      last_sweep_at: this.#lastSweep !== null ? new Date(this.#lastSweep).toISOString() : null,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    await this.flush().catch((err: unknown) => this.#o.logger.error({ err: (err as Error).message, lost: this.#queue.length }, 'store records not written at close'));
    await this.#b.close();
  }
}

function parseOrText(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}


