// Ledger heads as the console and the metrics see them: each region's latest checkpoint (read
// through the gateway's own public ledger route, so it takes the same path as any client),
// which witnesses cosigned it, and the witness lag: entries and seconds not yet covered by a
// checkpoint with a quorum of witness cosignatures (C2SP tlog-witness).
import type { FastifyInstance } from 'fastify';
import type { Topology } from '../config/index.ts';
import { parseCheckpoint, parseNote, parseVkey, verifiedCosigners } from '../ledger/index.ts';

export interface LedgerHead {
  region: string;
  size: number;
  root: string;
  cosigners: string[];
  quorum: number;
  /** The latest checkpoint has a quorum of witness cosignatures. */
  anchored: boolean;
  lagEntries: number;
  lagSeconds: number;
  error?: string;
}

interface Seen {
  keys?: { log: string; witness: string };
  anchoredSize: number;
  uncoveredSince: number | null;
  /**
   * The last checkpoint read and what its verification found. A log's checkpoint changes only
   * when it grows or gains a cosignature, and the sampler reads every region each second: the
   * same note, checked against the same witness keys, is not parsed and verified again (that
   * was a fifth of the idle gateway's CPU, bench/results/gateway-embedded-*.md).
   */
  last?: { note: string; witnesses: string; size: number; root: string; cosigners: string[] };
}

export class LedgerHeads {
  readonly #app: FastifyInstance;
  readonly #topology: () => Topology;
  readonly #seen = new Map<string, Seen>();
  #heads: LedgerHead[] = [];

  constructor(app: FastifyInstance, topology: () => Topology) {
    this.#app = app;
    this.#topology = topology;
  }

  get heads(): LedgerHead[] {
    return this.#heads;
  }

  async #get(url: string): Promise<string | null> {
    const res = await this.#app.inject({ method: 'GET', url });
    return res.statusCode === 200 ? res.body : null;
  }

  /** Reads every region's head once. */
  async poll(): Promise<LedgerHead[]> {
    const topology = this.#topology();
    const quorum = topology.data.ledger.quorum;
    for (const r of topology.regions) {
      const s = this.#seen.get(r.id) ?? { anchoredSize: 0, uncoveredSince: null };
      this.#seen.set(r.id, s);
      if (s.keys === undefined) {
        const k = await this.#get(`/sovereign/ledger/${r.id}/key`);
        if (k !== null) s.keys = JSON.parse(k) as { log: string; witness: string };
      }
    }
    const now = Date.now();
    this.#heads = await Promise.all(
      topology.regions.map(async (r): Promise<LedgerHead> => {
        const s = this.#seen.get(r.id) as Seen;
        const base = { region: r.id, size: 0, root: '', cosigners: [], quorum, anchored: false, lagEntries: 0, lagSeconds: 0 };
        const note = await this.#get(`/sovereign/ledger/${r.id}/checkpoint`);
        if (note === null) return { ...base, error: 'no checkpoint served (region down, or nothing logged yet)' };
        try {
          // Witnesses of this log: the regions of other jurisdictions.
          const witnessKeys = topology.regions
            .filter((p) => p.jurisdiction !== r.jurisdiction)
            .map((p) => this.#seen.get(p.id)?.keys?.witness)
            .filter((w): w is string => w !== undefined);
          const witnessesId = witnessKeys.join('\n');
          let last = s.last;
          if (last === undefined || last.note !== note || last.witnesses !== witnessesId) {
            const text = parseNote(note).text;
            const cp = parseCheckpoint(text);
            const cosigners = verifiedCosigners(note, text, witnessKeys.map(parseVkey));
            last = s.last = { note, witnesses: witnessesId, size: cp.size, root: cp.root.toString('base64'), cosigners };
          }
          const cp = { size: last.size };
          const cosigners = last.cosigners;
          const anchored = cosigners.length >= quorum;
          if (anchored) {
            s.anchoredSize = cp.size;
            s.uncoveredSince = null;
          } else if (cp.size > s.anchoredSize) s.uncoveredSince ??= now;
          return {
            ...base,
            size: cp.size,
            root: last.root,
            cosigners: [...cosigners],
            anchored,
            lagEntries: Math.max(0, cp.size - s.anchoredSize),
            lagSeconds: s.uncoveredSince === null ? 0 : (now - s.uncoveredSince) / 1000,
          };
        } catch (err) {
          return { ...base, error: `checkpoint unreadable: ${(err as Error).message}` };
        }
      }),
    );
    return this.#heads;
  }
}
