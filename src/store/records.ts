// What a region keeps of a request it served, and for how long.
import type { Topology } from '../config/index.ts';
import { pooledRandomBytes } from './random-pool.ts';

/**
 * A new record id: a UUID version 7 (RFC 9562 §5.7), 48 bits of Unix milliseconds then 74
 * random bits. Ids made one after another sort one after another, so each write adds to the
 * end of the records' primary-key index instead of a random page of it (about a third less
 * CPU per stored record than random v4 ids); the time it shows is the record's own time,
 * which is kept in the clear beside it anyway.
 */
export function newRecordId(now = Date.now()): string {
  const b = pooledRandomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70; // version 7
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // variant 10
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export type DataClassName = 'public' | 'internal' | 'personal' | 'special';

/** What is kept in the clear about a served request (ids, classes, receipts: what the ledger holds too). */
export interface RecordMeta {
  tenant: string;
  decisionId: string;
  dataClass: string;
  /** The ledger receipt the gateway got for the decision ("<origin> <index>"), if any. */
  receipt: string | null;
  model: string;
  /** "<name>@<version> <digest>" as the x-sovereign-model-version header says. */
  modelVersion: string | null;
  path: string;
  status: number;
  /** Epoch milliseconds. */
  time: number;
}

/** A served request as the cell saw it (plaintext: lives in memory only, until sealed). */
export interface ServedRecord extends RecordMeta {
  /** The subject id as the tenant's application gave it (or the tenant); hashed before storing. */
  subject: string;
  dataClass: DataClassName;
  retentionDays: number;
  input: string;
  output: string;
}

/** A record as stored: its metadata in the clear, its content sealed. */
export interface SealedRecord extends RecordMeta {
  id: string;
  subjectHash: string;
  /** The data key it is sealed under. */
  keyId: string;
  expiresAt: number;
  /** AES-256-GCM: 12-byte nonce || ciphertext || 16-byte tag, under the (tenant, subject) data key. */
  sealed: Buffer;
}

/** A (tenant, subject) data key wrapped by the region's key-encryption key. */
export interface WrappedKey {
  tenant: string;
  subjectHash: string;
  /** Random id; records name the key they are sealed under by it. */
  keyId: string;
  wrapped: Buffer;
  created: number;
}

/** What an export returns per record. */
export interface ExportedRecord {
  id: string;
  region: string;
  tenant: string;
  decision_id: string;
  data_class: string;
  time: string;
  expires: string;
  model: string;
  model_version: string | null;
  path: string;
  status: number;
  ledger: { origin: string; index: number } | null;
  /** The receipt as c2sp.org/tlog-proof@v1 text, when asked for (export with proofs). */
  proof?: string;
  input: unknown;
  output: unknown;
}

/**
 * Days to keep a record of `tenant` with `dataClass`: the first rule of store.retention.rules that
 * matches (tenant and/or class), else store.retention.days; 0 when the store is off.
 */
export function retentionDays(topology: Topology, tenant: string | null, dataClass: string): number {
  const st = topology.data.store;
  if (!st.enabled) return 0;
  for (const r of st.retention.rules) {
    if (r.tenant !== undefined && r.tenant !== (tenant ?? 'anonymous')) continue;
    if (r.dataClass !== undefined && r.dataClass !== dataClass) continue;
    return r.days;
  }
  return st.retention.days;
}
