// Pulls the user content out of an inference request body. Only text a person wrote or pasted is
// returned: model names, sampling parameters and other fields never are. Odd shapes yield nothing.

const MAX_DEPTH = 32;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** OpenAI message content: a string or an array of parts ({type:'text', text} and friends). */
function pushContent(content: unknown, out: string[]): void {
  if (typeof content === 'string') {
    out.push(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content as unknown[]) {
    if (typeof part === 'string') out.push(part);
    else if (isObject(part) && typeof part.text === 'string') out.push(part.text);
  }
}

function pushMessages(messages: unknown[], out: string[]): void {
  for (const m of messages) {
    if (!isObject(m)) continue;
    pushContent(m.content, out);
    // Tool-call arguments carry user data the model is asked to act on.
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls as unknown[]) {
        if (isObject(call) && isObject(call.function) && typeof call.function.arguments === 'string') {
          out.push(call.function.arguments);
        }
      }
    }
  }
}

/** `prompt` / `input`: a string, an array of strings, or (Responses-style) an array of messages. */
function pushStrings(v: unknown, out: string[]): void {
  if (typeof v === 'string') {
    out.push(v);
    return;
  }
  if (!Array.isArray(v)) return;
  const items = v as unknown[];
  for (const item of items) {
    if (typeof item === 'string') out.push(item);
    else if (isObject(item)) pushMessages([item], out);
  }
}

/** Open Inference Protocol V2 tensor data of datatype BYTES: strings in (possibly nested) arrays. */
function pushBytes(data: unknown, out: string[], depth: number): void {
  if (typeof data === 'string') {
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || depth > MAX_DEPTH) return;
  for (const d of data as unknown[]) pushBytes(d, out, depth + 1);
}

/**
 * Returns the user-content segments of an OpenAI chat / completions / embeddings request or an
 * Open Inference Protocol V2 infer request. Never throws.
 */
export function extractSegments(body: unknown): string[] {
  const out: string[] = [];
  try {
    if (!isObject(body)) return out;
    if (Array.isArray(body.messages)) pushMessages(body.messages as unknown[], out);
    if ('prompt' in body) pushStrings(body.prompt, out);
    if ('input' in body) pushStrings(body.input, out);
    if (Array.isArray(body.inputs)) {
      for (const t of body.inputs as unknown[]) {
        if (isObject(t) && typeof t.datatype === 'string' && t.datatype.toUpperCase() === 'BYTES') {
          pushBytes(t.data, out, 0);
        }
      }
    }
  } catch {
    // A hostile object (throwing getter, revoked proxy) contributes what was read before it threw.
  }
  return out;
}

/** The segments joined by "\n"; a single segment (the usual chat request) is returned as is. */
export function extractText(body: unknown): string {
  const segments = extractSegments(body);
  if (segments.length === 1) return segments[0] ?? '';
  return segments.join('\n');
}
