// Parses a report period from the command line: dates (YYYY-MM-DD, midnight UTC) or ISO 8601
// date-times; `from` is inclusive, `to` exclusive.
import { ReportError } from './errors.ts';
import type { Period } from './figures.ts';

function instant(value: string, flag: string): Date {
  const v = value.trim();
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v;
  const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(iso);
  const d = new Date(iso);
  if (!ok || Number.isNaN(d.getTime())) {
    throw new ReportError('SOVEREIGN_REPORT_BAD_INPUT', `${flag} "${value}" is not a date: give YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time such as 2026-12-01T09:30:00Z`);
  }
  return d;
}

export function parsePeriod(from: string, to: string): Period {
  const f = instant(from, '--from');
  const t = instant(to, '--to');
  if (t.getTime() <= f.getTime()) throw new ReportError('SOVEREIGN_REPORT_BAD_INPUT', `--to ${to} is not after --from ${from}: the period is [from, to)`);
  return { from: f.toISOString(), to: t.toISOString() };
}
