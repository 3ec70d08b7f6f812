// A byte range of a blob file as a response body, read in large pieces into two buffers that
// are reused for the whole body: one is being sent (encrypted into TLS records by the socket)
// while the next piece is read into the other. A file stream allocates a new buffer per read;
// on a 1 GiB blob that allocation alone set off enough garbage collections to cost golden more
// CPU than the TLS encryption.
import { open } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';

/** Piece size: about 4 MiB per read and per socket write. */
const PIECE = 4 << 20;

/**
 * Sends bytes `start`..`end` (inclusive) of `file` with the status and headers already set on
 * `reply` (Content-Length among them). The file is opened before anything is sent, so a
 * missing file is still answered by the error handler; a failure once the body has begun
 * cuts the connection (the client resumes with a Range).
 */
export async function sendFileRange(reply: FastifyReply, file: string, start: number, end: number): Promise<void> {
  const fh = await open(file, 'r');
  void reply.hijack();
  const res = reply.raw;
  let closed = false;
  const gone = new Promise<void>((resolve) =>
    res.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  const sent = (chunk: Buffer): Promise<void> => Promise.race([new Promise<void>((resolve) => res.write(chunk, () => resolve())), gone]);
  try {
    res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    const size = end - start + 1;
    const bufs = [Buffer.allocUnsafeSlow(Math.min(PIECE, size)), Buffer.allocUnsafeSlow(Math.min(PIECE, Math.max(0, size - PIECE)))];
    let inFlight: Promise<void> | null = null;
    for (let at = start, i = 0; at <= end && !closed; i ^= 1) {
      const buf = bufs[i] as Buffer;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end + 1 - at), at);
      if (bytesRead === 0) throw new Error(`${file} ended at byte ${at}, before ${end + 1}`);
      at += bytesRead;
      // The other buffer was handed to the socket last round: it is reused only once sent.
      if (inFlight) await inFlight;
      inFlight = sent(buf.subarray(0, bytesRead));
    }
    if (inFlight) await inFlight;
    if (!closed) res.end();
  } catch (err) {
    reply.log.error({ err }, 'blob body failed');
    res.destroy();
  } finally {
    await fh.close().catch(() => undefined);
  }
}
