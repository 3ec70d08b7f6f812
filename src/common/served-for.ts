// What the gateway tells a cell about a request it forwards, in headers: the decision, the
// tenant, the data subject, the data class, the retention and the ledger receipt, so the cell
// can keep its record of the request. A cell believes them only from the gateway: its
// inference routes answer the gateway's mutual-TLS identity only (src/mesh/exposure.ts).
import type { IncomingHttpHeaders } from 'node:http';
import { isDataClass, type DataClass } from './data-class.ts';

export const SERVED_FOR_HEADERS = {
  decision: 'x-sovereign-decision-id',
  tenant: 'x-sovereign-tenant',
  subject: 'x-sovereign-subject',
  dataClass: 'x-sovereign-data-class',
  retention: 'x-sovereign-retention-days',
  ledger: 'x-sovereign-ledger',
} as const;

export interface ServedFor {
  decisionId: string;
  tenant: string;
  subject: string;
  dataClass: DataClass;
  retentionDays: number;
  receipt: string | null;
}

/** The headers for `s`. */
export function servedForHeaders(s: ServedFor): Record<string, string> {
  const h: Record<string, string> = {
    [SERVED_FOR_HEADERS.decision]: s.decisionId,
    [SERVED_FOR_HEADERS.tenant]: s.tenant,
    // Percent-encoded: a subject id is the tenant's, any Unicode, and must survive a header.
    [SERVED_FOR_HEADERS.subject]: encodeURIComponent(s.subject),
    [SERVED_FOR_HEADERS.dataClass]: s.dataClass,
    [SERVED_FOR_HEADERS.retention]: String(s.retentionDays),
  };
  if (s.receipt !== null) h[SERVED_FOR_HEADERS.ledger] = s.receipt;
  return h;
}

/** Reads the headers back; null when any is missing or malformed (nothing is then stored). */
export function servedForOf(headers: IncomingHttpHeaders): ServedFor | null {
  const get = (n: string): string | undefined => {
    const v = headers[n];
    return typeof v === 'string' ? v : undefined;
  };
  const decisionId = get(SERVED_FOR_HEADERS.decision);
  const tenant = get(SERVED_FOR_HEADERS.tenant);
  const subjectRaw = get(SERVED_FOR_HEADERS.subject);
  const dataClass = get(SERVED_FOR_HEADERS.dataClass);
  const retention = Number(get(SERVED_FOR_HEADERS.retention));
  if (!decisionId || !tenant || subjectRaw === undefined || !isDataClass(dataClass) || !Number.isSafeInteger(retention) || retention < 0) return null;
  let subject: string;
  try {
    subject = decodeURIComponent(subjectRaw);
  } catch {
    return null;
  }
  return { decisionId, tenant, subject, dataClass, retentionDays: retention, receipt: get(SERVED_FOR_HEADERS.ledger) ?? null };
}
