// What of an inference request a model consumes: one definition, read by the gateway (which
// classifies exactly these strings) and by the cell's runtimes (which feed them to the model).
// The cell is sent the body the gateway parsed, re-serialised, so both read the same value.
//
// A model server may read any string of the body (a tool's JSON schema, a stop sequence, a
// field it knows and Sovereign does not), so every string is a segment, in document order, with
// two exceptions: the top-level `model` (it must name a model a region serves, so it carries no
// user data) and the texts of content parts, which are replaced by their join, the text the
// model actually sees (parts "dia" + "betes" are classified as "diabetes"). Object keys outside
// the vocabulary of the OpenAI and Open Inference Protocol V2 APIs are segments too (a JSON
// schema's property names reach the model).

const VOCABULARY = new Set([
  'model', 'messages', 'role', 'content', 'type', 'text', 'name', 'tool_calls', 'tool_call_id', 'function', 'arguments', 'id',
  'prompt', 'suffix', 'input', 'instructions', 'inputs', 'outputs', 'datatype', 'shape', 'data', 'parameters', 'stream',
  'stream_options', 'include_usage', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'temperature', 'top_p', 'n',
  'stop', 'presence_penalty', 'frequency_penalty', 'logprobs', 'top_logprobs', 'seed', 'user', 'tools', 'tool_choice',
  'parallel_tool_calls', 'response_format', 'json_schema', 'schema', 'strict', 'description', 'properties', 'required', 'items',
  'encoding_format', 'dimensions', 'echo', 'best_of', 'image_url', 'url', 'detail', 'metadata', 'store', 'previous_response_id',
  'truncation', 'reasoning', 'effort', 'additionalProperties', 'enum', 'format',
]);

/**
 * Values of enumerated fields of the OpenAI and V2 APIs. Such a value, when it is one the API
 * defines, is protocol, not user data: it is not a segment (so it does not stand between two
 * messages whose junction the classifier reads). Any other value of these fields is a segment.
 */
const ENUMERATED: Readonly<Record<string, ReadonlySet<string>>> = {
  role: new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  type: new Set(['text', 'image_url', 'input_text', 'input_image', 'input_audio', 'input_file', 'output_text', 'message', 'function', 'function_call', 'function_call_output', 'json_object', 'json_schema', 'file', 'refusal']),
  datatype: new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES']),
  encoding_format: new Set(['float', 'base64']),
  detail: new Set(['auto', 'low', 'high']),
  tool_choice: new Set(['none', 'auto', 'required']),
  truncation: new Set(['auto', 'disabled']),
  effort: new Set(['minimal', 'low', 'medium', 'high']),
};

/** Is `value` one of the values the API defines for the field `key` (see ENUMERATED)? */
export function isEnumeratedValue(key: string, value: string): boolean {
  return Object.hasOwn(ENUMERATED, key) && (ENUMERATED[key] as ReadonlySet<string>).has(value);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A content part's text, if it is one (a string part or `{type, text}`). */
function partText(p: unknown): string | undefined {
  if (typeof p === 'string') return p;
  if (isObject(p) && typeof p.text === 'string') return p.text;
  return undefined;
}

/**
 * The text of a chat message or a Responses input item as the model sees it: the content
 * string, or the texts of its content parts joined with nothing between them.
 */
export function messageText(m: { content?: unknown }): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let out = '';
  for (const p of c as unknown[]) out += partText(p) ?? '';
  return out;
}

/**
 * Every string of an inference request body a model may read, in document order (see the top
 * of this file). Never throws; walks iteratively, so no nesting can overflow the stack.
 */
export function requestSegments(body: unknown): string[] {
  const out: string[] = [];
  // Work items: a value to walk, or a part of a content array whose text is already counted.
  const stack: { v: unknown; part?: boolean }[] = [];
  try {
    if (isObject(body)) {
      const entries = Object.entries(body);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i] as [string, unknown];
        if (k === 'model' && typeof v === 'string') continue;
        stack.push({ v: { [k]: v } });
      }
    } else {
      stack.push({ v: body });
    }
    while (stack.length > 0) {
      const { v, part } = stack.pop() as { v: unknown; part?: boolean };
      if (typeof v === 'string') {
        if (!part) out.push(v);
      } else if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i] });
      } else if (isObject(v)) {
        const entries = Object.entries(v);
        const items: { v: unknown; part?: boolean }[] = [];
        for (const [k, x] of entries) {
          if (!VOCABULARY.has(k)) items.push({ v: k });
          if (part && k === 'text' && typeof x === 'string') continue;
          if (typeof x === 'string' && isEnumeratedValue(k, x)) continue;
          if (k === 'content' && Array.isArray(x)) {
            items.push({ v: messageText(v) });
            for (const p of x as unknown[]) items.push({ v: p, part: true });
            continue;
          }
          items.push({ v: x });
        }
        for (let i = items.length - 1; i >= 0; i--) stack.push(items[i] as { v: unknown; part?: boolean });
      }
    }
  } catch {
    // A hostile object (throwing getter, revoked proxy) contributes what was read before it threw.
  }
  return out;
}

/** Size of a request's model input: UTF-8 bytes of its segments (what an input limit counts). */
export function inputBytes(segments: readonly string[]): number {
  let n = 0;
  for (const s of segments) n += Buffer.byteLength(s, 'utf8');
  return n;
}
