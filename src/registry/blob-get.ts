// A blob GET on a connection of its own, read straight off the socket: for bulk transfers
// between Sovereign's embedded registries (golden → region), where undici's body stream cost
// several times the CPU of the TLS decryption and SHA-256 themselves (a new buffer per 16 KiB
// TLS record, a copy into the HTTP parser's memory, a stream hop per chunk, and the garbage
// collections all that allocation set off). The socket hands its bytes over in one reused
// buffer (`onread`); the HTTP/1.1 response head is parsed here (RFC 9112 §2-§6: status line,
// fields, a body delimited by Content-Length, the connection closed after it), and the body
// goes to the caller's writer in batches of a few MiB (batch.ts).
import type { OnReadOpts, Socket } from 'node:net';
import { BatchWriter } from './batch.ts';
import type { WriteBatch } from './drain.ts';
import { RegistryError } from './errors.ts';

/** Opens a connection to the registry, verified as the registry's identity when on the mesh. */
export type RawConnect = (onread: OnReadOpts) => Promise<Socket>;

/** The reused read buffer: TLS hands over at most one record (16 KiB) at a time, plain TCP more. */
const READ_BUFFER = 256 * 1024;
/** A response head larger than this is not a registry's. */
const MAX_HEAD = 64 * 1024;
/** Kept of an error response's body (for the message). */
const MAX_ERROR_BODY = 64 * 1024;
/** The longest silence on the connection (before the head, or between body bytes) before it is a cut. */
const IDLE_MS = 120_000;

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** An error response's body (non-2xx), else ''. */
  errorText: string;
}

export interface RawRequest {
  host: string;
  path: string;
  headers: Record<string, string>;
  /** The status whose body is written (200, or 206 for a range); any other's is kept as text. */
  expect: number;
  /** Checks an answer with the expected status before any of its body is written (throws to refuse it). */
  validate?: (res: RawResponse) => void;
}

/**
 * GETs `req.path` and, when the answer has the expected status, writes the body with `write` in
 * batches. Resolves once the body has ended and every batch is written; after a cut, what
 * arrived is written and the promise rejects (UNAVAILABLE) so the caller can resume from the
 * bytes it has.
 */
export async function rawGet(connect: RawConnect, req: RawRequest, write: WriteBatch): Promise<RawResponse> {
  const { host, path, headers } = req;
  let onBytes: (b: Uint8Array) => boolean = () => true;
  const sock = await connect({ buffer: Buffer.allocUnsafeSlow(READ_BUFFER), callback: (n, buf) => onBytes(buf.subarray(0, n)) });
  return new Promise<RawResponse>((resolve, reject) => {
    const writer = new BatchWriter(write, READ_BUFFER);
    let head: Buffer = Buffer.alloc(0);
    let res: RawResponse | null = null;
    let length = -1;
    let got = 0;
    let errorBody: Buffer[] = [];
    let settled = false;
    const settle = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      // What arrived is written before the outcome is told (a resume continues after it).
      writer.finish().then(
        () => (err ? reject(err) : res ? resolve(res) : reject(new RegistryError('UNAVAILABLE', `GET ${path.split('?')[0]}: the connection closed before an answer`))),
        (werr: unknown) => reject(werr instanceof Error ? werr : new Error(String(werr))),
      );
    };
    writer.onResume = () => sock.resume();
    writer.onError = (err) => settle(err);
    const body = (b: Uint8Array): boolean => {
      const take = length >= 0 ? b.subarray(0, Math.max(0, length - got)) : b;
      got += take.byteLength;
      let more = true;
      if (res?.status === req.expect) more = writer.push(take);
      else if (got <= MAX_ERROR_BODY) errorBody.push(Buffer.from(take));
      if (length >= 0 && got >= length) {
        if (res && res.status !== req.expect) res.errorText = Buffer.concat(errorBody).toString('utf8');
        errorBody = [];
        settle(null);
      }
      return more;
    };
    onBytes = (b) => {
      if (settled) return false;
      if (res) return body(b);
      head = Buffer.concat([head, b]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) settle(new RegistryError('UNAVAILABLE', `GET ${path.split('?')[0]}: the answer's head is larger than ${MAX_HEAD} bytes`));
        return true;
      }
      try {
        res = parseHead(head.subarray(0, end).toString('latin1'));
        if (res.status === req.expect) req.validate?.(res);
      } catch (err) {
        settle(err as Error);
        return false;
      }
      const te = res.headers['transfer-encoding'];
      if (te !== undefined && te.toLowerCase() !== 'identity') {
        // Sovereign's registries send blobs with a Content-Length; a framed body is not read here.
        if (res.status === req.expect) return (settle(new RegistryError('UNSUPPORTED', `GET ${path.split('?')[0]}: a blob in Transfer-Encoding ${te} is not supported on this path`)), false);
      } else if (res.headers['content-length'] !== undefined) {
        length = Number(res.headers['content-length']);
        if (!Number.isSafeInteger(length) || length < 0) return (settle(new RegistryError('UNAVAILABLE', `GET ${path.split('?')[0]}: bad Content-Length "${res.headers['content-length']}"`)), false);
      }
      const rest = head.subarray(end + 4);
      head = Buffer.alloc(0);
      if (length === 0) {
        settle(null);
        return false;
      }
      return rest.byteLength > 0 ? body(rest) : true;
    };
    sock.setTimeout(IDLE_MS, () => sock.destroy(new Error(`no bytes for ${IDLE_MS / 1000} s`)));
    sock.once('error', (err) => settle(new RegistryError('UNAVAILABLE', `GET ${path.split('?')[0]}: the transfer was cut (${err.message})`)));
    sock.once('close', () => {
      if (res && length < 0) {
        // No Content-Length: the body ended with the connection (RFC 9112 §6.3, item 8).
        if (res.status !== req.expect) res.errorText = Buffer.concat(errorBody).toString('utf8');
        return settle(null);
      }
      settle(new RegistryError('UNAVAILABLE', `GET ${path.split('?')[0]}: the connection closed after ${got} of ${length < 0 ? '?' : length} bytes`));
    });
    const lines = [`GET ${path} HTTP/1.1`, `host: ${host}`, 'connection: close', 'accept-encoding: identity', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    sock.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** The status line and header fields of an HTTP/1.1 response head (names lower-cased). */
export function parseHead(text: string): RawResponse {
  const [statusLine = '', ...fields] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!m) throw new RegistryError('UNAVAILABLE', `not an HTTP/1.1 answer: "${statusLine.slice(0, 80)}"`);
  const headers: Record<string, string> = {};
  for (const f of fields) {
    const colon = f.indexOf(':');
    if (colon <= 0) throw new RegistryError('UNAVAILABLE', `malformed header field "${f.slice(0, 80)}"`);
    const name = f.slice(0, colon).trim().toLowerCase();
    const value = f.slice(colon + 1).trim();
    // A repeated Content-Length with another value is a framing error (RFC 9112 §6.3, item 5).
    if (name === 'content-length' && headers[name] !== undefined && headers[name] !== value) throw new RegistryError('UNAVAILABLE', 'conflicting Content-Length fields');
    headers[name] = headers[name] !== undefined && name !== 'content-length' ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(m[1]), headers, errorText: '' };
}
