// The segments of an inference request that the classifier reads are the ones its model reads:
// one definition, in src/common/model-input.ts, shared by the gateway and the cells.
import { requestSegments } from '../common/model-input.ts';

/** Every string of an inference request body a model may read, in document order. Never throws. */
export function extractSegments(body: unknown): string[] {
  return requestSegments(body);
}

/** The segments joined by "\n"; a single segment (the usual chat request) is returned as is. */
export function extractText(body: unknown): string {
  const segments = extractSegments(body);
  if (segments.length === 1) return segments[0] ?? '';
  return segments.join('\n');
}
