// The one place that talks to Cedar (cedar-wasm, Node build: synchronous, loaded at import).
// Everything here runs when policies or region state change, never on the request path.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';

export { cedar };
export type {
  AuthorizationAnswer,
  CedarValueJson,
  DetailedError,
  EntityJson,
  StatefulAuthorizationCall,
} from '@cedar-policy/cedar-wasm/nodejs';

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return `line ${line}:${col}`;
}

/** A Cedar error as one line: message, help and (given the text it refers to) where. */
export function formatCedarError(e: DetailedError, text?: string, base = 0): string {
  let out = e.message;
  const loc = e.sourceLocations?.[0];
  if (text !== undefined && loc !== undefined) out = `${lineCol(text, base + loc.start)}: ${out}`;
  if (e.help) out += ` (${e.help})`;
  return out;
}
