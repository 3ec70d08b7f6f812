// The invariant the law depends on: for any request body of any supported endpoint, every
// string the cell's runtime reads (the embedded model, or an OpenAI-compatible model server the
// body is relayed to) is one the gateway handed to the classifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChatRequestSchema, CompletionRequestSchema, EmbeddingRequestSchema, JsonBodyError, ResponsesRequestSchema, V2InferRequestSchema, isEnumeratedValue, parseJsonBody, requestSegments } from '../../src/common/index.ts';
import { embeddedReads } from '../../src/cell/embedded-runtime.ts';

const str = fc.string({ unit: 'grapheme', maxLength: 12 });
const part = fc.oneof(fc.record({ type: fc.constant('text'), text: str }), fc.record({ type: fc.constant('image_url'), image_url: fc.record({ url: str }) }), str);
const content = fc.oneof(str, fc.array(part, { maxLength: 4 }), fc.constant(null));
const unknownFields = fc.dictionary(fc.string({ maxLength: 6 }).filter((k) => k !== 'model' && k !== '__proto__'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 });
const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'tool'), content, name: fc.option(str, { nil: undefined }) }, { requiredKeys: ['role', 'content'] });
const MODEL = 'text-analysis';
let nested: fc.Arbitrary<unknown> = str;
for (let i = 0; i < 4; i++) nested = fc.oneof(str, fc.array(nested, { maxLength: 3 }));

const endpoints = {
  chat: { schema: ChatRequestSchema, body: fc.tuple(fc.array(message, { minLength: 1, maxLength: 4 }), unknownFields).map(([messages, x]) => ({ ...x, model: MODEL, messages })), reads: (b: unknown) => embeddedReads.chat(ChatRequestSchema.parse(b)) },
  completions: { schema: CompletionRequestSchema, body: fc.tuple(fc.oneof(str, fc.array(str, { maxLength: 3 })), unknownFields).map(([prompt, x]) => ({ ...x, model: MODEL, prompt })), reads: (b: unknown) => embeddedReads.completions(CompletionRequestSchema.parse(b)) ?? [] },
  embeddings: { schema: EmbeddingRequestSchema, body: fc.tuple(fc.oneof(str, fc.array(str, { maxLength: 3 })), unknownFields).map(([input, x]) => ({ ...x, model: MODEL, input })), reads: () => [] as string[] },
  responses: {
    schema: ResponsesRequestSchema,
    body: fc.tuple(fc.oneof(str, fc.array(message, { minLength: 1, maxLength: 3 })), fc.option(str, { nil: undefined }), unknownFields).map(([input, instructions, x]) => ({ ...x, model: MODEL, input, ...(instructions === undefined ? {} : { instructions }) })),
    reads: (b: unknown) => embeddedReads.responses(ResponsesRequestSchema.parse(b)),
  },
  infer: {
    schema: V2InferRequestSchema,
    body: fc.tuple(fc.array(fc.record({ name: fc.constant('text'), datatype: fc.constantFrom('BYTES', 'FP32'), shape: fc.constant([1]), data: fc.array(nested, { maxLength: 3 }) }), { minLength: 1, maxLength: 2 }), unknownFields).map(([inputs, x]) => ({ ...x, inputs })),
    reads: (b: unknown) => embeddedReads.infer(V2InferRequestSchema.parse(b)) ?? [],
  },
};

/** Every string and key of a JSON value a model server could read, with the path it sits at. */
function leaves(v: unknown, path: string[] = [], out: { s: string; path: string[]; key: boolean }[] = []): typeof out {
  if (typeof v === 'string') out.push({ s: v, path, key: false });
  else if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...path, String(i)], out));
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.push({ s: k, path, key: true });
      leaves(x, [...path, k], out);
    }
  }
  return out;
}

for (const [name, e] of Object.entries(endpoints)) {
  test(`${name}: every string the runtime reads was seen by the classifier`, () => {
    fc.assert(
      fc.property(e.body as fc.Arbitrary<Record<string, unknown>>, (body) => {
        // The gateway: the strict parse, the segments it classifies, the body it forwards.
        const judged = parseJsonBody(JSON.stringify(body));
        if (!e.schema.safeParse(judged).success) return;
        const seen = requestSegments(judged);
        const seenSet = new Set(seen);
        const joined = seen.join('\n');
        const forwarded = JSON.stringify(judged);
        // The cell: its own strict parse of what it was sent.
        const processed = parseJsonBody(forwarded);
        assert.deepEqual(processed, judged);
        // The embedded model reads these:
        for (const s of e.reads(processed)) assert.ok(s === '' || seenSet.has(s), `embedded runtime read ${JSON.stringify(s)} unseen`);
        // A model server the body is relayed to may read any string or key of it:
        for (const l of leaves(processed)) {
          if (!l.key && l.path.length === 1 && l.path[0] === 'model') continue; // checked against served models
          if (l.key) {
            assert.ok(seenSet.has(l.s) || /^[a-z_A-Z]+$/.test(l.s), `key ${JSON.stringify(l.s)} unseen`);
            continue;
          }
          // A value the API enumerates for its field (role "user", datatype "BYTES") is protocol.
          if (isEnumeratedValue(l.path[l.path.length - 1] ?? '', l.s)) continue;
          // A content part's text is seen within its message's joined text.
          assert.ok(seenSet.has(l.s) || joined.includes(l.s), `string ${JSON.stringify(l.s)} at ${l.path.join('.')} unseen`);
        }
      }),
      { numRuns: 400 },
    );
  });
}

test('the judged body and the processed body agree: duplicate keys and excess depth are refused on both sides alike', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.string({ maxLength: 4 }), (v, k) => {
      const text = JSON.stringify({ [k]: v });
      const dup = `${text.slice(0, -1)},${JSON.stringify(k)}:1}`;
      assert.throws(() => parseJsonBody(dup), (err: unknown) => err instanceof JsonBodyError && err.code === 'SOVEREIGN_JSON_DUPLICATE_KEY');
      assert.deepEqual(parseJsonBody(text), JSON.parse(text));
    }),
    { numRuns: 500 },
  );
  let deep = '1';
  for (let i = 0; i < 65; i++) deep = `[${deep}]`;
  assert.throws(() => parseJsonBody(deep), (err: unknown) => err instanceof JsonBodyError && err.code === 'SOVEREIGN_JSON_TOO_DEEP');
  assert.deepEqual(parseJsonBody(deep.slice(1, -1)), JSON.parse(deep.slice(1, -1)));
});
