// The own-connection blob download (blob-get.ts, batch.ts). Invariants a replication depends on:
// whatever the chunking and the speed of the writer, the bytes written are the body's bytes in
// order and nothing else; a cut writes what arrived (a prefix) and is reported as UNAVAILABLE;
// an error answer, or an answer that is not the one asked for, writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import fc from 'fast-check';
import { BatchWriter } from '../../src/registry/batch.ts';
import { parseHead, rawGet, type RawConnect } from '../../src/registry/blob-get.ts';
import { RegistryError } from '../../src/registry/index.ts';

const pieces = fc.array(fc.uint8Array({ minLength: 1, maxLength: 700 }), { maxLength: 60 });

test('BatchWriter writes every byte in order, holds the source back while both batches are taken, and writes the rest at finish', async () => {
  await fc.assert(
    fc.asyncProperty(pieces, fc.integer({ min: 1, max: 3000 }), fc.boolean(), async (parts, batch, slow) => {
      const out: Buffer[] = [];
      let writing = 0;
      const w = new BatchWriter(
        async (cs, n) => {
          writing++;
          assert.equal(writing, 1, 'one write at a time');
          assert.equal(cs.reduce((k, c) => k + c.byteLength, 0), n);
          if (slow) await new Promise((r) => setImmediate(r));
          out.push(...cs.map((c) => Buffer.from(c)));
          writing--;
        },
        700,
        batch,
      );
      let resumed: () => void = () => undefined;
      w.onResume = () => resumed();
      for (const p of parts) {
        const src = Buffer.from(p);
        const more = w.push(src);
        src.fill(0); // the caller reuses its buffer at once
        if (!more) await new Promise<void>((r) => (resumed = r));
      }
      await w.finish();
      assert.deepEqual(Buffer.concat(out), Buffer.concat(parts.map((p) => Buffer.from(p))));
    }),
    { numRuns: 200 },
  );
});

test('BatchWriter: a failing write is reported once and finish rejects with it', async () => {
  const w = new BatchWriter(async () => Promise.reject(new Error('disk full')), 10, 10);
  const errors: Error[] = [];
  w.onError = (e) => errors.push(e);
  w.push(Buffer.alloc(10));
  await assert.rejects(w.finish(), /disk full/);
  assert.equal(errors.length, 1);
  assert.equal(w.push(Buffer.alloc(1)), false, 'no more bytes taken after a failure');
});

/** A server answering each connection with `answer(socket)` after the request head arrived. */
async function server(answer: (s: Socket, requestHead: string) => void): Promise<{ connect: RawConnect; heads: string[]; close: () => void }> {
  const heads: string[] = [];
  const srv = createServer((s) => {
    let head = '';
    s.on('data', (b: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += b.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        heads.push(head);
        answer(s, head);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    heads,
    connect: (onread) =>
      new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, onread }, () => resolve(s));
        s.once('error', reject);
      }),
    close: () => srv.close(),
  };
}

