// A cell's ledger: the region's own transparency log (in its own data directory, signed with
// its own key), the append endpoint the gateway records decisions through, read-only serving
// of the log, receipts (tlog-proof), and this region's witness for the logs of regions in
// other jurisdictions. Only checkpoints cross borders, never entries.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'undici';
import {
  AppendBatchSchema,
  AppendRecordSchema,
  HttpError,
  badRequest,
  firstIssue,
  writeFileDurableSync,
  type AppendBatchResult,
  type AppendRecord,
  type Logger,
  type Receipt,
} from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { createWitness, openLedger, parseCheckpoint, parseNote, LedgerError, type Ledger, type PgBackendOptions, type Witness } from '../ledger/index.ts';
import { CheckpointArchive } from './checkpoint-archive.ts';
import { explainPgError, pgConnectionFromEnv, type Mesh } from '../mesh/index.ts';

/** Shortest time between two archived checkpoints. */
const ARCHIVE_INTERVAL_MS = 5000;
/** Archived checkpoints younger than this are all kept; older ones, the last of each hour. */
const ARCHIVE_KEEP_ALL_MS = 24 * 3_600_000;

interface PeerKeys {
  log: string;
  witness: string;
}

export interface LedgerService {
  ledger: Ledger;
  witness: () => Witness;
  /** Learns (and pins) the keys of the peer region whose log has this origin. */
  learnOrigin: (origin: string) => Promise<void>;
  /** The latest archived checkpoint (with its cosignatures) of size at most `size`, or null. */
  archivedCheckpoint: (size: number) => Promise<string | null>;
  close(): Promise<void>;
}

export async function openLedgerService(topology: Topology, region: string, dataDir: string, logger: Logger, mesh: Mesh): Promise<LedgerService> {
  const origin = topology.ledgerOrigin(region);
  const keyDir = path.join(dataDir, 'keys');
  const lc = topology.data.ledger;
  let backend: PgBackendOptions | undefined;
  if (lc.backend === 'postgres') {
    // TLS with this cell's SVID when the connection string or mesh.postgres asks for it.
    const c = pgConnectionFromEnv(topology, 'ledger', mesh);
    if (!c) throw new Error(`ledger.backend is postgres but ${lc.postgresUrlEnv} is not set; export the connection string in that variable`);
    backend = { kind: 'postgres', connectionString: c.connectionString, ssl: c.ssl, describeError: (err) => explainPgError(err, c) };
  }
  const ledger = await openLedger({ dir: path.join(dataDir, 'ledger'), origin, keyDir, checkpointIntervalMs: lc.checkpointIntervalMs, ...(backend ? { backend } : {}) });
  const me = topology.region(region);
  if (!me) throw new Error(`unknown region ${region}`);
  const witnessName = `witness.${topology.data.ledger.name}/${region}`;
  // Peers whose logs this region witnesses and whose witnesses cosign this log: regions of
  // other jurisdictions. Their public keys are learned over HTTP on first contact and pinned.
  const peers = topology.regions.filter((r) => r.jurisdiction !== me.jurisdiction);
  const pinFile = path.join(dataDir, 'peer-keys.json');
  const pinned: Record<string, PeerKeys> = existsSync(pinFile) ? (JSON.parse(readFileSync(pinFile, 'utf8')) as Record<string, PeerKeys>) : {};
  const pools = new Map<string, Pool>();
  const peerPool = (id: string): Pool => {
    let p = pools.get(id);
    if (!p) pools.set(id, (p = mesh.cellPool(id, { connections: 2, keepAliveTimeout: 60_000, connectTimeout: 2000 })));
    return p;
  };
  let witness = createWitness({ dir: path.join(dataDir, 'witness'), name: witnessName, keyDir, logs: Object.values(pinned).map((p) => p.log) });

  async function learn(peerId: string): Promise<PeerKeys | undefined> {
    const known = pinned[peerId];
    if (known) return known;
    const peer = topology.region(peerId);
    if (!peer) return undefined;
    try {
      // Over mTLS: the peer must present its cell's SVID, and it authorizes us as a cell of another jurisdiction.
      const res = await peerPool(peerId).request({ method: 'GET', path: `/sovereign/ledger/${peerId}/key`, signal: AbortSignal.timeout(2000) });
      if (res.statusCode !== 200) {
        await res.body.dump();
        return undefined;
      }
      const keys = (await res.body.json()) as PeerKeys;
      if (!keys.log.startsWith(`${topology.ledgerOrigin(peerId)}+`)) throw new Error(`peer ${peerId} offered a log key for another origin`);
      pinned[peerId] = keys;
      writeFileDurableSync(pinFile, JSON.stringify(pinned, null, 2));
      witness = createWitness({ dir: path.join(dataDir, 'witness'), name: witnessName, keyDir, logs: Object.values(pinned).map((p) => p.log) });
      logger.info({ peer: peerId }, 'pinned peer ledger and witness keys');
      return keys;
    } catch (err) {
      logger.debug({ peer: peerId, err: (err as Error).message }, 'peer keys not available yet');
      return undefined;
    }
  }

  // Checkpoint archive (checkpoint-archive.ts): what compliance reports start from.
  const archiveDir = path.join(dataDir, 'checkpoints');
  mkdirSync(archiveDir, { recursive: true, mode: 0o700 });
  const archive = new CheckpointArchive(archiveDir, {
    intervalMs: ARCHIVE_INTERVAL_MS,
    keepAllMs: ARCHIVE_KEEP_ALL_MS,
    onError: (err) => logger.warn({ err: err.message }, 'checkpoint archive: a thinned checkpoint could not be removed'),
  });
  async function archiveNow(): Promise<void> {
    const note = ledger.checkpoint();
    if (note === '') return;
    await archive.add(parseCheckpoint(parseNote(note).text).size, note);
  }

  // Anchoring: push each new checkpoint to the witnesses of other jurisdictions (C2SP
  // tlog-witness add-checkpoint) and attach the cosignatures they return.
  const witnessedSize = new Map<string, number>();
  let lastPushed = -1;
  let pushing = false;
  async function anchor(): Promise<void> {
    if (pushing || ledger.checkpointSize === lastPushed || ledger.checkpointSize === 0) return;
    pushing = true;
    const size = ledger.checkpointSize;
    try {
      await Promise.all(
        peers.map(async (peer) => {
          const keys = await learn(peer.id);
          if (!keys) return;
          for (let tries = 0; tries < 2; tries++) {
            const old = witnessedSize.get(peer.id) ?? 0;
            const res = await peerPool(peer.id).request({ method: 'POST', path: '/sovereign/witness/add-checkpoint', body: ledger.witnessRequest(Math.min(old, size)), signal: AbortSignal.timeout(3000) });
            const text = await res.body.text();
            if (res.statusCode === 200) {
              witnessedSize.set(peer.id, size);
              await ledger.addCosignature(text, [keys.witness]);
              return;
            }
            if (res.statusCode === 409 && /^text\/x\.tlog\.size/.test(String(res.headers['content-type']))) {
              witnessedSize.set(peer.id, Number(text.trim()));
              continue;
            }
            logger.warn({ peer: peer.id, status: res.statusCode, body: text.slice(0, 200) }, 'witness refused checkpoint');
            return;
          }
        }),
      );
      lastPushed = size;
      await archiveNow();
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'anchoring attempt failed; will retry');
    } finally {
      pushing = false;
    }
  }
  const timer = setInterval(() => void anchor(), 500);
  timer.unref();

  const prefix = `${topology.data.ledger.name}/`;
  return {
    ledger,
    witness: () => witness,
    async learnOrigin(o: string) {
      const id = o.startsWith(prefix) ? o.slice(prefix.length) : '';
      if (peers.some((p) => p.id === id)) await learn(id);
    },
    archivedCheckpoint: (size: number) => archive.atMost(size),
    async close() {
      clearInterval(timer);
      await Promise.all([...pools.values()].map((p) => p.close()));
      await ledger.close();
    },
  };
}

