import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadTopology, topologyFrom } from '../../src/config/index.ts';
import {
  DEFAULT_GEO_DATABASE,
  GeoError,
  SPECIAL_RANGES_V4,
  SPECIAL_RANGES_V6,
  databasePathOf,
  openGeo,
  openGeoForTopology,
  type Geo,
} from '../../src/geo/index.ts';
import { writeMmdb } from './mmdb-writer.ts';
import { KNOWN_ADDRESSES, tempDir } from './helpers.ts';

const topology = loadTopology();
const jurisdictionOfCountry = (cc: string): string => topology.jurisdictionOfCountry(cc);

let shipped: Promise<Geo> | undefined;
/** The shipped database, opened once for this file. */
function shippedGeo(): Promise<Geo> {
  shipped ??= openGeo({ jurisdictionOfCountry, watch: false });
  return shipped;
}

test('the default database is the shipped ip-location-db country file', async () => {
  const geo = await shippedGeo();
  assert.equal(geo.databasePath, DEFAULT_GEO_DATABASE);
  assert.match(geo.databasePath, /@ip-location-db\/geo-whois-asn-country-mmdb\/geo-whois-asn-country\.mmdb$/);
  assert.equal(geo.info.ipVersion, 6);
  assert.ok(geo.info.nodeCount > 100_000);
});

test('well-known public addresses resolve to their country and configured jurisdiction', async () => {
  const geo = await shippedGeo();
  const expected = { DE: 'EU', FR: 'EU', AE: 'AE', SG: 'SG', US: 'US' } as const;
  for (const [country, { v4, v6 }] of Object.entries(KNOWN_ADDRESSES)) {
    const jurisdiction = expected[country as keyof typeof expected];
    assert.deepEqual(geo.lookup(v4), { ip: v4, country, jurisdiction, source: 'geoip' }, v4);
    assert.deepEqual(geo.lookup(v6), { ip: v6, country, jurisdiction, source: 'geoip' }, v6);
  }
  // Other spellings of the same addresses.
  assert.deepEqual(geo.lookup('::ffff:193.99.144.80'), { ip: '193.99.144.80', country: 'DE', jurisdiction: 'EU', source: 'geoip' });
  assert.equal(geo.lookup('212.27.48.10:443').country, 'FR');
  assert.equal(geo.lookup('[2A01:0E0C:0001::0001]:443').ip, '2a01:e0c:1::1');
  assert.equal(geo.lookup('[2A01:0E0C:0001::0001]:443').country, 'FR');
});

test('a country no jurisdiction lists is its own jurisdiction', async () => {
  const geo = await shippedGeo();
  assert.deepEqual(geo.lookup('1.1.1.1'), { ip: '1.1.1.1', country: 'AU', jurisdiction: 'AU', source: 'geoip' });
});

