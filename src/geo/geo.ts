// IP → country → jurisdiction, over a MaxMind DB that can be replaced while the gateway runs.
//
// Reload: the database file's directory is watched with fs.watch (an atomic rename, a
// Kubernetes ConfigMap `..data` symlink swap or an in-place write all show up as events
// there), and its stat is polled as a fallback for filesystems where events do not arrive
// (NFS, some bind mounts) or when fs.watch cannot start. Either way the file is re-read only
// when its stat signature changed. A new file that does not load is refused with its reason
// (onError) and the reader in use stays; it is tried again when the file changes again.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseIp } from './address.ts';
import { DEFAULT_GEO_DATABASE, countryOf, fileSignature, loadDatabase, type DatabaseInfo, type LoadedDatabase } from './database.ts';
import { GeoError } from './errors.ts';
import { isSpecialAddress } from './special-ranges.ts';
import { UNKNOWN_JURISDICTION } from '../common/jurisdictions.ts';

/** The jurisdiction of an address with no known country. Reserved in the topology file. */
export { UNKNOWN_JURISDICTION };

export interface GeoResult {
  /** The address looked up, in normal form (see address.ts); as given when it does not parse. */
  ip: string;
  /** ISO 3166-1 alpha-2 country from the database. */
  country?: string;
  /** Jurisdiction of the country; 'unknown' if there is none. */
  jurisdiction: string;
  /** geoip: found in the database; special-range: private, loopback, documentation, ...; not-found: no country. */
  source: 'geoip' | 'special-range' | 'not-found';
}

export interface GeoReloadInfo {
  readonly databasePath: string;
  readonly previous: DatabaseInfo;
  readonly current: DatabaseInfo;
}

export interface GeoOptions {
  /** Path of a .mmdb file (absolute, or relative to the working directory); default: the shipped database. */
  database?: string;
  /** Topology.jurisdictionOfCountry: a country's configured jurisdiction, or the country code itself. */
  jurisdictionOfCountry: (cc: string) => string;
  /** Reload the file when it changes (default true). */
  watch?: boolean;
  /** Called after a changed file was loaded and is in use. */
  onReload?: (info: GeoReloadInfo) => void;
  /** Called when a changed file is refused (the old one stays in use) or watching fails. Default: a JSON line on stderr. */
  onError?: (err: Error) => void;
  /** Stat-poll interval in ms, the fallback to fs.watch (default 30 000; 0 turns polling off unless fs.watch fails). */
  pollIntervalMs?: number;
  /** Use fs.watch (default true); false leaves the stat poll alone, for filesystems without change events. */
  fsWatch?: boolean;
  /** Wait this long after a change event before reading, so a file being written is read once (default 200 ms). */
  debounceMs?: number;
}

export interface Geo {
  lookup(ip: string): GeoResult;
  /** Absolute path of the database file. */
  readonly databasePath: string;
  /** The database in use. */
  readonly info: DatabaseInfo;
  /** Re-reads the file now; rejects with a GeoError (and keeps the current one) if it is refused. */
  reload(): Promise<DatabaseInfo>;
  /** Stops watching. Lookups keep working on the loaded database. */
  close(): void;
}

const DEFAULT_POLL_MS = 30_000;
const FALLBACK_POLL_MS = 5_000;

function logToStderr(err: Error): void {
  const code = err instanceof GeoError ? err.code : undefined;
  process.stderr.write(`${JSON.stringify({ level: 'warn', component: 'geo', code, msg: err.message, time: new Date().toISOString() })}\n`);
}

