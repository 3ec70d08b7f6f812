// Builds a compliance report from the served logs: for each region, the figures of the period
// (figures.ts), the signed checkpoints at its start and end with a consistency proof between
// them, and an inclusion proof for every entry cited individually.
import {
  consistencyProof,
  formatTlogProof,
  inclusionProof,
  openCheckpoint,
  parseVkey,
  rangeHash,
  verifiedCosigners,
} from '../ledger/index.ts';
import { ReportError } from './errors.ts';
import { computeRegion, relevantTo, type Period } from './figures.ts';
import { logSource, readLog, type LogSource } from './log-source.ts';
import { REPORT_FORMAT, type RegionReport, type Report } from './model.ts';

export interface BuildOptions {
  /** Gateway base URL (its public /sovereign/ledger/<region>/ paths are read). */
  gateway: string;
  regions: readonly string[];
  /** Every region of the deployment: their witnesses' keys name who cosigned (default: `regions`). */
  peers?: readonly string[];
  period: Period;
  onProgress?: (region: string, done: number, total: number) => void;
}

interface Keys {
  log: string;
  witness: string;
  origin: string;
}

async function keysOf(src: LogSource): Promise<Keys> {
  const body = await src.get('key');
  if (body === null) throw new ReportError('SOVEREIGN_REPORT_UNREACHABLE', `the gateway does not serve the key of ${src.region}'s log at ${src.prefix}/key`);
  return JSON.parse(body.toString('utf8')) as Keys;
}

export async function buildReport(opts: BuildOptions): Promise<Report> {
  const regions: RegionReport[] = [];
  const keys = new Map<string, Keys>();
  for (const region of opts.regions) keys.set(region, await keysOf(logSource(opts.gateway, region)));
  const witnessKeys: string[] = [...keys.values()].map((k) => k.witness);
  for (const peer of opts.peers ?? []) {
    if (keys.has(peer)) continue;
    // A peer that cannot be reached now only leaves its name out of `cosigned_by`.
    const k = await keysOf(logSource(opts.gateway, peer)).catch(() => null);
    if (k !== null) witnessKeys.push(k.witness);
  }
  for (const region of opts.regions) {
    const src = logSource(opts.gateway, region);
    const k = keys.get(region) as Keys;
    const logKey = parseVkey(k.log);
    const endBuf = await src.get('checkpoint');
    const endNote = endBuf?.toString('utf8') ?? null;
    const end = endNote === null ? null : openCheckpoint(endNote, logKey);
    const size = end?.size ?? 0;
    const log = await readLog(src, size, relevantTo(opts.period), (d, t) => opts.onProgress?.(region, d, t));
    const sub = log.subtree;
    const rootAt = (n: number): Buffer => rangeHash(sub, 0, n);
    if (end !== null && !rootAt(size).equals(end.root)) {
      throw new ReportError('SOVEREIGN_REPORT_LOG_DAMAGED', `the entries ${src.prefix} serves do not hash to its signed checkpoint of size ${size}; run \`sovereign ledger verify --region ${region}\``);
    }
    const figs = computeRegion(region, log.entries, opts.period);

    // The checkpoint in force when the period began: the latest archived one at or below the
    // period's first index (without entries in the period: at or below the end).
    const startAt = figs.indexes?.first ?? size;
    const startBuf = await src.get(`checkpoint-at/${startAt}`);
    let start: { size: number; note: string | null } = { size: 0, note: null };
    if (startBuf !== null) {
      const note = startBuf.toString('utf8');
      const cp = openCheckpoint(note, logKey);
      if (cp.size <= size && rangeHash(sub, 0, cp.size).equals(cp.root)) start = { size: cp.size, note };
      else throw new ReportError('SOVEREIGN_REPORT_LOG_DAMAGED', `the archived checkpoint of size ${cp.size} of ${region} is not a prefix of its log`);
    }
    const witnesses = witnessKeys.filter((w) => w !== k.witness).map(parseVkey);
    regions.push({
      region,
      origin: k.origin,
      served_key: k.log,
      checkpoint_start: start,
      checkpoint_end: { size, note: endNote },
      cosigned_by: end === null || endNote === null ? [] : verifiedCosigners(endNote, end.text, witnesses),
      consistency: consistencyProof(sub, start.size, size).map((h) => h.toString('base64')),
      entries: figs.entries,
      indexes: figs.indexes,
      interleaved: figs.interleaved,
      figures: figs.figures,
      cited: figs.cited.map((c) => ({
        ...c,
        proof: formatTlogProof({ index: c.index, proof: inclusionProof(sub, c.index, size), checkpoint: endNote as string, extra: (log.byIndex.get(c.index) as { bytes: Buffer }).bytes }),
      })),
    });
  }
  return { format: REPORT_FORMAT, generated_at: new Date().toISOString(), period: opts.period, source: opts.gateway, regions };
}