/** Writes `parts` with a pause between them (so they arrive as separate reads). */
async function dribble(s: Socket, parts: Buffer[]): Promise<void> {
  for (const p of parts) {
    s.write(p);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function collect(): { write: (cs: Uint8Array[], n: number) => Promise<void>; bytes: () => Buffer } {
  const out: Buffer[] = [];
  return { write: async (cs) => void out.push(...cs.map((c) => Buffer.from(c))), bytes: () => Buffer.concat(out) };
}

test('rawGet: the head is parsed across reads, the body written exactly (Content-Length), the request names the range', async (t) => {
  const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
  const srv = await server((s) => {
    const head = Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-300004/300005\r\nContent-Length: ${body.length}\r\nX-Twice: a\r\nX-Twice: b\r\n\r\n`);
    const all = Buffer.concat([head, body, Buffer.from('trailing junk')]);
    void dribble(s, [all.subarray(0, 7), all.subarray(7, head.length + 3), all.subarray(head.length + 3, 200_000), all.subarray(200_000)]);
  });
  t.after(() => srv.close());
  const sink = collect();
  const res = await rawGet(srv.connect, { host: 'h:1', path: '/v2/demo/blobs/sha256:x', headers: { range: 'bytes=5-' }, expect: 206 }, sink.write);
  assert.equal(res.status, 206);
  assert.equal(res.headers['x-twice'], 'a, b');
  assert.deepEqual(sink.bytes(), body);
  assert.match(srv.heads[0] as string, /^GET \/v2\/demo\/blobs\/sha256:x HTTP\/1\.1\r\n/);
  assert.match(srv.heads[0] as string, /\r\nrange: bytes=5-\r\n/);
});

test('rawGet: a writer slower than the network holds the socket back and still gets every byte in order', async (t) => {
  const body = Buffer.alloc(14 * 1024 * 1024);
  for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
  const srv = await server((s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
    s.end(body);
  });
  t.after(() => srv.close());
  const out: Buffer[] = [];
  let writes = 0;
  const res = await rawGet(srv.connect, { host: 'h', path: '/b', headers: {}, expect: 200 }, async (cs) => {
    writes++;
    await new Promise((r) => setTimeout(r, 30));
    out.push(...cs.map((c) => Buffer.from(c)));
  });
  assert.equal(res.status, 200);
  assert.ok(writes >= 3, `written in batches (${writes})`);
  assert.ok(Buffer.concat(out).equals(body), 'every byte, in order');
});

test('rawGet: a cut mid-body writes what arrived, then rejects with UNAVAILABLE', async (t) => {
  const body = Buffer.alloc(100_000, 7);
  const srv = await server((s) => {
    void dribble(s, [Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n`), body]).then(() => s.destroy());
  });
  t.after(() => srv.close());
  const sink = collect();
  await assert.rejects(rawGet(srv.connect, { host: 'h', path: '/b', headers: {}, expect: 200 }, sink.write), (e: unknown) => e instanceof RegistryError && e.code === 'UNAVAILABLE');
  assert.deepEqual(sink.bytes(), body, 'the bytes that arrived were written (a resume continues after them)');
});

test('rawGet: an error answer and an answer other than the one asked for write nothing', async (t) => {
  const srv = await server((s, head) => {
    const notFound = '{"errors":[{"code":"BLOB_UNKNOWN","message":"no such blob"}]}';
    if (head.includes('/missing')) s.end(`HTTP/1.1 404 Not Found\r\nContent-Length: ${notFound.length}\r\n\r\n${notFound}`);
    else s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
  });
  t.after(() => srv.close());
  const sink = collect();
  const missing = await rawGet(srv.connect, { host: 'h', path: '/missing', headers: {}, expect: 200 }, sink.write);
  assert.equal(missing.status, 404);
  assert.match(missing.errorText, /BLOB_UNKNOWN/);
  const whole = await rawGet(srv.connect, { host: 'h', path: '/b', headers: { range: 'bytes=3-' }, expect: 206 }, sink.write);
  assert.equal(whole.status, 200);
  let refused = false;
  await assert.rejects(
    rawGet(srv.connect, { host: 'h', path: '/b', headers: {}, expect: 200, validate: () => ((refused = true), assert.fail('refused')) }, sink.write),
    /refused/,
  );
  assert.ok(refused);
  assert.equal(sink.bytes().length, 0, 'nothing written');
});

test('parseHead refuses what is not an HTTP/1.1 answer and conflicting Content-Lengths', () => {
  assert.throws(() => parseHead('SSH-2.0-OpenSSH'), /not an HTTP\/1\.1 answer/);
  assert.throws(() => parseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6'), /conflicting Content-Length/);
  assert.throws(() => parseHead('HTTP/1.1 200 OK\r\nno colon here'), /malformed header field/);
  assert.equal(parseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5').headers['content-length'], '5');
});