export async function openGeo(opts: GeoOptions): Promise<Geo> {
  const databasePath = path.resolve(opts.database ?? DEFAULT_GEO_DATABASE);
  const jurisdictionOf = opts.jurisdictionOfCountry;
  const onError = opts.onError ?? logToStderr;
  let db: LoadedDatabase = await loadDatabase(databasePath);

  const notFound = (ip: string): GeoResult => ({ ip, jurisdiction: UNKNOWN_JURISDICTION, source: 'not-found' });

  function lookup(ip: string): GeoResult {
    const parsed = typeof ip === 'string' ? parseIp(ip) : undefined;
    if (parsed === undefined) return notFound(String(ip));
    const { address, family } = parsed;
    if (isSpecialAddress(address, family)) return { ip: address, jurisdiction: UNKNOWN_JURISDICTION, source: 'special-range' };
    const current = db;
    // An IPv4-only database would read the first 32 bits of an IPv6 address as an IPv4 one.
    if (family === 6 && current.info.ipVersion === 4) return notFound(address);
    let record: unknown;
    try {
      record = current.reader.get(address);
    } catch {
      return notFound(address);
    }
    const country = countryOf(record);
    if (country === undefined) return notFound(address);
    return { ip: address, country, jurisdiction: jurisdictionOf(country), source: 'geoip' };
  }

  // ---- reload ---------------------------------------------------------------------------
  let closed = false;
  let lastSeen = db.signature; // signature of the last file we tried (loaded or refused)
  let running: Promise<void> | undefined;
  let again = false;

  async function swapIn(): Promise<DatabaseInfo> {
    const next = await loadDatabase(databasePath);
    lastSeen = next.signature;
    const previous = db.info;
    db = next;
    opts.onReload?.({ databasePath, previous, current: next.info });
    return next.info;
  }

  /** Loads the file if its stat changed since the last attempt. Never throws. */
  async function checkOnce(): Promise<void> {
    let sig: string;
    try {
      sig = fileSignature(await stat(databasePath));
    } catch (err) {
      // Mid-swap or removed: keep serving; say so once per disappearance.
      if (lastSeen !== 'missing') {
        lastSeen = 'missing';
        onError(new GeoError('SOVEREIGN_GEO_DATABASE_UNREADABLE', `${databasePath}: cannot stat the geo database (${(err as Error).message}); still using the one loaded at ${db.info.loadedAt.toISOString()}`, { cause: err }));
      }
      return;
    }
    if (sig === lastSeen) return;
    try {
      await swapIn();
    } catch (err) {
      lastSeen = sig; // refused: not retried until the file changes again
      const reason = err instanceof Error ? err.message : String(err);
      onError(
        new GeoError(
          err instanceof GeoError ? err.code : 'SOVEREIGN_GEO_DATABASE_INVALID',
          `refused the changed geo database, still using the one loaded at ${db.info.loadedAt.toISOString()}: ${reason}`,
          { cause: err },
        ),
      );
    }
  }

  /** Runs checkOnce, serialised; a request during a run triggers one more run after it. */
  function check(): void {
    if (closed) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = checkOnce().finally(() => {
      running = undefined;
      if (again && !closed) {
        again = false;
        check();
      }
    });
  }

  let watcher: FSWatcher | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  const debounceMs = opts.debounceMs ?? 200;

  function startPolling(ms: number): void {
    if (pollTimer !== undefined || ms <= 0) return;
    pollTimer = setInterval(check, ms);
    pollTimer.unref();
  }

  if (opts.watch ?? true) {
    const pollMs = opts.pollIntervalMs ?? DEFAULT_POLL_MS;
    if (opts.fsWatch ?? true) {
      try {
        // The directory, not the file: a watch on the file follows the old inode after a rename.
        watcher = watch(path.dirname(databasePath), { persistent: false }, () => {
          if (closed) return;
          clearTimeout(debounceTimer);
          debounceTimer = setTimeout(check, debounceMs);
          debounceTimer.unref();
        });
        watcher.on('error', (err) => {
          watcher?.close();
          watcher = undefined;
          onError(new GeoError('SOVEREIGN_GEO_DATABASE_UNREADABLE', `${databasePath}: fs.watch stopped (${err.message}); polling for changes instead`, { cause: err }));
          startPolling(pollMs > 0 ? pollMs : FALLBACK_POLL_MS);
        });
      } catch (err) {
        onError(new GeoError('SOVEREIGN_GEO_DATABASE_UNREADABLE', `${databasePath}: fs.watch cannot start (${(err as Error).message}); polling for changes instead`, { cause: err }));
        startPolling(pollMs > 0 ? pollMs : FALLBACK_POLL_MS);
      }
    }
    startPolling(watcher === undefined && pollMs <= 0 ? FALLBACK_POLL_MS : pollMs);
  }

  return {
    lookup,
    databasePath,
    get info() {
      return db.info;
    },
    async reload() {
      // Explicit reloads load whatever is there, even if the stat looks unchanged.
      while (running !== undefined) await running;
      return swapIn();
    },
    close() {
      closed = true;
      watcher?.close();
      watcher = undefined;
      clearInterval(pollTimer);
      clearTimeout(debounceTimer);
    },
  };
}
