import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import fc from 'fast-check';
import { createClientAddressResolver, GeoError, parseIp } from '../../src/geo/index.ts';

const TRUSTED = ['10.0.0.0/8', '192.168.1.1', '2001:db8:aaaa::/48', '::ffff:172.16.0.0/108'];
const resolve = createClientAddressResolver(TRUSTED);

const CLIENT = '8.8.8.8'; // the real client (US)
const SPOOF = '193.99.144.80'; // what it claims to be (DE)

test('the socket peer is the client when it is not a trusted proxy; its X-Forwarded-For is ignored', () => {
  assert.equal(resolve(CLIENT, SPOOF), CLIENT);
  assert.equal(resolve(CLIENT, [SPOOF, '10.0.0.1']), CLIENT);
  assert.equal(resolve('::ffff:8.8.8.8', SPOOF), CLIENT);
  assert.equal(resolve('2a01:e0c:1::1', SPOOF), '2a01:e0c:1::1');
  // With no trusted proxies at all, nothing in the header is ever read.
  const none = createClientAddressResolver([]);
  assert.equal(none('10.0.0.1', SPOOF), '10.0.0.1');
  assert.equal(none('::ffff:10.0.0.1', undefined), '10.0.0.1');
});

test('behind one trusted proxy: the rightmost entry is the client, a spoofed entry to its left is not', () => {
  assert.equal(resolve('10.0.0.1', CLIENT), CLIENT);
  assert.equal(resolve('10.0.0.1', `${SPOOF}, ${CLIENT}`), CLIENT);
  assert.equal(resolve('10.0.0.1', `${SPOOF},${CLIENT}`), CLIENT);
  assert.equal(resolve('192.168.1.1', `${SPOOF}, ${CLIENT}`), CLIENT);
  // Dual-stack listener: the peer shows up IPv4-mapped and still matches 10.0.0.0/8.
  assert.equal(resolve('::ffff:10.0.0.1', `${SPOOF}, ${CLIENT}`), CLIENT);
  // A trusted proxy given as an IPv4-mapped network (::ffff:172.16.0.0/108 = 172.16.0.0/12).
  assert.equal(resolve('172.16.5.5', `${SPOOF}, ${CLIENT}`), CLIENT);
  assert.equal(resolve('2001:db8:aaaa::1', `${SPOOF}, ${CLIENT}`), CLIENT);
});

test('a chain of trusted proxies is walked right to left; the first untrusted hop is the client', () => {
  assert.equal(resolve('10.0.0.1', `${SPOOF}, ${CLIENT}, 10.0.0.3, 10.0.0.2`), CLIENT);
  // A client that writes a trusted address into its own header gains nothing: its real
  // address, appended by the first proxy, is reached first.
  assert.equal(resolve('10.0.0.1', `10.9.9.9, ${CLIENT}, 10.0.0.2`), CLIENT);
  // Every entry trusted: the leftmost is the client (nginx real_ip_recursive on).
  assert.equal(resolve('10.0.0.1', '10.0.0.3, 10.0.0.2'), '10.0.0.3');
  // No header or an empty one: the trusted peer itself.
  assert.equal(resolve('10.0.0.1', undefined), '10.0.0.1');
  assert.equal(resolve('10.0.0.1', ''), '10.0.0.1');
  assert.equal(resolve('10.0.0.1', []), '10.0.0.1');
  assert.equal(resolve('10.0.0.1', ' , ,'), '10.0.0.1');
});

test('several X-Forwarded-For headers are one list, in order', () => {
  assert.equal(resolve('10.0.0.1', [`${SPOOF}, ${CLIENT}`, '10.0.0.2']), CLIENT);
  assert.equal(resolve('10.0.0.1', [SPOOF, CLIENT]), CLIENT);
  assert.equal(resolve('10.0.0.1', [`${SPOOF}`, `${CLIENT}`, '10.0.0.3', ' 10.0.0.2 ']), CLIENT);
  assert.equal(resolve('10.0.0.1', [CLIENT, '']), CLIENT);
});

