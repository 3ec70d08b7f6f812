// The figures of a compliance report, computed from ledger entries alone. Generation and
// verification both call `computeRegion`, so a verifier recomputes exactly what was reported.
//
// Which entries a period covers: those whose recorded time is in [from, to). Entry times are
// not monotone in index order (a gateway replica's outbox replays entries a region could not
// take at the time, with their original times; replicas append concurrently), so a binary
// search over timestamps could miss entries: the log is scanned in full instead, and each
// figure names the lowest and highest index it counts.
import type { LedgerEntry } from '../ledger/index.ts';

export type Section = 'requests' | 'transfers_out' | 'transfers_in' | 'denials' | 'unavailable' | 'failovers' | 'models' | 'triggers';

/** Lowest and highest log index an item counts (inclusive). */
export interface IndexRange {
  first: number;
  last: number;
}

export interface Figure {
  /** Stable name, e.g. "requests/EU/personal"; what a failed verification names. */
  id: string;
  section: Section;
  /** The figure's dimensions, e.g. { jurisdiction: "EU", class: "personal" }. */
  dims: Record<string, string>;
  count: number;
  indexes: IndexRange;
}

export type CitedKind = 'trigger' | 'denial' | 'arrival';

/** An entry the report cites individually, with its inclusion proof (filled in by the builder). */
export interface Cited {
  kind: CitedKind;
  index: number;
  entry: LedgerEntry;
  /** c2sp.org/tlog-proof@v1 against the report's end checkpoint. */
  proof: string;
}

export interface RegionFigures {
  /** Entries of the period: how many, and their lowest and highest index (null: none). */
  entries: number;
  indexes: IndexRange | null;
  /** Entries within `indexes` whose time is outside the period (recorded late, e.g. outbox replays). */
  interleaved: number;
  figures: Figure[];
  cited: Omit<Cited, 'proof'>[];
}

export interface Period {
  /** ISO 8601, inclusive. */
  from: string;
  /** ISO 8601, exclusive. */
  to: string;
}

/** Most denials cited individually (each carries an inclusion proof); the count covers them all. */
export const MAX_CITED_DENIALS = 500;

const joinJ = (e: { jurisdictions: readonly { jurisdiction: string }[] }): string => [...new Set(e.jurisdictions.map((j) => j.jurisdiction))].sort().join('+') || 'none';

export function computeRegion(region: string, entries: readonly { index: number; entry: LedgerEntry }[], period: Period): RegionFigures {
  const from = Date.parse(period.from);
  const to = Date.parse(period.to);
  const figures = new Map<string, Figure>();
  const count = (section: Section, dims: Record<string, string>, index: number): void => {
    const id = [section, ...Object.values(dims)].join('/');
    const f = figures.get(id);
    if (f === undefined) figures.set(id, { id, section, dims, count: 1, indexes: { first: index, last: index } });
    else {
      f.count++;
      f.indexes.first = Math.min(f.indexes.first, index);
      f.indexes.last = Math.max(f.indexes.last, index);
    }
  };
  const cited: Omit<Cited, 'proof'>[] = [];
  let denialsCited = 0;
  let n = 0;
  let first = -1;
  let last = -1;
  const servedDigests = new Set<string>();
  for (const { index, entry } of entries) {
    const t = Date.parse(entry.time);
    if (!(t >= from && t < to)) continue;
    n++;
    if (first < 0) first = index;
    last = index;
    switch (entry.kind) {
      case 'decision': {
        const j = joinJ(entry);
        const processedHere = entry.region === region && (entry.outcome === 'routed' || entry.outcome === 'failed_over');
        if (processedHere) {
          count('requests', { jurisdiction: j, class: entry.data_class }, index);
          count('models', { model: entry.model, digest: entry.model_digest ?? 'unrecorded' }, index);
          if (entry.model_digest !== null) servedDigests.add(entry.model_digest);
          for (const s of entry.jurisdictions) if (s.mechanism !== undefined) count('transfers_in', { jurisdiction: s.jurisdiction, mechanism: s.mechanism }, index);
        }
        if (entry.outcome === 'failed_over' && processedHere) {
          const failed = [...new Set(entry.attempts.filter((a) => a.outcome !== 'ok' && a.outcome !== 'skipped').map((a) => a.region))].join('+') || 'none';
          count('failovers', { from: failed, to: region }, index);
        }
        if (entry.outcome === 'transfer') {
          const withMechanism = entry.jurisdictions.filter((s) => s.mechanism !== undefined);
          if (withMechanism.length === 0) for (const s of entry.jurisdictions) count('transfers_out', { jurisdiction: s.jurisdiction, destination: entry.region ?? 'none', mechanism: 'unrecorded' }, index);
          for (const s of withMechanism) count('transfers_out', { jurisdiction: s.jurisdiction, destination: entry.region ?? 'none', mechanism: s.mechanism as string }, index);
        }
        if (entry.outcome === 'denied') {
          for (const p of entry.policy_ids.length > 0 ? entry.policy_ids : ['(no permit: default deny)']) count('denials', { policy: p }, index);
          if (denialsCited++ < MAX_CITED_DENIALS) cited.push({ kind: 'denial', index, entry });
        }
        if (entry.outcome === 'unavailable') count('unavailable', { jurisdiction: j, class: entry.data_class }, index);
        break;
      }
      case 'trigger':
        count('triggers', { action: entry.action, region: entry.region }, index);
        cited.push({ kind: 'trigger', index, entry });
        break;
      case 'model':
        // Arrivals only: golden's region also records transfers out, and regions deletions.
        if (entry.event === 'arrival') cited.push({ kind: 'arrival', index, entry });
        break;
    }
  }
  // Arrivals of the versions served in the period, from before it (the log from index 0).
  const citedArrivals = new Set(cited.filter((c) => c.kind === 'arrival').map((c) => c.index));
  for (const { index, entry } of entries) {
    if (first >= 0 && index >= first) break;
    if (entry.kind === 'model' && entry.event === 'arrival' && servedDigests.has(entry.digest) && !citedArrivals.has(index)) cited.push({ kind: 'arrival', index, entry });
  }
  cited.sort((a, b) => a.index - b.index);
  // Every entry of the period lies in [first, last]; the others there were recorded late.
  const interleaved = first < 0 ? 0 : last - first + 1 - n;
  const sorted = [...figures.values()].sort((a, b) => (a.section === b.section ? a.id.localeCompare(b.id) : SECTIONS.indexOf(a.section) - SECTIONS.indexOf(b.section)));
  return { entries: n, indexes: first < 0 ? null : { first, last }, interleaved, figures: sorted, cited };
}

/** The entries a report needs of a log: those of the period, and model arrivals (cited for the versions served). */
export function relevantTo(period: Period): (e: LedgerEntry) => boolean {
  const from = Date.parse(period.from);
  const to = Date.parse(period.to);
  return (e) => {
    const t = Date.parse(e.time);
    return (t >= from && t < to) || e.kind === 'model';
  };
}

export const SECTIONS: readonly Section[] = ['requests', 'transfers_out', 'transfers_in', 'denials', 'unavailable', 'failovers', 'models', 'triggers'];