/**
 * Appends one record to the region's log (the group commit: appends made in one turn of the
 * event loop share one durable write) and resolves once it is durable. Refusals are HTTP
 * errors: 400 for an entry the ledger schema refuses (for good), 503 ledger_unavailable when the
 * log cannot write. The append endpoint and the record that travels with a forwarded request
 * (src/cell/server.ts) both record through this one function.
 */
export function recordAppender(region: string, ledger: Ledger, modelDigest: (model: string) => string | null): (r: AppendRecord) => Promise<Receipt> {
  return async function appendOne({ entry, body_sha256 }: AppendRecord): Promise<Receipt> {
    // Decisions get the region's keyed request hash and, when this region serves the model,
    // the digest of the model version that will process the request.
    const full =
      entry.kind === 'decision'
        ? {
            ...entry,
            request_hash: ledger.requestHash(Buffer.from(body_sha256 ?? '0'.repeat(64), 'hex')),
            model_digest: entry.region === region && typeof entry.model === 'string' ? modelDigest(entry.model) : null,
          }
        : entry;
    try {
      const { index } = await ledger.append(full);
      return { origin: ledger.origin, index };
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'SOVEREIGN_LEDGER_BAD_ENTRY') throw badRequest(err.message);
      if (err instanceof LedgerError) throw new HttpError(503, 'ledger_unavailable', `the ledger of ${region} cannot record: ${err.message}`);
      throw err;
    }
  };
}

/**
 * The cell's ledger routes. `region` is the cell's own region; it serves only its own log.
 * Who may call each route (appends: gateway identities only) is decided by identity at the
 * edge (src/mesh exposure table), before any handler runs.
 */
