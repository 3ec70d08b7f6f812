// A PostgreSQL 15 server of the test's own, with TLS on and one pg_hba line,
// `hostssl all all 127.0.0.1/32 trust clientcert=verify-ca`: no plain-text connection and no
// connection without a client certificate that chains to ssl_ca_file gets in. initdb refuses
// to run as root, so the server runs as the `postgres` OS user in a temporary directory it owns.
// Started fast (no fsync, a small cluster) and always stopped: by stop(), and at process exit.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.ts';

const run = promisify(execFile);
export const PG_BIN = process.env.SOVEREIGN_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Null when a server can be started here, else why not (tests skip with it, or fail under CI). */
export function tlsPostgresUnavailable(): string | null {
  if (!existsSync(path.join(PG_BIN, 'initdb'))) return `no PostgreSQL 15 binaries in ${PG_BIN} (apt-get install postgresql-15, or set SOVEREIGN_TEST_PG_BIN)`;
  if (process.getuid?.() !== 0) return 'starting a PostgreSQL server of the test\'s own needs root (it runs as the postgres OS user)';
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) return 'there is no postgres OS user to run the test server as';
  return null;
}

export interface TlsPostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres plus `query` (e.g. "sslmode=verify-full"). */
  url(query?: string): string;
  /** Replaces the server's certificate, key and CA and reloads it (PostgreSQL reloads TLS files on SIGHUP). */
  setTls(files: { cert: string; key: string; ca: string }): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

function ids(): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

/** Starts the server with `tls` (PEM: the server's chain and key, the CA client certificates must chain to). */
export async function startTlsPostgres(tls: { cert: string; key: string; ca: string }): Promise<TlsPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-pgtls-'));
  const data = path.join(dir, 'data');
  const { uid, gid } = ids();
  chownSync(dir, uid, gid);
  const asPostgres = (bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> => run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args], { cwd: dir, timeout: 120_000 });
  const files = { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key'), ca: path.join(dir, 'ca.crt') };
  const writeTls = (t: { cert: string; key: string; ca: string }): void => {
    for (const [f, body, mode] of [[files.cert, t.cert, 0o644], [files.key, t.key, 0o600], [files.ca, t.ca, 0o644]] as const) {
      writeFileSync(f, body, { mode });
      chownSync(f, uid, gid);
    }
  };
  const port = await freePort();
  let started = false;
  const stopSync = (): void => {
    if (!started) return;
    started = false;
    spawnSync('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore', timeout: 60_000 });
  };
  // A test file that dies mid-way still stops its server.
  process.once('exit', stopSync);
  try {
    await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    writeTls(tls);
    appendFileSync(
      path.join(data, 'postgresql.conf'),
      [
        `listen_addresses = '127.0.0.1'`,
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        'ssl = on',
        `ssl_cert_file = '${files.cert}'`,
        `ssl_key_file = '${files.key}'`,
        `ssl_ca_file = '${files.ca}'`,
        'fsync = off',
        'full_page_writes = off',
        'shared_buffers = 16MB',
        'max_connections = 60',
        'log_connections = on',
        '',
      ].join('\n'),
    );
    // The only way in: TLS, and a client certificate that chains to ssl_ca_file (PostgreSQL 15 docs §21.1, §19.9.3).
    writeFileSync(path.join(data, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 trust clientcert=verify-ca\n');
    started = true;
    await asPostgres('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  } catch (err) {
    stopSync();
    const log = existsSync(path.join(dir, 'server.log')) ? readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-2000) : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start the test PostgreSQL server: ${(err as Error).message}\n${log}`);
  }
  return {
    port,
    url: (query) => `postgres://postgres@127.0.0.1:${port}/postgres${query ? `?${query}` : ''}`,
    async setTls(t) {
      writeTls(t);
      await asPostgres('pg_ctl', ['-D', data, 'reload']);
    },
    log: () => (existsSync(path.join(dir, 'server.log')) ? readFileSync(path.join(dir, 'server.log'), 'utf8') : ''),
    async stop() {
      process.removeListener('exit', stopSync);
      stopSync();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
