// `sovereign ledger <verb>`: key, verify, prove, show, check-receipt — a thin layer over src/ledger.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadTopology } from '../config/index.ts';
import { LedgerError, openLedger, verifyLog, verifyProof, verifierKeyFromFile, httpFetcher, parseEntry, type Ledger } from '../ledger/index.ts';

interface RegionOpts {
  region: string;
  dir?: string;
}

/** The region's ledger directory and key directory, from --dir or the topology. */
function regionPaths(program: Command, opts: RegionOpts): { dir: string; keyDir: string; origin: string } {
  const topology = loadTopology(program.opts<{ config?: string }>().config);
  const origin = topology.ledgerOrigin(opts.region);
  if (opts.dir !== undefined) {
    const dir = path.resolve(opts.dir);
    return { dir, keyDir: path.join(path.dirname(dir), 'keys'), origin };
  }
  if (topology.region(opts.region) === undefined) {
    throw new Error(`unknown region ${JSON.stringify(opts.region)}; configured: ${topology.regions.map((r) => r.id).join(', ')}`);
  }
  const base = topology.regionDataDir(opts.region);
  return { dir: path.join(base, 'ledger'), keyDir: path.join(base, 'keys'), origin };
}

/** What the read-only verbs need of a log, whether opened on disk or read from a running region. */
interface LedgerReader {
  size: number;
  verifierKey: string;
  entry(i: number): Promise<string>;
  proof(i: number): Promise<string>;
}

function localReader(l: Ledger): LedgerReader {
  return { size: l.size, verifierKey: l.verifierKey, entry: async (i) => l.entry(i).toString('utf8'), proof: (i) => l.proof(i) };
}