/** The last address of a network, for the boundary checks below. */
function lastAddress(cidr: string): string {
  const [addr = '', p = ''] = cidr.split('/');
  const prefix = Number(p);
  if (!addr.includes(':')) {
    const n = addr.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const last = n + 2 ** (32 - prefix) - 1;
    return [24, 16, 8, 0].map((s) => Math.floor(last / 2 ** s) % 256).join('.');
  }
  const [l = '', r = ''] = addr.split('::');
  const left = l === '' ? [] : l.split(':');
  const right = r === '' ? [] : r.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  let v = groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
  v |= (1n << BigInt(128 - prefix)) - 1n;
  return Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

test('special-purpose, multicast and reserved addresses are unknown, whatever the database says', async (t) => {
  // A database that claims a country for everything, special ranges included.
  const dir = tempDir(t);
  const file = path.join(dir, 'everything-de.mmdb');
  writeFileSync(file, writeMmdb([{ cidr: '0.0.0.0/0', data: { country_code: 'DE' } }, { cidr: '::/0', data: { country_code: 'DE' } }]));
  const geo = await openGeo({ database: file, jurisdictionOfCountry, watch: false });
  const special = (ip: string): void => assert.deepEqual(geo.lookup(ip), { ip: geo.lookup(ip).ip, jurisdiction: 'unknown', source: 'special-range' }, ip);

  for (const { cidr } of [...SPECIAL_RANGES_V4, ...SPECIAL_RANGES_V6]) {
    special(cidr.split('/')[0] ?? '');
    special(lastAddress(cidr));
  }
  for (const ip of [
    '10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.1.1', // private
    '127.0.0.1', '::1', '::ffff:127.0.0.1', '[::1]:8080', // loopback
    '169.254.169.254', 'fe80::1', 'fe80::1%eth0', // link-local
    '100.64.0.1', '100.127.255.255', // CGNAT
    '192.0.2.1', '198.51.100.7', '203.0.113.99', '2001:db8::1', '3fff::1', // documentation
    '224.0.0.1', '239.255.255.250', 'ff02::1', 'ff05::1:3', // multicast
    '240.0.0.1', '255.255.255.255', '0.0.0.0', '::', // reserved, broadcast, unspecified
    'fc00::1', 'fd12:3456:789a::1', // unique local
    '198.18.0.1', '2001::1', '64:ff9b::808:808', 'fec0::1', '4000::1', // benchmarking, Teredo, NAT64, site-local, unassigned
    '::ffff:10.0.0.1', '::ffff:c0a8:101', // IPv4-mapped private
  ]) {
    special(ip);
  }
  // Just outside the ranges: the database answers.
  for (const ip of ['9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255', '192.169.0.0', '223.255.255.255', '2000::1', '2001:200::1', '3ffe::1', '3fff:1000::1', '2c0f:ffff::1']) {
    assert.equal(geo.lookup(ip).source, 'geoip', ip);
    assert.equal(geo.lookup(ip).jurisdiction, 'EU', ip);
  }
  geo.close();
});

test('anything that is not an address, or not in the database, is unknown', async () => {
  const geo = await shippedGeo();
  for (const ip of ['', 'unknown', 'example.com', '1.2.3', '999.1.1.1', '1.2.3.4.5', '[::1', 'x'.repeat(1000)]) {
    assert.deepEqual(geo.lookup(ip), { ip, jurisdiction: 'unknown', source: 'not-found' }, ip);
  }
  // 6to4 is not in the shipped database.
  assert.deepEqual(geo.lookup('2002:c000:201::1'), { ip: '2002:c000:201::1', jurisdiction: 'unknown', source: 'not-found' });
});

test('GeoIP2/GeoLite2 records: country.iso_code, else registered_country.iso_code', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'GeoLite2-Country.mmdb');
  writeFileSync(
    file,
    writeMmdb(
      [
        { cidr: '1.2.3.0/24', data: { continent: { code: 'EU' }, country: { iso_code: 'DE', geoname_id: 2921044, names: { en: 'Germany' } }, registered_country: { iso_code: 'NL' } } },
        { cidr: '1.2.4.0/24', data: { registered_country: { iso_code: 'FR', names: { en: 'France' } } } },
        { cidr: '1.2.5.0/24', data: { country: { iso_code: 'ae' } } },
        { cidr: '1.2.6.0/24', data: { country: { iso_code: 'XK' } } },
        { cidr: '1.2.7.0/24', data: { country: { iso_code: 'EU' } } }, // legacy pseudo-code: no country
        { cidr: '1.2.8.0/24', data: { continent: { code: 'AS' } } },
        { cidr: '2a00::/16', data: { country: { iso_code: 'SG' } } },
        { cidr: '2a01::/16', data: { country_code: 'US' } },
      ],
      { databaseType: 'GeoLite2-Country' },
    ),
  );
  const geo = await openGeo({ database: file, jurisdictionOfCountry, watch: false });
  assert.equal(geo.info.databaseType, 'GeoLite2-Country');
  assert.deepEqual(geo.lookup('1.2.3.4'), { ip: '1.2.3.4', country: 'DE', jurisdiction: 'EU', source: 'geoip' });
  assert.deepEqual(geo.lookup('1.2.4.4'), { ip: '1.2.4.4', country: 'FR', jurisdiction: 'EU', source: 'geoip' });
  assert.deepEqual(geo.lookup('1.2.5.4'), { ip: '1.2.5.4', country: 'AE', jurisdiction: 'AE', source: 'geoip' });
  assert.deepEqual(geo.lookup('1.2.6.4'), { ip: '1.2.6.4', country: 'XK', jurisdiction: 'XK', source: 'geoip' });
  assert.deepEqual(geo.lookup('1.2.7.4'), { ip: '1.2.7.4', jurisdiction: 'unknown', source: 'not-found' });
  assert.deepEqual(geo.lookup('1.2.8.4'), { ip: '1.2.8.4', jurisdiction: 'unknown', source: 'not-found' });
  assert.deepEqual(geo.lookup('1.2.9.4'), { ip: '1.2.9.4', jurisdiction: 'unknown', source: 'not-found' });
  assert.deepEqual(geo.lookup('2a00:1::1'), { ip: '2a00:1::1', country: 'SG', jurisdiction: 'SG', source: 'geoip' });
  assert.deepEqual(geo.lookup('2a01:1::1'), { ip: '2a01:1::1', country: 'US', jurisdiction: 'US', source: 'geoip' });
  geo.close();
});

