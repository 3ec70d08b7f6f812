// The storage a region's store sits on: one interface, two implementations (an embedded file
// database, PostgreSQL). Everything reaching a backend is already sealed or hashed.
import type { SealedRecord, WrappedKey } from './records.ts';

/** A row as a driver returns it (both backends use the same column names). */
export type Row = Record<string, unknown>;

export function rowToRecord(r: Row): SealedRecord {
  return {
    id: r.id as string,
    tenant: r.tenant as string,
    subjectHash: r.subject_hash as string,
    keyId: r.key_id as string,
    decisionId: r.decision_id as string,
    dataClass: r.data_class as string,
    receipt: (r.receipt as string | null) ?? null,
    model: r.model as string,
    modelVersion: (r.model_version as string | null) ?? null,
    path: r.path as string,
    status: Number(r.status),
    time: Number(r.time),
    expiresAt: Number(r.expires_at),
    sealed: Buffer.from(r.sealed as Uint8Array),
  };
}

export function rowToKey(r: Row): WrappedKey {
  return { tenant: r.tenant as string, subjectHash: r.subject_hash as string, keyId: r.key_id as string, wrapped: Buffer.from(r.wrapped as Uint8Array), created: Number(r.created) };
}

export interface SweepResult {
  /** Records past their retention. */
  expired: number;
  /** Records whose data key was destroyed (erased subjects): unreadable, now removed. */
  shredded: number;
}

export interface StoreBackend {
  readonly kind: 'sqlite' | 'postgres';
  /** A value of the store's own metadata (the key-encryption key's check value). */
  getMeta(name: string): Promise<string | null>;
  /** Sets a metadata value unless it is set; returns the value in force. */
  initMeta(name: string, value: string): Promise<string>;
  getKey(tenant: string, subjectHash: string): Promise<WrappedKey | null>;
  /**
   * One transaction: inserts the new keys (never replacing one) and the records. Either all of
   * it is stored or none of it; a key that already exists makes the whole write fail (KEY_EXISTS).
   */
  write(keys: readonly WrappedKey[], records: readonly SealedRecord[]): Promise<void>;
  /** The subject's keys (under one tenant, or every tenant when `tenant` is null). */
  keysOf(subjectHash: string, tenant: string | null): Promise<WrappedKey[]>;
  recordsOf(subjectHash: string, tenant: string | null): Promise<SealedRecord[]>;
  countRecords(subjectHash: string, tenant: string | null): Promise<number>;
  /** Destroys the subject's data keys (remembering their ids for the sweeper); returns how many. */
  destroyKeys(subjectHash: string, tenant: string | null): Promise<number>;
  /** Removes records past `now` (epoch ms) and records sealed under a destroyed key. */
  sweep(now: number): Promise<SweepResult>;
  /** Number of records stored. */
  count(): Promise<number>;
  close(): Promise<void>;
}

/** A new key collided with one written meanwhile (another writer): re-read and seal again. */
export class KeyExistsError extends Error {
  constructor(tenant: string, subjectHash: string) {
    super(`a data key for tenant ${tenant} and subject ${subjectHash.slice(0, 12)}… already exists`);
    this.name = 'KeyExistsError';
  }
}
