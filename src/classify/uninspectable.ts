// Content that cannot be inspected: an image, audio, video or document sent inline as a data URL
// (RFC 2397) or referred to by an uploaded file's id. Text detectors cannot see into it, so it is
// reported as UNINSPECTABLE and the classifier gives it the class the operator chose (personal by
// default). Found on the original text, one forward pass with indexOf.

import { K_UNINSPECTABLE } from './kinds.ts';
import type { Scan } from './scan.ts';

const DATA_URL = /^data:(?:image|audio|video|application|font|model)\/[\w.+-]{1,80}(?:;[\w.+-]{1,40}=[\w.+-]{1,80}){0,4}(?:;base64)?,/i;
const FILE_ID = /\bfile-[A-Za-z0-9]{16,64}\b/g;

function isBase64Char(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47 || c === 61 || c === 37 || c === 45 || c === 95;
}

/** Emits UNINSPECTABLE for each data URL and uploaded-file id in text (offsets into text). */
export function uninspectable(text: string, sc: Scan): void {
  let from = 0;
  for (;;) {
    const at = text.indexOf('data:', from);
    if (at < 0) break;
    const m = DATA_URL.exec(text.slice(at, at + 200));
    if (m === null) {
      from = at + 5;
      continue;
    }
    let e = at + m[0].length;
    while (e < text.length && isBase64Char(text.charCodeAt(e))) e++;
    sc.emit(K_UNINSPECTABLE, at, e);
    from = e;
  }
  if (text.includes('file-')) {
    FILE_ID.lastIndex = 0;
    for (const m of text.matchAll(FILE_ID)) sc.emit(K_UNINSPECTABLE, m.index, m.index + m[0].length);
  }
}