test('an IPv4-only database answers IPv4 and never misreads IPv6 as IPv4', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'v4.mmdb');
  copyFileSync(path.join(path.dirname(DEFAULT_GEO_DATABASE), 'geo-whois-asn-country-ipv4.mmdb'), file);
  const geo = await openGeo({ database: file, jurisdictionOfCountry, watch: false });
  assert.equal(geo.info.ipVersion, 4);
  assert.equal(geo.lookup(KNOWN_ADDRESSES.DE.v4).country, 'DE');
  assert.equal(geo.lookup('::ffff:8.8.8.8').country, 'US');
  // 2a00:1450::1 would read as 42.0.20.80 if the first 32 bits were taken for IPv4.
  assert.deepEqual(geo.lookup('2a00:1450::1'), { ip: '2a00:1450::1', jurisdiction: 'unknown', source: 'not-found' });
  assert.equal(geo.lookup(KNOWN_ADDRESSES.US.v6).source, 'not-found');
  geo.close();
});

test('an unusable database is refused at open with the file and the reason', async (t) => {
  const dir = tempDir(t);
  const expectError = async (file: string, code: string, reason: RegExp): Promise<void> => {
    await assert.rejects(openGeo({ database: file, jurisdictionOfCountry, watch: false }), (err: unknown) => {
      assert.ok(err instanceof GeoError, String(err));
      assert.equal(err.code, code);
      assert.ok(err.message.includes(file), err.message);
      assert.match(err.message, reason);
      return true;
    });
  };
  await expectError(path.join(dir, 'missing.mmdb'), 'SOVEREIGN_GEO_DATABASE_UNREADABLE', /file not found/);
  await expectError(dir, 'SOVEREIGN_GEO_DATABASE_UNREADABLE', /cannot read/);

  const garbage = path.join(dir, 'garbage.mmdb');
  writeFileSync(garbage, 'this is not a MaxMind database\n'.repeat(100));
  await expectError(garbage, 'SOVEREIGN_GEO_DATABASE_INVALID', /metadata cannot be parsed/);

  const gz = path.join(dir, 'GeoLite2-Country.tar.gz');
  writeFileSync(gz, gzipSync(writeMmdb([{ cidr: '1.0.0.0/8', data: { country_code: 'DE' } }])));
  await expectError(gz, 'SOVEREIGN_GEO_DATABASE_INVALID', /gzip/);

  // The real database with its search tree cut short (metadata kept): the probes fail.
  const truncated = path.join(dir, 'truncated.mmdb');
  const real = readFileSync(DEFAULT_GEO_DATABASE);
  const marker = real.lastIndexOf(Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'));
  writeFileSync(truncated, Buffer.concat([real.subarray(0, 1_000_000), real.subarray(marker)]));
  await expectError(truncated, 'SOVEREIGN_GEO_DATABASE_INVALID', /truncated|corrupt/);

  // An ASN database by mistake: records without a country.
  const asn = path.join(dir, 'GeoLite2-ASN.mmdb');
  writeFileSync(asn, writeMmdb([{ cidr: '0.0.0.0/1', data: { autonomous_system_number: 15169, autonomous_system_organization: 'GOOGLE' } }]));
  await expectError(asn, 'SOVEREIGN_GEO_DATABASE_INVALID', /no country/);
});

test('geo.database is relative to the config file; absent means the shipped database', async (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'custom.mmdb'), writeMmdb([{ cidr: '5.0.0.0/8', data: { country: { iso_code: 'SG' } } }]));
  const base = { jurisdictions: { EU: ['DE'], SG: ['SG'] }, regions: [{ id: 'sg', jurisdiction: 'SG', country: 'SG', url: 'http://127.0.0.1:1' }] };
  const withDb = topologyFrom({ ...base, geo: { database: 'custom.mmdb' } }, path.join(dir, 'sovereign.yaml'));
  assert.equal(databasePathOf(withDb), path.join(dir, 'custom.mmdb'));
  assert.equal(databasePathOf(topologyFrom(base, path.join(dir, 'sovereign.yaml'))), undefined);

  const geo = await openGeoForTopology(withDb, { watch: false });
  assert.equal(geo.databasePath, path.join(dir, 'custom.mmdb'));
  assert.deepEqual(geo.lookup('5.6.7.8'), { ip: '5.6.7.8', country: 'SG', jurisdiction: 'SG', source: 'geoip' });
  geo.close();
  const def = await openGeoForTopology(topologyFrom(base, path.join(dir, 'sovereign.yaml')), { watch: false });
  assert.equal(def.databasePath, DEFAULT_GEO_DATABASE);
  def.close();
});

test.after(async () => {
  (await shipped)?.close();
});
