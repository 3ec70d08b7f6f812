// Verifies a compliance report as an auditor would, with the log keys obtained out of band:
// every checkpoint signature and witness quorum, the consistency proof between the period's
// start and end checkpoints (RFC 9162, Section 2.1.4.2), the served entries against the end
// checkpoint's root, every figure recomputed from those entries, and every cited entry's
// inclusion proof (C2SP tlog-proof). Problems are collected, each naming what no longer matches.
import { isDeepStrictEqual } from 'node:util';
import { openCheckpoint, parseVkey, rangeHash, verifiedCosigners, verifyConsistency, verifyProof, type Checkpoint } from '../ledger/index.ts';
import { computeRegion, relevantTo, type Figure } from './figures.ts';
import { logSource, readLog } from './log-source.ts';
import type { RegionReport, Report } from './model.ts';

export interface VerifyReportOptions {
  /** Log verifier keys (vkeys), matched to each region by origin. */
  keys: readonly string[];
  witnesses?: readonly string[];
  /** Required witness cosignatures on the end checkpoint (default: 1 with witnesses, else 0). */
  quorum?: number;
  /** Read the logs from this gateway instead of the one the report names. */
  gateway?: string;
  onProgress?: (region: string, done: number, total: number) => void;
}

export interface ReportVerification {
  ok: boolean;
  /** What was checked, one line each (for the auditor's record). */
  checked: string[];
  /** What failed, one line each, naming the region and figure or proof. */
  problems: string[];
}

const describe = (f: Figure | undefined): string => (f === undefined ? 'absent' : `${f.count} (indexes ${f.indexes.first}..${f.indexes.last})`);

