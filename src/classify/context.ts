// Context cues near a span: a few words before it that turn a bare number into an identifier or a
// phone number. The window is bounded, so a lookup costs a constant.

import { window } from './chars.ts';

/** Whether one of `cues` (lower case) occurs in the `span` characters before `at`. */
export function contextBefore(text: string, at: number, span: number, cues: readonly string[]): boolean {
  const from = at > span ? at - span : 0;
  const w = window(text, from, at).toLowerCase();
  for (const c of cues) if (w.includes(c)) return true;
  return false;
}
