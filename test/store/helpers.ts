// Shared fixtures for store tests: a region store over either backend, with a test KEK, a
// subject hasher and a ledger that only collects entries.
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { PgBackend, RegionStore, SqliteBackend, type ServedRecord, type StoreBackend } from '../../src/store/index.ts';
import { PG_URL } from '../helpers/postgres.ts';

export { PG_URL, pgUnreachable } from '../helpers/postgres.ts';

export async function pgQuery(sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A schema name no other run uses (others share the server). */
export function uniqueSchema(): string {
  return `st_${process.pid}_${randomBytes(4).toString('hex')}_eu`;
}

export interface TestStore {
  store: RegionStore;
  backend: StoreBackend;
  dir: string;
  schema: string | null;
  entries: Record<string, unknown>[];
  registry: Registry;
  kek: KeyObject;
  /** The store's keyed hash of a subject id. */
  hash(subject: string): string;
  /** Moves the store's clock. */
  clock: { now: number };
  reopen(kek?: KeyObject): Promise<TestStore>;
  cleanup(): Promise<void>;
}

export async function openTestStore(kind: 'sqlite' | 'postgres', o: { kek?: KeyObject; dir?: string; schema?: string; secret?: Buffer } = {}): Promise<TestStore> {
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), 'store-'));
  const schema = kind === 'postgres' ? (o.schema ?? uniqueSchema()) : null;
  const backend: StoreBackend = kind === 'sqlite' ? new SqliteBackend(dir) : await PgBackend.open({ connectionString: PG_URL, schema: schema as string }, () => undefined);
  const kek = o.kek ?? createSecretKey(randomBytes(32));
  const secretBytes = o.secret ?? randomBytes(32);
  const secret = createSecretKey(secretBytes);
  const entries: Record<string, unknown>[] = [];
  const registry = new Registry();
  const clock = { now: Date.now() };
  const hash = (subj: string): string => createHmac('sha256', secret).update(`sovereign-store/subject/v1\n${subj}`).digest('hex');
  let store: RegionStore;
  try {
    store = await RegionStore.open({
      region: 'eu-test',
      backend,
      kek: { key: kek, source: 'the test' },
      subjectHash: hash,
      appendLedger: async (e) => {
        entries.push(e);
        return `test/ledger ${entries.length - 1}`;
      },
      logger: pino({ level: 'silent' }),
      registry,
      flushIntervalMs: 5,
      sweepIntervalMs: 3_600_000,
      maxQueued: 1000,
      now: () => clock.now,
    });
  } catch (err) {
    await backend.close();
    throw err;
  }
  const t: TestStore = {
    store,
    backend,
    dir,
    schema,
    entries,
    registry,
    kek,
    hash,
    clock,
    reopen: async (k) => {
      await store.close().catch(() => undefined);
      return openTestStore(kind, { kek: k ?? kek, dir, ...(schema ? { schema } : {}), secret: secretBytes });
    },
    cleanup: async () => {
      await store.close().catch(() => undefined);
      if (schema) await pgQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
  return t;
}

export function served(subject: string, content: string, o: Partial<ServedRecord> = {}): ServedRecord {
  return {
    tenant: 'acme',
    subject,
    decisionId: `d-${randomBytes(6).toString('hex')}`,
    dataClass: 'personal',
    receipt: 'sovereign.example/ledger/eu-test 7',
    model: 'text-analysis',
    modelVersion: 'text-analysis@1 sha256:00',
    path: '/v1/chat/completions',
    status: 200,
    time: Date.now(),
    retentionDays: 30,
    input: JSON.stringify({ messages: [{ role: 'user', content }] }),
    output: JSON.stringify({ choices: [{ message: { content: `answer to ${content}` } }] }),
    ...o,
  };
}

/** Every file under `dir` (recursively) whose bytes contain `marker`. */
export function filesContaining(dir: string, marker: string | Buffer): string[] {
  const hits: string[] = [];
  const needle = typeof marker === 'string' ? Buffer.from(marker, 'utf8') : marker;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}
