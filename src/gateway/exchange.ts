// One exchange with a region's cell on undici's dispatch interface. The answer's status and
// headers come first; its body is then read whole (a complete answer of bounded length: one
// buffer, relayed in one write) or handed on as a stream (an event stream, or an answer of
// unknown or large length), as `keepWhole` decides from the head. Against Pool.request this
// spares every request a response stream object, an abort signal and its listeners: the
// forwarder ends an exchange by calling `abort`, the one way a deadline, a departed client or
// a legal trigger (abortRegion) ends it.
import { Readable } from 'node:stream';
import { util, type Dispatcher } from 'undici';

export interface ExchangeHead {
  status: number;
  /** As undici's Pool.request gives them: names lower-case, a repeated header as an array (only the wanted ones, when the exchange names them). */
  headers: Record<string, string | string[] | undefined>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Whoever waits sees the rejection; a promise nobody came to wait for (the exchange failed
  // before its body was asked for) is not an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * The headers named in `wanted` (lower-case) from undici's raw list, as util.parseHeaders gives
 * them (a repeated header as an array); the others are not decoded. A cell's answer carries a
 * dozen headers and the gateway reads a few of them.
 */
export function pickHeaders(raw: readonly Buffer[], wanted: ReadonlySet<string>): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = util.headerNameToString(raw[i] as Buffer);
    if (!wanted.has(name)) continue;
    const value = (raw[i + 1] as Buffer).toString('latin1');
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #keepWhole: (head: ExchangeHead) => boolean;
  readonly #wanted: ReadonlySet<string> | undefined;
  readonly #head = deferred<ExchangeHead>();
  #whole: Deferred<Buffer> | null = null;
  #chunks: Buffer[] = [];
  #stream: Readable | null = null;
  #resume: (() => void) | null = null;
  #abort: ((err?: Error) => void) | null = null;
  #abortedWith: Error | null = null;
  #over = false;

  /**
   * `keepWhole`: from the head, whether the body is read whole (else it streams). `wanted`: the
   * (lower-case) names of the headers the head carries; every header when absent.
   */
  constructor(keepWhole: (head: ExchangeHead) => boolean, wanted?: ReadonlySet<string>) {
    this.#keepWhole = keepWhole;
    this.#wanted = wanted;
  }

  /** The answer's status and headers; rejects when the exchange fails before them. */
  get head(): Promise<ExchangeHead> {
    return this.#head.promise;
  }

  /** The whole body, once complete (only when `keepWhole` said so). */
  whole(): Promise<Buffer> {
    if (!this.#whole) throw new Error('this answer streams; read it with stream()');
    return this.#whole.promise;
  }

  /** The body as it arrives (when `keepWhole` said no); destroying it ends the exchange. */
  stream(): Readable {
    if (!this.#stream) throw new Error('this answer is read whole; read it with whole()');
    return this.#stream;
  }

  /** Whether the body streams (decided from the head); false: it is read whole. */
  get streams(): boolean {
    return this.#stream !== null;
  }

  /** Why the exchange was ended by the gateway (null: it was not). */
  get abortedWith(): Error | null {
    return this.#abortedWith;
  }

  /** Ends the exchange (before or after the head); a no-op once the answer is complete. */
  abort(reason: Error): void {
    if (this.#over || this.#abortedWith) return;
    this.#abortedWith = reason;
    // Before undici connected the request, it is ended as it connects (onConnect).
    this.#abort?.(reason);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#abortedWith) abort(this.#abortedWith);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    const head: ExchangeHead = { status: statusCode, headers: this.#wanted ? pickHeaders(rawHeaders, this.#wanted) : util.parseHeaders(rawHeaders) };
    if (this.#keepWhole(head)) {
      this.#whole = deferred<Buffer>();
    } else {
      this.#resume = resume;
      this.#stream = new Readable({
        read: () => {
          const r = this.#resume;
          r?.();
        },
        destroy: (err, cb) => {
          // The reader went away (the client left, or the relay failed): the exchange ends too.
          if (!this.#over) this.abort(err ?? new Error('the answer was no longer read'));
          cb(err);
        },
      });
    }
    this.#head.resolve(head);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#stream) return this.#stream.push(chunk);
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.#over = true;
    if (this.#stream) {
      this.#stream.push(null);
      return;
    }
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#whole?.resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  }

  onError(err: Error): void {
    this.#over = true;
    this.#chunks = [];
    this.#head.reject(err);
    this.#whole?.reject(err);
    this.#stream?.destroy(err);
  }
}
