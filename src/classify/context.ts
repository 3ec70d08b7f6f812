// Context cues near a span: a few words before it that turn a bare number into an identifier or a
// phone number. The window is bounded, so a lookup costs a constant.

import { window } from './chars.ts';

const LETTER = /\p{L}/u;
const SENTENCE_END = /(?:[.!?]\s+(?=\p{Lu})|[\n\r])(?!.*(?:[.!?]\s+\p{Lu}|[\n\r]))/su;

/** Whether one of `cues` (lower case) occurs in the `span` characters before `at`. */
export function contextBefore(text: string, at: number, span: number, cues: readonly string[]): boolean {
  const from = at > span ? at - span : 0;
  let w = window(text, from, at);
  // the cue must be in the same sentence: cut at a line break or at ". " before a capital letter
  // ("Tel. 030…" keeps its cue)
  const cut = SENTENCE_END.exec(w);
  if (cut !== null) w = w.slice(cut.index + cut[0].length);
  w = w.toLowerCase();
  for (const c of cues) {
    // Latin cues as whole words only ("tel" is no cue in "hotel", nor "ring" in "string"); Chinese
    // has no spaces and Arabic attaches clitics, so their cues match inside words
    if (!/^[a-z]/.test(c)) {
      if (w.includes(c)) return true;
      continue;
    }
    for (let k = w.indexOf(c); k >= 0; k = w.indexOf(c, k + 1)) {
      if (!LETTER.test(w[k - 1] ?? ' ') && !LETTER.test(w[k + c.length] ?? ' ')) return true;
    }
  }
  return false;
}