/** A region whose cell is running holds its log open: read it through the gateway instead. */
async function remoteReader(program: Command, region: string): Promise<LedgerReader> {
  const topology = loadTopology(program.opts<{ config?: string }>().config);
  const base = `http://${topology.data.gateway.host}:${topology.data.gateway.port}/sovereign/ledger/${region}`;
  const get = async (p: string): Promise<string> => {
    const res = await fetch(`${base}/${p}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`${base}/${p} answered ${res.status}: ${text.slice(0, 300)}`);
    return text;
  };
  const key = JSON.parse(await get('key')) as { log: string };
  const first = JSON.parse(await get('entries?from=0&to=0')) as { size: number };
  const cache = new Map<number, string>();
  return {
    size: first.size,
    verifierKey: key.log,
    async entry(i) {
      if (!cache.has(i)) {
        const page = JSON.parse(await get(`entries?from=${i}&to=${i + 1000}`)) as { entries: { index: number; entry: unknown }[] };
        for (const e of page.entries) cache.set(e.index, JSON.stringify(e.entry));
      }
      return cache.get(i) ?? '';
    },
    proof: (i) => get(`proof/${i}`),
  };
}

async function withLedger<T>(program: Command, opts: RegionOpts, fn: (l: LedgerReader) => Promise<T>): Promise<T> {
  const p = regionPaths(program, opts);
  let l: Ledger;
  try {
    l = await openLedger(p);
  } catch (err) {
    if (err instanceof LedgerError && err.code === 'SOVEREIGN_LEDGER_LOCKED' && opts.dir === undefined) return fn(await remoteReader(program, opts.region));
    throw err;
  }
  try {
    return await fn(localReader(l));
  } finally {
    await l.close();
  }
}

function fail(message: string): never {
  process.stderr.write(`sovereign ledger: ${message}\n`);
  process.exit(1);
}

/**
 * The witnesses whose cosignatures anchor a region's checkpoints (regions of other
 * jurisdictions) and the quorum, unless given. Keys from the running gateway; with the gateway
 * down, from files on this machine: the keys the region pinned for its witnesses
 * (<region data dir>/peer-keys.json), else each witness region's own key file. The quorum is
 * the topology's. Without witness keys the quorum cannot be checked, and verify says so.
 */
async function witnessDefaults(program: Command, region: string, given: string[] | undefined, quorum: string | undefined): Promise<{ witnesses: string[]; quorum: number }> {
  const topology = loadTopology(program.opts<{ config?: string }>().config);
  const q = quorum !== undefined ? Number(quorum) : topology.data.ledger.quorum;
  if (!Number.isInteger(q) || q < 0) fail(`--quorum: expected a whole number, got "${quorum}"`);
  if (given !== undefined) return { witnesses: given, quorum: q };
  const me = topology.region(region);
  const base = `http://${topology.data.gateway.host}:${topology.data.gateway.port}`;
  const witnesses: string[] = [];
  for (const peer of topology.regions.filter((r) => r.jurisdiction !== me?.jurisdiction)) {
    try {
      const res = await fetch(`${base}/sovereign/ledger/${peer.id}/key`, { signal: AbortSignal.timeout(3000) });
      if (res.ok) witnesses.push(((await res.json()) as { witness: string }).witness);
    } catch {
      /* not running */
    }
  }
  if (witnesses.length === 0) witnesses.push(...localWitnessKeys(topology, region));
  if (witnesses.length === 0 && q > 0) {
    process.stderr.write(`sovereign ledger: no witness keys (gateway at ${base} not reachable, no key files of the witness regions on this machine); pass --witness <vkey> for each witness, or --quorum 0 to skip the anchoring check\n`);
    process.exit(1);
  }
  return { witnesses, quorum: q };
}

/** Witness keys of a region's peers from files on this machine (see witnessDefaults). */
function localWitnessKeys(topology: ReturnType<typeof loadTopology>, region: string): string[] {
  const me = topology.region(region);
  const peers = topology.regions.filter((r) => r.jurisdiction !== me?.jurisdiction);
  const pinFile = path.join(topology.regionDataDir(region), 'peer-keys.json');
  const pinned = existsSync(pinFile) ? (JSON.parse(readFileSync(pinFile, 'utf8')) as Record<string, { witness?: string }>) : {};
  const keys: string[] = [];
  for (const peer of peers) {
    const key = pinned[peer.id]?.witness ?? verifierKeyFromFile(path.join(topology.regionDataDir(peer.id), 'keys'), 'witness');
    if (key) keys.push(key);
  }
  return keys;
}

/** The log's verifier key from its key file on this machine (never creating one). */
function localLogKey(program: Command, opts: RegionOpts): string | undefined {
  return verifierKeyFromFile(regionPaths(program, opts).keyDir, 'log');
}

/** Registers `ledger key|verify|prove|show|check-receipt` on the program (which owns the global --config). */
export function register(program: Command): void {
  const ledger = program.command('ledger').description('region transparency logs (C2SP tlog-tiles)');

  ledger
    .command('key')
    .description("print the region log's verifier key (creates the key on first use)")
    .requiredOption('--region <id>', 'region id')
    .option('--dir <path>', 'ledger directory (default: from the topology)')
    .action(async (opts: RegionOpts) => {
      await withLedger(program, opts, async (l) => {
        process.stdout.write(`${l.verifierKey}\n`);
      });
    });

  ledger
    .command('verify')
    .description('recompute every tile and the root from the entries and check the signed checkpoint')
    .requiredOption('--region <id>', 'region id')
    .option('--dir <path>', 'ledger directory to verify')
    .option('--url <url>', 'verify a served log at this prefix instead')
    .option('--key <vkey>', "log verifier key (default: the region's own key)")
    .option('--witness <vkey...>', 'witness cosigner keys (default: the witnesses of the regions in other jurisdictions, as the running gateway serves them)')
    .option('--quorum <n>', 'required witness cosignatures (default: ledger.quorum from the topology)')
    .option('--state <file>', 'file remembering the last verified checkpoint (consistency check)')
    .action(async (opts: RegionOpts & { url?: string; key?: string; witness?: string[]; quorum?: string; state?: string }) => {
      const p = opts.url !== undefined && opts.key !== undefined ? null : regionPaths(program, opts);
      const verifierKey = opts.key ?? (opts.url === undefined ? localLogKey(program, opts) : undefined) ?? (await withLedger(program, opts, async (l) => l.verifierKey));
      const { witnesses, quorum } = await witnessDefaults(program, opts.region, opts.witness, opts.quorum);
      const bar = new cliProgress.SingleBar({ format: 'verify {bar} {percentage}% | {value}/{total} entries | {eta_formatted}' }, cliProgress.Presets.shades_classic);
      let started = false;
      const result = await verifyLog({
        ...(opts.url !== undefined ? { fetcher: httpFetcher(opts.url) } : { dir: p?.dir }),
        verifierKey,
        witnesses,
        quorum,
        ...(opts.state !== undefined ? { stateFile: opts.state } : {}),
        onProgress: (done, total) => {
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(done);
        },
      });
      if (started) bar.stop();
      if (!result.ok) {
        const where = result.firstBadIndex !== undefined ? `first bad index ${result.firstBadIndex}` : `bad resource ${result.badPath ?? '?'}`;
        fail(`verification FAILED (${where}): ${result.error ?? ''}`);
      }
      process.stdout.write(`ok: ${result.size} entries, root ${result.root}${result.cosigners.length > 0 ? `, cosigned by ${result.cosigners.join(', ')}` : ''}\n`);
    });

  ledger
    .command('prove')
    .description('print a c2sp.org/tlog-proof@v1 receipt for an entry')
    .requiredOption('--region <id>', 'region id')
    .option('--dir <path>', 'ledger directory')
    .option('--index <n>', 'entry index')
    .option('--decision <id>', 'decision id (scans the log)')
    .action(async (opts: RegionOpts & { index?: string; decision?: string }) => {
      if ((opts.index === undefined) === (opts.decision === undefined)) fail('give exactly one of --index or --decision');
      await withLedger(program, opts, async (l) => {
        let index = opts.index !== undefined ? Number(opts.index) : -1;
        if (opts.decision !== undefined) {
          for (let i = l.size - 1; i >= 0; i--) {
            const e = parseEntry(Buffer.from(await l.entry(i)));
            if (e.kind === 'decision' && e.decision_id === opts.decision) {
              index = i;
              break;
            }
          }
          if (index < 0) fail(`no decision ${JSON.stringify(opts.decision)} in the ${opts.region} ledger`);
        }
        process.stdout.write(await l.proof(index));
      });
    });

  ledger
    .command('check-receipt')
    .description('verify a receipt (c2sp.org/tlog-proof@v1) offline with the public keys only, and print its entry')
    .argument('<file>', "the receipt, as served at /sovereign/ledger/<region>/proof/<index> ('-' reads standard input)")
    .requiredOption('--key <vkey>', 'the log\'s verifier key (from the operator, out of band)')
    .option('--witness <vkey...>', 'witness cosigner keys whose cosignatures anchor the checkpoint')
    .option('--quorum <n>', 'required witness cosignatures (default: 1 with --witness, else 0)')
    .action((file: string, opts: { key: string; witness?: string[]; quorum?: string }) => {
      const quorum = opts.quorum !== undefined ? Number(opts.quorum) : opts.witness !== undefined ? 1 : 0;
      if (!Number.isInteger(quorum) || quorum < 0) fail(`--quorum: expected a whole number, got "${opts.quorum}"`);
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        fail(`cannot read the receipt ${file}: ${(err as Error).message}`);
      }
      let v: ReturnType<typeof verifyProof>;
      try {
        v = verifyProof(text, { log: opts.key, witnesses: opts.witness ?? [], quorum });
      } catch (err) {
        fail(`receipt ${file} does NOT verify: ${(err as Error).message}`);
      }
      const anchored = v.cosigners.length > 0 ? `, cosigned by ${v.cosigners.join(', ')}` : quorum === 0 ? ' (witness cosignatures not checked: pass --witness)' : '';
      process.stdout.write(`ok: entry ${v.index} of ${v.origin} is in its signed checkpoint of size ${v.size}, root ${v.root.toString('base64')}${anchored}\n${v.entry.toString('utf8')}\n`);
    });

  ledger
    .command('show')
    .description('print entries as JSON lines')
    .requiredOption('--region <id>', 'region id')
    .option('--dir <path>', 'ledger directory')
    .option('--from <n>', 'first index', '0')
    .option('--to <n>', 'last index (exclusive)')
    .action(async (opts: RegionOpts & { from: string; to?: string }) => {
      await withLedger(program, opts, async (l) => {
        const to = Math.min(l.size, opts.to !== undefined ? Number(opts.to) : l.size);
        for (let i = Number(opts.from); i < to; i++) process.stdout.write(`{"index":${i},"entry":${await l.entry(i)}}\n`);
      });
    });
}