test('entries with ports, brackets, IPv6 and IPv4-mapped forms', () => {
  assert.equal(resolve('10.0.0.1', `${SPOOF}, 8.8.8.8:5678`), CLIENT);
  assert.equal(resolve('10.0.0.1', `${SPOOF}, [2001:4860:4860::8888]:443, 10.0.0.2:8080`), '2001:4860:4860::8888');
  assert.equal(resolve('10.0.0.1', `${SPOOF}, 2001:4860:4860:0:0:0:0:8888`), '2001:4860:4860::8888');
  assert.equal(resolve('10.0.0.1', `${SPOOF}, ::ffff:8.8.8.8, [::ffff:10.0.0.2]:80`), CLIENT);
  assert.equal(resolve('10.0.0.1', `${SPOOF},\t${CLIENT} ,  10.0.0.2  `), CLIENT);
  assert.equal(resolve('[::ffff:10.0.0.1]:40000', CLIENT), CLIENT);
});

test('an unparsable entry ends the walk at the last good hop, never further left', () => {
  // Garbage right after the peer: the peer is the answer.
  assert.equal(resolve('10.0.0.1', `${CLIENT}, unknown`), '10.0.0.1');
  // Garbage further in: the trusted hop to its right.
  assert.equal(resolve('10.0.0.1', `${SPOOF}, ${CLIENT}, proxy.internal, 10.0.0.2`), '10.0.0.2');
  for (const junk of ['unknown', '_hidden', '1.2.3', '300.1.1.1', '"8.8.8.8"', 'for=8.8.8.8', '[::1', '8.8.8.8 9.9.9.9']) {
    assert.equal(resolve('10.0.0.1', `${SPOOF}, ${junk}, 10.0.0.2`), '10.0.0.2', junk);
  }
  // Empty entries are not garbage: they are skipped.
  assert.equal(resolve('10.0.0.1', `${SPOOF}, ${CLIENT},, 10.0.0.2,`), CLIENT);
});

test('a peer that is not an address is returned as given; a closed socket gives ""', () => {
  assert.equal(resolve(' not-an-ip ', CLIENT), 'not-an-ip');
  assert.equal(resolve(undefined as unknown as string, CLIENT), '');
});

test('a bad trusted-proxy entry is refused at construction, naming the entry and its index', () => {
  for (const [list, index, entry] of [
    [['10.0.0.0/8', '10.0.0.0/33'], 1, '10.0.0.0/33'],
    [['proxy.internal'], 0, 'proxy.internal'],
    [['10.0.0.1', '2001:db8::/129'], 1, '2001:db8::/129'],
    [['10.0.0.1', ''], 1, ''],
  ] as const) {
    assert.throws(
      () => createClientAddressResolver([...list]),
      (err: unknown) => {
        assert.ok(err instanceof GeoError);
        assert.equal(err.code, 'SOVEREIGN_GEO_TRUSTED_PROXY_INVALID');
        assert.match(err.message, new RegExp(`trustedProxies\\[${index}\\]`));
        assert.ok(err.message.includes(`"${entry}"`), err.message);
        return true;
      },
    );
  }
});

// ---- properties ---------------------------------------------------------------------------

const trustedList = new BlockList();
trustedList.addSubnet('10.0.0.0', 8, 'ipv4');
trustedList.addAddress('192.168.1.1', 'ipv4');
trustedList.addSubnet('2001:db8:aaaa::', 48, 'ipv6');
trustedList.addSubnet('172.16.0.0', 12, 'ipv4');
const isTrusted = (ip: string): boolean => {
  const p = parseIp(ip);
  return p !== undefined && trustedList.check(p.address, p.family === 4 ? 'ipv4' : 'ipv6');
};

