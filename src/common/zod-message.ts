import type { z } from 'zod';

/** "messages[0].role: expected a role" — the first problem of a failed parse, for a 400 body. */
export function firstIssue(error: z.ZodError, what: string): string {
  const i = error.issues[0];
  if (!i) return `invalid ${what}`;
  const p = i.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
  return `invalid ${what}: ${p || '(body)'}: ${i.message}`;
}