export function registerLedgerRoutes(app: FastifyInstance, region: string, svc: LedgerService, modelDigest: (model: string) => string | null): void {
  const { ledger } = svc;
  const appendOne = recordAppender(region, ledger, modelDigest);
  const own = (r: string): void => {
    if (r !== region) throw new HttpError(404, 'not_found_error', `this cell serves the ledger of ${region} only; ask the cell of ${r}`);
  };

  app.post('/sovereign/ledger/append', async (req) => {
    // One record ({entry, body_sha256}) or a batch ({records: [...]}); the form picks the schema,
    // so a bad body's error names the field at fault.
    const body: unknown = req.body;
    if (typeof body === 'object' && body !== null && 'records' in body) {
      const batch = AppendBatchSchema.safeParse(body);
      if (!batch.success) throw badRequest(firstIssue(batch.error, 'ledger append batch'));
      // All of the batch's appends are made in this turn, so they share one durable write.
      const settled = await Promise.allSettled(batch.data.records.map((r) => appendOne(r)));
      const answer: AppendBatchResult = {
        results: settled.map((s) =>
          s.status === 'fulfilled' ? s.value : { error: { type: (s.reason as HttpError).type ?? 'api_error', message: (s.reason as Error).message, status: (s.reason as HttpError).statusCode ?? 500 } },
        ),
      };
      return answer;
    }
    const parsed = AppendRecordSchema.safeParse(body);
    if (!parsed.success) throw badRequest(firstIssue(parsed.error, 'ledger append'));
    return appendOne(parsed.data);
  });

  app.get<{ Params: { region: string } }>('/sovereign/ledger/:region/key', async (req) => {
    own(req.params.region);
    return { log: ledger.verifierKey, witness: svc.witness().verifierKey, origin: ledger.origin };
  });

  app.get<{ Params: { region: string; index: string } }>('/sovereign/ledger/:region/proof/:index', async (req, reply) => {
    own(req.params.region);
    const index = Number(req.params.index);
    if (!Number.isSafeInteger(index) || index < 0) throw badRequest(`proof index: expected a non-negative integer, got "${req.params.index}"`);
    if (index >= ledger.checkpointSize) {
      throw new HttpError(404, 'not_yet_checkpointed', `entry ${index} is not in a signed checkpoint yet (checkpoint size ${ledger.checkpointSize}, log size ${ledger.size}); retry within a second`, {}, { 'retry-after': '1' });
    }
    return reply.type('text/plain; charset=utf-8').send(await ledger.proof(index));
  });

  app.get<{ Params: { region: string }; Querystring: { from?: string; to?: string } }>('/sovereign/ledger/:region/entries', async (req) => {
    own(req.params.region);
    const from = Number(req.query.from ?? 0);
    const to = Math.min(Number(req.query.to ?? ledger.size), ledger.size, from + 1000);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) throw badRequest('entries: expected 0 <= from <= to');
    const out: unknown[] = [];
    for (let i = from; i < to; i++) out.push({ index: i, entry: JSON.parse(ledger.entry(i).toString('utf8')) as unknown });
    return { origin: ledger.origin, size: ledger.size, entries: out };
  });

  const sizeParam = (v: string, what: string): number => {
    const n = Number(v);
    if (!/^(0|[1-9]\d*)$/.test(v) || !Number.isSafeInteger(n)) throw badRequest(`${what}: expected a non-negative integer, got "${v}"`);
    return n;
  };

  // The archived checkpoint in force at a tree size: the latest archived of size <= :size.
  app.get<{ Params: { region: string; size: string } }>('/sovereign/ledger/:region/checkpoint-at/:size', async (req, reply) => {
    own(req.params.region);
    const note = await svc.archivedCheckpoint(sizeParam(req.params.size, 'checkpoint-at size'));
    if (note === null) throw new HttpError(404, 'not_found_error', `no archived checkpoint of size at most ${req.params.size} in the ledger of ${region}`);
    return reply.type('text/plain; charset=utf-8').send(note);
  });

  app.get<{ Params: { region: string; '*': string } }>('/sovereign/ledger/:region/*', async (req, reply) => {
    own(req.params.region);
    const res = await ledger.readStatic(req.params['*']);
    if (!res) throw new HttpError(404, 'not_found_error', `no ${req.params['*']} in the ledger of ${region}`);
    return reply
      .type(res.contentType)
      .header('cache-control', res.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(res.body);
  });

  // C2SP tlog-witness: POST <prefix>/add-checkpoint, text body.
  app.post('/sovereign/witness/add-checkpoint', async (req, reply) => {
    const body = req.rawBody?.toString('utf8') ?? '';
    let res = svc.witness().addCheckpoint(body);
    if (res.status === 404) {
      // An origin we have not pinned yet: learn the peer's keys once, then try again.
      const origin = body.split('\n').find((l, i, all) => i > 0 && all[i - 1] === '') ?? '';
      await svc.learnOrigin(origin);
      res = svc.witness().addCheckpoint(body);
    }
    return reply.code(res.status).type(res.contentType).send(res.body);
  });
}
