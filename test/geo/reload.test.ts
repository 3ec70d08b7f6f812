import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_GEO_DATABASE, GeoError, openGeo, type Geo, type GeoOptions, type GeoReloadInfo } from '../../src/geo/index.ts';
import { writeMmdb } from './mmdb-writer.ts';
import { KNOWN_ADDRESSES, tempDir, waitFor } from './helpers.ts';

const jurisdictionOfCountry = (cc: string): string => (cc === 'DE' || cc === 'FR' ? 'EU' : cc);

/** Two small databases that disagree about 1.2.3.0/24, in the two GeoIP2 record shapes. */
const DB_DE = writeMmdb([{ cidr: '1.2.3.0/24', data: { country: { iso_code: 'DE' } } }], { buildEpoch: 1_700_000_000 });
const DB_SG = writeMmdb([{ cidr: '1.2.3.0/24', data: { registered_country: { iso_code: 'SG' } } }], { buildEpoch: 1_800_000_000 });

interface Harness {
  geo: Geo;
  file: string;
  dir: string;
  reloads: GeoReloadInfo[];
  errors: Error[];
}

async function harness(t: import('node:test').TestContext, initial: Buffer, opts: Partial<GeoOptions> = {}): Promise<Harness> {
  const dir = tempDir(t);
  const file = path.join(dir, 'country.mmdb');
  writeFileSync(file, initial);
  const reloads: GeoReloadInfo[] = [];
  const errors: Error[] = [];
  const geo = await openGeo({
    database: file,
    jurisdictionOfCountry,
    debounceMs: 20,
    onReload: (info) => reloads.push(info),
    onError: (err) => errors.push(err),
    ...opts,
  });
  t.after(() => geo.close());
  return { geo, file, dir, reloads, errors };
}

/** Writes next to the file and renames over it: how a database updater should replace it. */
function replaceAtomically(file: string, contents: Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
}

test('a database swapped by rename is used without reopening', async (t) => {
  const h = await harness(t, DB_DE);
  assert.deepEqual(h.geo.lookup('1.2.3.4'), { ip: '1.2.3.4', country: 'DE', jurisdiction: 'EU', source: 'geoip' });
  replaceAtomically(h.file, DB_SG);
  await waitFor(() => h.geo.lookup('1.2.3.4').country === 'SG', 5000, 'the swapped database');
  assert.deepEqual(h.geo.lookup('1.2.3.4'), { ip: '1.2.3.4', country: 'SG', jurisdiction: 'SG', source: 'geoip' });
  assert.equal(h.reloads.length, 1);
  assert.equal(h.reloads[0]?.previous.buildEpoch.getTime(), 1_700_000_000_000);
  assert.equal(h.reloads[0]?.current.buildEpoch.getTime(), 1_800_000_000_000);
  assert.equal(h.geo.info.buildEpoch.getTime(), 1_800_000_000_000);
  assert.deepEqual(h.errors, []);
});

test('a database rewritten in place is reloaded too', async (t) => {
  const h = await harness(t, DB_DE);
  writeFileSync(h.file, DB_SG);
  await waitFor(() => h.geo.lookup('1.2.3.4').country === 'SG', 5000, 'the rewritten database');
  assert.deepEqual(h.errors, []);
});

test('the shipped IPv4-only file replaced by the full one: IPv6 starts to resolve', async (t) => {
  const shippedDir = path.dirname(DEFAULT_GEO_DATABASE);
  const dir = tempDir(t);
  const file = path.join(dir, 'country.mmdb');
  copyFileSync(path.join(shippedDir, 'geo-whois-asn-country-ipv4.mmdb'), file);
  const reloads: GeoReloadInfo[] = [];
  const geo = await openGeo({ database: file, jurisdictionOfCountry, debounceMs: 20, onReload: (r) => reloads.push(r) });
  t.after(() => geo.close());
  assert.equal(geo.lookup(KNOWN_ADDRESSES.FR.v4).country, 'FR');
  assert.equal(geo.lookup(KNOWN_ADDRESSES.FR.v6).source, 'not-found');

  copyFileSync(DEFAULT_GEO_DATABASE, `${file}.new`);
  renameSync(`${file}.new`, file);
  await waitFor(() => reloads.length === 1, 10_000, 'the full database');
  assert.equal(geo.info.ipVersion, 6);
  assert.deepEqual(geo.lookup(KNOWN_ADDRESSES.FR.v6), { ip: KNOWN_ADDRESSES.FR.v6, country: 'FR', jurisdiction: 'EU', source: 'geoip' });
  assert.equal(geo.lookup(KNOWN_ADDRESSES.FR.v4).country, 'FR');
});

