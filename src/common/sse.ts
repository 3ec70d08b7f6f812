// Turns an async iterable of OpenAI chunks into an SSE byte stream. Once bytes have left,
// a failure cannot become an HTTP error any more: it ends the stream with an error event
// that names the failure (clients such as the openai SDK raise it).
import { Readable } from 'node:stream';
import { SSE_DONE, sseData } from './openai.ts';

export function sseReadable(chunks: AsyncIterable<unknown>, describeError: (err: unknown) => string): Readable {
  async function* frames(): AsyncGenerator<string> {
    try {
      for await (const c of chunks) yield sseData(c);
      yield SSE_DONE;
    } catch (err) {
      yield sseData({ error: { type: 'stream_error', message: describeError(err) } });
    }
  }
  return Readable.from(frames(), { objectMode: false });
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;
