import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { formatIpv6, ipv6Groups, parseCidr, parseIp } from '../../src/geo/address.ts';

test('parseIp: IPv4, IPv6, ports, brackets, zones, whitespace', () => {
  const cases: [string, string | undefined, (4 | 6)?][] = [
    ['203.0.113.7', '203.0.113.7', 4],
    ['  203.0.113.7\t', '203.0.113.7', 4],
    ['203.0.113.7:5678', '203.0.113.7', 4],
    ['203.0.113.7:65535', '203.0.113.7', 4],
    ['2001:db8::1', '2001:db8::1', 6],
    ['2001:DB8:0:0:0:0:0:0001', '2001:db8::1', 6],
    ['[2001:db8::1]', '2001:db8::1', 6],
    ['[2001:db8::1]:443', '2001:db8::1', 6],
    ['fe80::1%eth0', 'fe80::1', 6],
    ['[fe80::1%25eth0]:80', 'fe80::1', 6],
    ['::', '::', 6],
    ['::1', '::1', 6],
    // An unbracketed IPv6 address ending in digits is an address, not address:port.
    ['2001:db8::1:443', '2001:db8::1:443', 6],
    // IPv4-mapped IPv6 (RFC 4291 §2.5.5.2), in all its spellings, becomes IPv4.
    ['::ffff:1.2.3.4', '1.2.3.4', 4],
    ['::FFFF:1.2.3.4', '1.2.3.4', 4],
    ['::ffff:c000:201', '192.0.2.1', 4],
    ['0:0:0:0:0:ffff:0102:0304', '1.2.3.4', 4],
    ['[::ffff:1.2.3.4]:80', '1.2.3.4', 4],
    // Not addresses.
    ['', undefined],
    ['   ', undefined],
    ['unknown', undefined],
    ['example.com', undefined],
    ['_hidden', undefined],
    ['1.2.3', undefined],
    ['01.2.3.4', undefined],
    ['0x7f.0.0.1', undefined],
    ['256.1.1.1', undefined],
    ['1.2.3.4:', undefined],
    ['1.2.3.4:65536', undefined],
    ['1.2.3.4:80:80', undefined],
    ['[1.2.3.4]', undefined],
    ['[2001:db8::1', undefined],
    ['[2001:db8::1]x', undefined],
    ['[2001:db8::1]:99999', undefined],
    ['1.2.3.4 5.6.7.8', undefined],
    ['"1.2.3.4"', undefined],
    ['x'.repeat(10_000), undefined],
  ];
  for (const [input, address, family] of cases) {
    const got = parseIp(input);
    if (address === undefined) assert.equal(got, undefined, JSON.stringify(input));
    else assert.deepEqual(got, { address, family }, JSON.stringify(input));
  }
});

test('formatIpv6 follows RFC 5952 §4', () => {
  const f = (s: string): string => formatIpv6(ipv6Groups(s));
  assert.equal(f('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(f('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // a single zero group is not compressed
  assert.equal(f('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1'); // the longest run
  assert.equal(f('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // the first of equal runs
  assert.equal(f('0:0:0:0:0:0:0:0'), '::');
  assert.equal(f('1:0:0:0:0:0:0:0'), '1::');
  assert.equal(f('::1.2.3.4'), '::102:304');
});

test('property: normal form is a fixed point and a valid address', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (ip) => {
      const once = parseIp(ip);
      if (once === undefined) return isIP(ip) === 0; // fc.ipV4Extended includes octal/hex forms
      assert.notEqual(isIP(once.address), 0);
      assert.deepEqual(parseIp(once.address), once);
      return true;
    }),
  );
});

test('parseCidr: addresses, networks, mapped networks, errors', () => {
  assert.deepEqual(parseCidr('10.0.0.7'), { address: '10.0.0.7', family: 4, prefix: 32 });
  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', family: 4, prefix: 8 });
  assert.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', family: 6, prefix: 32 });
  assert.deepEqual(parseCidr('::ffff:10.0.0.0/104'), { address: '10.0.0.0', family: 4, prefix: 8 });
  assert.deepEqual(parseCidr(' 0.0.0.0/0 '), { address: '0.0.0.0', family: 4, prefix: 0 });
  for (const bad of ['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', '10.0.0.0/ 8', 'proxy.internal', '', '10.0.0', 'fe80::1%eth0', '::ffff:10.0.0.0/8']) {
    assert.ok('error' in parseCidr(bad), bad);
  }
});
