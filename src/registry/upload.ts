// A pushed blob being received (distribution-spec "Pushing blobs"): bytes appended in order to
// <root>/uploads/<id>, hashed as they are written, so the session's offset, file and hash stay
// in step whatever happens; a session found on disk after a restart hashes its kept bytes first.
import { open, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { newHash } from './digest.ts';
import { drainInto } from './drain.ts';
import { RegistryError, storageError } from './errors.ts';

/** A blob being received: bytes appended in order, hashed as they come. */
export class Upload {
  readonly id: string;
  readonly file: string;
  readonly name: string;
  offset = 0;
  readonly #hash = newHash();
  /** A session found on disk after a restart: its bytes so far are hashed before anything else. */
  #prefix: Promise<void> | null = null;
  /** The append under way (its last write, truncation or close may outlive the request's connection). */
  #appending: Promise<unknown> | null = null;

  constructor(id: string, file: string, name: string, kept = 0) {
    this.id = id;
    this.file = file;
    this.name = name;
    if (kept > 0) {
      this.offset = kept;
      this.#prefix = (async () => {
        const fh = await open(file, 'r');
        try {
          const buf = Buffer.allocUnsafe(1 << 20);
          for (let at = 0; at < kept; ) {
            const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, kept - at), at);
            if (bytesRead === 0) throw new RegistryError('BLOB_UPLOAD_INVALID', `upload ${id}: its file ended at ${at} of ${kept} bytes`);
            this.#hash.update(buf.subarray(0, bytesRead));
            at += bytesRead;
          }
        } finally {
          await fh.close();
        }
      })();
    }
  }

  /** Resolves once the bytes kept from before a restart are hashed. */
  async ready(): Promise<void> {
    await this.#prefix;
  }

  /** Resolves once no append is under way (whatever its outcome): what it wrote is on disk and its file closed. */
  async idle(): Promise<void> {
    while (this.#appending) await this.#appending.catch(() => undefined);
  }

  /** Appends a stream at the current offset; on any failure the session's bytes are left as they were durable-wise and the error says why. */
  append(src: Readable | AsyncIterable<Uint8Array>): Promise<number> {
    // A source that fails before the append reads it (the client gone while the file opens)
    // fails the append when it is read (a destroyed stream's iterator throws its error), not
    // the process with an 'error' event nobody listens to yet.
    const early = (): void => undefined;
    if (src instanceof Readable) src.on('error', early);
    const p = this.#append(src);
    this.#appending = p;
    const clear = (): void => {
      if (src instanceof Readable) src.off('error', early);
      if (this.#appending === p) this.#appending = null;
    };
    p.then(clear, clear);
    return p;
  }

  async #append(src: Readable | AsyncIterable<Uint8Array>): Promise<number> {
    await this.ready();
    let fh;
    try {
      fh = await open(this.file, 'a');
    } catch (err) {
      throw storageError(err, `upload ${this.id}`);
    }
    const start = this.offset;
    const fd = fh;
    try {
      // Writes of about 1 MiB; the hash follows the bytes written, so a cut leaves offset, file
      // and hash in step (what arrived before a cut is kept).
      await drainInto(src, async (chunks, n) => {
        const { bytesWritten } = await fd.writev(chunks, this.offset);
        if (bytesWritten !== n) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
        for (const c of chunks) this.#hash.update(c);
        this.offset += n;
      });
    } catch (err) {
      // A cut connection or a full disk: the bytes hashed so far are the bytes written so far,
      // so a client may resume at `offset` (distribution-spec: GET the upload for its Range).
      await fh.truncate(this.offset).catch(() => undefined);
      await fh.close().catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
        // A full disk: give the space back; the client must start this blob again.
        await unlink(this.file).catch(() => undefined);
        this.offset = -1;
      }
      throw storageError(err, `upload of ${this.name} (at byte ${start})`);
    }
    await fh.close();
    return this.offset - start;
  }

  digest(): string {
    return `sha256:${this.#hash.copy().digest('hex')}`;
  }
}