const octet = fc.nat({ max: 255 });
const hex16 = fc.nat({ max: 0xffff }).map((n) => n.toString(16));
/** A trusted proxy address, in any of the spellings a proxy might write. */
const trustedHop = fc.oneof(
  fc.tuple(octet, octet, octet).map(([a, b, c]) => `10.${a}.${b}.${c}`),
  fc.constant('192.168.1.1'),
  fc.tuple(octet, octet).map(([a, b]) => `::ffff:172.16.${a}.${b}`),
  fc.tuple(hex16, hex16).map(([a, b]) => `2001:db8:aaaa:${a}::${b}`),
  fc.tuple(octet, fc.nat({ max: 65535 })).map(([a, port]) => `10.0.0.${a}:${port}`),
  fc.tuple(hex16, fc.nat({ max: 65535 })).map(([a, port]) => `[2001:db8:aaaa::${a}]:${port}`),
);
/** The real client: any address that is not a trusted proxy. */
const clientAddress = fc.oneof(fc.ipV4(), fc.ipV6()).filter((ip) => !isTrusted(ip));
/** Whatever a client writes into its own X-Forwarded-For. */
const clientPrefix = fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.ipV4(), fc.ipV6(), trustedHop, fc.constant('unknown')), { maxLength: 8 });
const ws = fc.constantFrom('', ' ', '  ', '\t');

function header(entries: string[], pad: string, splitAt: number): string | string[] {
  const parts = entries.map((e) => `${pad}${e}${pad}`);
  if (splitAt <= 0 || splitAt >= parts.length) return parts.join(',');
  return [parts.slice(0, splitAt).join(','), parts.slice(splitAt).join(',')];
}

test('property: through any chain of trusted proxies, the client gets its real address, whatever it wrote', () => {
  fc.assert(
    fc.property(clientPrefix, clientAddress, fc.array(trustedHop, { maxLength: 6 }), trustedHop, ws, fc.nat({ max: 20 }), (prefix, client, chain, peer, pad, splitAt) => {
      // client → chain[0] → ... → chain[n-1] → peer → gateway. Each proxy appends the address
      // it received the request from: chain[0] appends the client, chain[i] appends chain[i-1].
      const xff = [...prefix, client, ...chain];
      const got = resolve(peer, header(xff, pad, splitAt));
      const real = parseIp(client)?.address;
      assert.equal(got, real);
      // In particular: nothing the client supplied (left of its real address) is ever chosen.
      for (const spoof of prefix) {
        const p = parseIp(spoof)?.address;
        if (p !== undefined && p !== real) assert.notEqual(got, p);
      }
    }),
    { numRuns: 2000 },
  );
});

test('property: an untrusted peer is the client; its header is never read', () => {
  fc.assert(
    fc.property(clientAddress, fc.oneof(fc.string(), fc.array(fc.string()), fc.constant(undefined)), (peer, xff) => {
      assert.equal(resolve(peer, xff), parseIp(peer)?.address);
    }),
  );
});

test('property: garbage from a trusted proxy stops the walk at the trusted hop to its right', () => {
  const junk = fc.constantFrom('unknown', 'proxy.internal', '_obf', '1.2.3', 'x:y:z', '[bad]');
  fc.assert(
    fc.property(clientPrefix, clientAddress, fc.array(trustedHop, { maxLength: 3 }), junk, fc.array(trustedHop, { maxLength: 3 }), trustedHop, (prefix, client, left, bad, right, peer) => {
      const got = resolve(peer, [...prefix, client, ...left, bad, ...right].join(', '));
      const expected = parseIp(right[0] ?? peer)?.address;
      assert.equal(got, expected);
      assert.ok(isTrusted(got));
    }),
  );
});

test('property: never throws on arbitrary input; the answer is the peer or one of the header entries', () => {
  const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom(...'0123456789abcdef:.[], %') }));
  const anyHeader = fc.oneof(fc.constant(undefined), anyText, fc.array(anyText, { maxLength: 5 }));
  fc.assert(
    fc.property(fc.oneof(anyText, trustedHop), anyHeader, (peer, xff) => {
      const got = resolve(peer, xff);
      assert.equal(typeof got, 'string');
      const entries = (typeof xff === 'string' ? [xff] : (xff ?? [])).join(',').split(',');
      const candidates = new Set([peer.trim(), ...[peer, ...entries].map((e) => parseIp(e)?.address)]);
      assert.ok(candidates.has(got), `${JSON.stringify(got)} from ${JSON.stringify([peer, xff])}`);
    }),
    { numRuns: 2000 },
  );
});