test('a corrupt new file is refused with its reason and the old database stays', async (t) => {
  const h = await harness(t, DB_DE);
  replaceAtomically(h.file, Buffer.from('definitely not an mmdb file\n'.repeat(50)));
  await waitFor(() => h.errors.length > 0, 5000, 'the refusal');
  const err = h.errors[0];
  assert.ok(err instanceof GeoError);
  assert.equal(err.code, 'SOVEREIGN_GEO_DATABASE_INVALID');
  assert.match(err.message, /refused the changed geo database, still using the one loaded at/);
  assert.ok(err.message.includes(h.file), err.message);
  assert.equal(h.geo.lookup('1.2.3.4').country, 'DE');
  assert.equal(h.reloads.length, 0);

  // A truncated copy (an updater that died half way) is refused as well.
  replaceAtomically(h.file, DB_SG.subarray(0, DB_SG.length - 40));
  await waitFor(() => h.errors.length > 1, 5000, 'the second refusal');
  assert.equal(h.geo.lookup('1.2.3.4').country, 'DE');

  // A good file afterwards is taken.
  replaceAtomically(h.file, DB_SG);
  await waitFor(() => h.geo.lookup('1.2.3.4').country === 'SG', 5000, 'the good database');
  assert.equal(h.reloads.length, 1);
  assert.equal(h.errors.length, 2);
});

test('a removed file leaves the loaded database in use, said once; its return is picked up', async (t) => {
  const h = await harness(t, DB_DE);
  rmSync(h.file);
  await waitFor(() => h.errors.length === 1, 5000, 'the report of the missing file');
  assert.match(h.errors[0]?.message ?? '', /cannot stat the geo database/);
  assert.equal(h.geo.lookup('1.2.3.4').country, 'DE');
  writeFileSync(h.file, DB_SG);
  await waitFor(() => h.geo.lookup('1.2.3.4').country === 'SG', 5000, 'the returned file');
  assert.equal(h.errors.length, 1);
});

test('stat polling alone (no fs.watch) picks up a change', async (t) => {
  const h = await harness(t, DB_DE, { fsWatch: false, pollIntervalMs: 50 });
  replaceAtomically(h.file, DB_SG);
  await waitFor(() => h.geo.lookup('1.2.3.4').country === 'SG', 5000, 'the polled change');
  assert.equal(h.reloads.length, 1);
});

test('a Kubernetes-style symlink swap (..data → new directory) is picked up', async (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'v1'));
  mkdirSync(path.join(dir, 'v2'));
  writeFileSync(path.join(dir, 'v1', 'country.mmdb'), DB_DE);
  writeFileSync(path.join(dir, 'v2', 'country.mmdb'), DB_SG);
  symlinkSync('v1', path.join(dir, '..data'));
  symlinkSync(path.join('..data', 'country.mmdb'), path.join(dir, 'country.mmdb'));
  const geo = await openGeo({ database: path.join(dir, 'country.mmdb'), jurisdictionOfCountry, debounceMs: 20 });
  t.after(() => geo.close());
  assert.equal(geo.lookup('1.2.3.4').country, 'DE');
  symlinkSync('v2', path.join(dir, '..data_tmp'));
  renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  await waitFor(() => geo.lookup('1.2.3.4').country === 'SG', 5000, 'the swapped symlink');
});

test('reload() loads now, and rejects (keeping the old one) when the file is bad', async (t) => {
  const h = await harness(t, DB_DE, { watch: false });
  writeFileSync(h.file, DB_SG);
  const info = await h.geo.reload();
  assert.equal(info.buildEpoch.getTime(), 1_800_000_000_000);
  assert.equal(h.geo.lookup('1.2.3.4').country, 'SG');
  writeFileSync(h.file, 'junk');
  await assert.rejects(h.geo.reload(), (err: unknown) => err instanceof GeoError && err.code === 'SOVEREIGN_GEO_DATABASE_INVALID');
  assert.equal(h.geo.lookup('1.2.3.4').country, 'SG');
});

test('with watch off, or after close(), changes are not picked up', async (t) => {
  const off = await harness(t, DB_DE, { watch: false });
  const closed = await harness(t, DB_DE, { pollIntervalMs: 20 });
  closed.geo.close();
  replaceAtomically(off.file, DB_SG);
  replaceAtomically(closed.file, DB_SG);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(off.geo.lookup('1.2.3.4').country, 'DE');
  assert.equal(closed.geo.lookup('1.2.3.4').country, 'DE');
  assert.equal(closed.reloads.length + off.reloads.length, 0);
});

test('lookups keep answering while files are swapped under them', async (t) => {
  const h = await harness(t, DB_DE);
  let swaps = 0;
  const deadline = Date.now() + 600;
  const seen = new Set<string | undefined>();
  while (Date.now() < deadline) {
    replaceAtomically(h.file, swaps++ % 2 === 0 ? DB_SG : DB_DE);
    for (let i = 0; i < 1000; i++) seen.add(h.geo.lookup('1.2.3.4').country);
    await new Promise((r) => setTimeout(r, 30));
  }
  // Every answer came from one database or the other; nothing else was ever seen.
  assert.ok([...seen].every((c) => c === 'DE' || c === 'SG'), JSON.stringify([...seen]));
  assert.deepEqual(h.errors, []);
});
