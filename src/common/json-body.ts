// Request bodies as JSON, read one way on both sides of the gateway-cell wire. JSON.parse keeps
// the last of duplicate keys while other readers keep the first (RFC 8259 §4 leaves it open: "the
// behavior of software that receives such an object is unpredictable"), so a body with a
// duplicate key is refused instead of guessed at; nesting beyond one depth limit is refused too.
// The check is one linear pass over the text after JSON.parse has accepted it.

/** The deepest nesting of arrays and objects a request body may have (gateway and cell alike). */
export const MAX_JSON_DEPTH = 64;

export class JsonBodyError extends Error {
  readonly code: 'SOVEREIGN_JSON_SYNTAX' | 'SOVEREIGN_JSON_DUPLICATE_KEY' | 'SOVEREIGN_JSON_TOO_DEEP';
  constructor(code: JsonBodyError['code'], message: string) {
    super(message);
    this.name = 'JsonBodyError';
    this.code = code;
  }
}

interface Frame {
  keys: Set<string> | null;
  expectKey: boolean;
}

/** Index of the quote that closes the string opening at `open`. */
function closingQuote(text: string, open: number): number {
  let j = text.indexOf('"', open + 1);
  for (;;) {
    let slashes = 0;
    while (text.charCodeAt(j - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
}

/** Refuses duplicate keys (after unescaping) and nesting deeper than `maxDepth`; `text` is valid JSON. */
function checkStructure(text: string, maxDepth: number): void {
  const stack: Frame[] = [];
  let top: Frame | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) throw new JsonBodyError('SOVEREIGN_JSON_TOO_DEEP', `the request body nests arrays and objects deeper than ${maxDepth} levels; flatten it`);
      top = { keys: c === 0x7b ? new Set() : null, expectKey: c === 0x7b };
      stack.push(top);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      top = stack[stack.length - 1];
    } else if (c === 0x2c /* , */) {
      if (top?.keys) top.expectKey = true;
    } else if (c === 0x22 /* " */) {
      const end = closingQuote(text, i);
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.keys.has(key)) {
          throw new JsonBodyError('SOVEREIGN_JSON_DUPLICATE_KEY', `the request body has the key ${JSON.stringify(key.slice(0, 64))} twice in one object (at depth ${stack.length}); send each key once`);
        }
        top.keys.add(key);
        top.expectKey = false;
      }
      i = end;
    }
  }
}

/** Parses a request body: valid JSON, no duplicate keys, at most `maxDepth` levels deep. */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new JsonBodyError('SOVEREIGN_JSON_SYNTAX', `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value === 'object' && value !== null) checkStructure(text, maxDepth);
  return value;
}
