// Loading and checking one MaxMind DB (.mmdb) file, and reading a country from its records.
// Format: MaxMind DB File Format Specification 2.0 (https://maxmind.github.io/MaxMind-DB/);
// the tree walk and decoding are the `maxmind` package's (mmdb-lib) Reader.
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Reader, type Response } from 'maxmind';
import { isCountryCode } from '../config/index.ts';
import { GeoError } from './errors.ts';

const require = createRequire(import.meta.url);

/** The CC0/CC-BY country database shipped from npm (@ip-location-db/geo-whois-asn-country-mmdb). */
export const DEFAULT_GEO_DATABASE = path.join(
  path.dirname(require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/package.json')),
  'geo-whois-asn-country.mmdb',
);

export interface DatabaseInfo {
  readonly path: string;
  /** metadata database_type, e.g. "GeoLite2-Country" or "country ipvAll". */
  readonly databaseType: string;
  readonly buildEpoch: Date;
  readonly ipVersion: 4 | 6;
  readonly nodeCount: number;
  readonly bytes: number;
  readonly loadedAt: Date;
}

export interface LoadedDatabase {
  readonly reader: Reader<Response>;
  readonly info: DatabaseInfo;
  /** Identity of the file contents that were loaded (device, inode, size, times). */
  readonly signature: string;
}

export function fileSignature(st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * The decoder caches decoded records by data-section offset. A country database has a few
 * hundred distinct records, so a bounded Map that starts over when full is enough.
 */
function recordCache(max: number): { get(key: string | number): unknown; set(key: string | number, value: unknown): void } {
  const map = new Map<string | number, unknown>();
  return {
    get: (key) => map.get(key),
    set: (key, value) => {
      if (map.size >= max) map.clear();
      map.set(key, value);
    },
  };
}

/**
 * Country code of a record, in either shape:
 * - ip-location-db: `{ country_code: "DE" }`
 * - GeoIP2/GeoLite2 Country and City: `country.iso_code`, else `registered_country.iso_code`
 *   (the country of registration, set where no location country is, e.g. some anycast blocks).
 * Only ISO 3166-1 alpha-2 codes and XK (Kosovo, user-assigned, used by MaxMind and the RIRs)
 * count: legacy pseudo-codes such as EU, AP, A1 name no country and read as none.
 */
export function countryOf(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object') return undefined;
  const r = record as { country_code?: unknown; country?: { iso_code?: unknown }; registered_country?: { iso_code?: unknown } };
  const code = r.country_code ?? r.country?.iso_code ?? r.registered_country?.iso_code;
  if (typeof code !== 'string' || code.length !== 2) return undefined;
  const cc = code.toUpperCase();
  return isCountryCode(cc) || cc === 'XK' ? cc : undefined;
}

/** Addresses spread over the space, looked up once when a file is loaded to prove it reads. */
const PROBES_V4 = ['1.1.1.1', '8.8.8.8', '31.13.64.1', '41.0.0.1', '58.0.0.1', '80.0.0.1', '103.0.0.1', '142.250.0.1', '185.0.0.1', '200.0.0.1', '212.0.0.1'];
const PROBES_V6 = ['2001:4860:4860::8888', '2400:cb00::1', '2a00:1450::1', '2c0f:f000::1', '2800:3f0::1', '2606:4700::1'];

function invalid(file: string, reason: string, cause?: unknown): GeoError {
  return new GeoError(
    'SOVEREIGN_GEO_DATABASE_INVALID',
    `${file}: not a usable MaxMind DB country database: ${reason}; point geo.database at a GeoIP2/GeoLite2 Country ` +
      'or City .mmdb (or an ip-location-db country .mmdb), or remove geo.database to use the shipped one',
    { cause },
  );
}

/** Reads, parses and checks a database file. Throws a GeoError that names the file and the reason. */
export async function loadDatabase(file: string): Promise<LoadedDatabase> {
  let buf: Buffer;
  let signature: string;
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
      signature = fileSignature(st);
      buf = await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? 'file not found' : e.message;
    throw new GeoError(
      'SOVEREIGN_GEO_DATABASE_UNREADABLE',
      `${file}: cannot read the geo database: ${reason}; set geo.database to an existing .mmdb file (relative to the config file) or remove it to use the shipped one`,
      { cause: err },
    );
  }

  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    throw invalid(file, 'the file is gzip-compressed (a MaxMind download is a .tar.gz); extract the .mmdb file from it');
  }
  let reader: Reader<Response>;
  try {
    reader = new Reader<Response>(buf, { cache: recordCache(10_000) });
  } catch (err) {
    throw invalid(file, `metadata cannot be parsed (${(err as Error).message})`, err);
  }
  const m = reader.metadata;
  if (m.binaryFormatMajorVersion !== 2) throw invalid(file, `binary format major version ${String(m.binaryFormatMajorVersion)} (expected 2)`);
  if (m.ipVersion !== 4 && m.ipVersion !== 6) throw invalid(file, `ip_version ${String(m.ipVersion)} (expected 4 or 6)`);
  if (!Number.isInteger(m.nodeCount) || m.nodeCount <= 0) throw invalid(file, `node_count ${String(m.nodeCount)} (expected a positive integer)`);
  if (m.searchTreeSize + 16 > buf.length) throw invalid(file, `the search tree (${m.searchTreeSize} bytes) is larger than the file (${buf.length} bytes): truncated?`);

  // Walk the tree and decode a few records: a truncated or scribbled file fails here rather
  // than on a request. A file whose records carry no country (an ASN database, say) is refused.
  const probes = m.ipVersion === 6 ? [...PROBES_V4, ...PROBES_V6] : PROBES_V4;
  let found = 0;
  let withCountry = 0;
  for (const ip of probes) {
    let record: unknown;
    try {
      record = reader.get(ip);
    } catch (err) {
      throw invalid(file, `looking up ${ip} failed (${(err as Error).message}): the file is corrupt or truncated`, err);
    }
    if (record === null || record === undefined) continue;
    found++;
    if (countryOf(record) !== undefined) withCountry++;
  }
  if (found > 0 && withCountry === 0) {
    throw invalid(file, 'its records have no country (expected country_code, country.iso_code or registered_country.iso_code)');
  }

  const info: DatabaseInfo = {
    path: file,
    databaseType: typeof m.databaseType === 'string' ? m.databaseType : '',
    buildEpoch: m.buildEpoch,
    ipVersion: m.ipVersion,
    nodeCount: m.nodeCount,
    bytes: buf.length,
    loadedAt: new Date(),
  };
  return { reader, info, signature };
}
