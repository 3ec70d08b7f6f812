// Reads a body whole, up to a limit: what a peer sends is not trusted to be short.

/**
 * The bytes of `body`, or null once they exceed `max` (the stream is then destroyed: leaving a
 * for-await loop early ends it, so nothing more is buffered).
 */
export async function readUpTo(body: AsyncIterable<Uint8Array>, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > max) return null;
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