export async function verifyReport(report: Report, opts: VerifyReportOptions): Promise<ReportVerification> {
  const checked: string[] = [];
  const problems: string[] = [];
  const witnesses = opts.witnesses ?? [];
  const quorum = opts.quorum ?? (witnesses.length > 0 ? 1 : 0);
  for (const r of report.regions) {
    const p = (msg: string): void => void problems.push(`${r.region}: ${msg}`);
    const key = opts.keys.find((k) => k.split('+')[0] === r.origin);
    if (key === undefined) {
      p(`no --key given for the log ${r.origin}; ask the operator for its verifier key (sovereign ledger key --region ${r.region})`);
      continue;
    }
    const logKey = parseVkey(key);
    let end: (Checkpoint & { text: string }) | null = null;
    if (r.checkpoint_end.note !== null) {
      try {
        end = openCheckpoint(r.checkpoint_end.note, logKey);
        if (end.size !== r.checkpoint_end.size) p(`end checkpoint is of size ${end.size}, the report says ${r.checkpoint_end.size}`);
        checked.push(`${r.region}: end checkpoint (size ${end.size}) signed by ${r.origin}`);
      } catch (err) {
        p(`end checkpoint does not verify with the given key: ${(err as Error).message}`);
        continue;
      }
    } else if (r.checkpoint_end.size !== 0) p('end checkpoint is missing but its size is not 0');
    const endSize = end?.size ?? 0;
    let startSize = 0;
    let startRoot: Buffer | null = null;
    if (r.checkpoint_start.note !== null) {
      try {
        const s = openCheckpoint(r.checkpoint_start.note, logKey);
        startSize = s.size;
        startRoot = s.root;
        if (s.size !== r.checkpoint_start.size) p(`start checkpoint is of size ${s.size}, the report says ${r.checkpoint_start.size}`);
        checked.push(`${r.region}: start checkpoint (size ${s.size}) signed by ${r.origin}`);
      } catch (err) {
        p(`start checkpoint does not verify with the given key: ${(err as Error).message}`);
        continue;
      }
    }
    if (r.indexes !== null && startSize > r.indexes.first) p(`the start checkpoint (size ${startSize}) is not at or before the period's first entry (index ${r.indexes.first})`);
    if (end !== null && startRoot !== null) {
      const proof = r.consistency.map((h) => Buffer.from(h, 'base64'));
      if (!verifyConsistency(startSize, endSize, proof, startRoot, end.root)) p(`the consistency proof from size ${startSize} to ${endSize} does not verify: the log was rewritten between the period's checkpoints`);
      else checked.push(`${r.region}: consistency ${startSize} -> ${endSize}`);
    }
    if (end !== null) {
      const cosigners = verifyWitnesses(r, key, witnesses, quorum);
      if (typeof cosigners === 'string') p(cosigners);
      else if (witnesses.length > 0) checked.push(`${r.region}: end checkpoint cosigned by ${cosigners.join(', ') || 'no given witness'}`);
    }

    // The entries, from the served log, against the signed end checkpoint's root.
    const src = logSource(opts.gateway ?? report.source, r.region);
    const log = await readLog(src, endSize, relevantTo(report.period), (d, t) => opts.onProgress?.(r.region, d, t));
    const sub = log.subtree;
    if (end !== null && !rangeHash(sub, 0, endSize).equals(end.root)) {
      p(`the entries served at ${src.prefix} do not hash to the end checkpoint's root: the served log is not the log the report was made from`);
      continue;
    }
    if (startRoot !== null && !rangeHash(sub, 0, startSize).equals(startRoot)) p(`the served entries do not hash to the start checkpoint's root`);
    checked.push(`${r.region}: ${endSize} entries fetched from ${src.prefix} hash to the end checkpoint's root`);

    // Every figure, recomputed.
    const again = computeRegion(r.region, log.entries, report.period);
    if (again.entries !== r.entries) p(`figure "entries in the period": the report says ${r.entries}, the log gives ${again.entries}`);
    if (!isDeepStrictEqual(again.indexes, r.indexes)) p(`figure "index range of the period": the report says ${JSON.stringify(r.indexes)}, the log gives ${JSON.stringify(again.indexes)}`);
    if (again.interleaved !== r.interleaved) p(`figure "interleaved entries": the report says ${r.interleaved}, the log gives ${again.interleaved}`);
    const mine = new Map(again.figures.map((f) => [f.id, f]));
    const theirs = new Map(r.figures.map((f) => [f.id, f]));
    for (const id of new Set([...mine.keys(), ...theirs.keys()])) {
      const a = mine.get(id);
      const b = theirs.get(id);
      if (!isDeepStrictEqual(a, b)) p(`figure "${id}": the report says ${describe(b)}, the log gives ${describe(a)}`);
    }
    checked.push(`${r.region}: ${again.figures.length} figures recomputed from entries`);

    // Every cited entry: the same entries as the log's, each with an inclusion proof that verifies.
    const want = again.cited.map((c) => `${c.kind}@${c.index}`).join(',');
    const got = r.cited.map((c) => `${c.kind}@${c.index}`).join(',');
    if (want !== got) p(`cited entries: the report cites [${got}], the log gives [${want}]`);
    for (const c of r.cited) {
      const fetched = log.byIndex.get(c.index);
      if (fetched === undefined) {
        p(`cited ${c.kind} entry ${c.index} is beyond the end checkpoint`);
        continue;
      }
      if (!isDeepStrictEqual(c.entry, fetched.entry)) p(`cited ${c.kind} entry ${c.index}: the report's copy differs from the log's entry`);
      try {
        const v = verifyProof(c.proof, { log: key, witnesses, quorum }, fetched.bytes);
        if (v.index !== c.index || v.size !== endSize || (end !== null && !v.root.equals(end.root))) p(`cited ${c.kind} entry ${c.index}: its proof is for index ${v.index} in another tree (size ${v.size}) than the end checkpoint's`);
      } catch (err) {
        p(`cited ${c.kind} entry ${c.index}: ${(err as Error).message}`);
      }
    }
    if (r.cited.length > 0) checked.push(`${r.region}: ${r.cited.length} inclusion proofs of cited entries`);
  }
  return { ok: problems.length === 0, checked, problems };
}

/** The witness names whose cosignatures on the end checkpoint verify, or the failure in words. */
function verifyWitnesses(r: RegionReport, key: string, witnesses: readonly string[], quorum: number): string[] | string {
  if (r.checkpoint_end.note === null) return [];
  let names: string[];
  try {
    const cp = openCheckpoint(r.checkpoint_end.note, parseVkey(key));
    names = verifiedCosigners(r.checkpoint_end.note, cp.text, witnesses.map(parseVkey));
  } catch (err) {
    return `end checkpoint: ${(err as Error).message}`;
  }
  if (names.length < quorum) return `end checkpoint has ${names.length} of ${quorum} required witness cosignatures`;
  return names;
}
