// `sovereign report` and `sovereign report verify`: compliance reports from the regions' logs,
// read through the gateway's public ledger paths — a thin layer over src/report.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { buildReport, parsePeriod, parseReport, renderHtml, renderPdf, reportJsonFromHtml, verifyReport, type Report } from '../report/index.ts';
import { topologyOf } from './options.ts';

type Format = 'json' | 'html' | 'pdf';

interface ReportOpts {
  from?: string;
  to?: string;
  region?: string[];
  all?: boolean;
  format?: string;
  out?: string;
  gateway?: string;
}

/** One progress bar per region while its log is read (on a terminal; silent otherwise). */
function progress(): { update: (region: string, done: number, total: number) => void; stop: () => void } {
  const multi = new cliProgress.MultiBar({ format: '{region} {bar} {percentage}% | {value}/{total} entries | {eta_formatted}', hideCursor: true, clearOnComplete: false, stream: process.stderr }, cliProgress.Presets.shades_classic);
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    update(region, done, total) {
      let b = bars.get(region);
      if (b === undefined) bars.set(region, (b = multi.create(total, 0, { region: region.padEnd(14) })));
      b.setTotal(total);
      b.update(done, { region: region.padEnd(14) });
    },
    stop: () => multi.stop(),
  };
}

function formatOf(o: ReportOpts): Format {
  const f = o.format ?? (o.out?.match(/\.(json|html|pdf)$/i)?.[1]?.toLowerCase() ?? 'json');
  if (f !== 'json' && f !== 'html' && f !== 'pdf') throw new Error(`--format "${f}": expected json, html or pdf`);
  return f;
}

function readReportFile(file: string): Report {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the report ${file}: ${(err as Error).message}`);
  }
  if (/^\s*%PDF/.test(text)) throw new Error(`${file} is a PDF: verify its JSON or HTML form (made from the same run with --format json or html)`);
  const embedded = /^\s*<!doctype html/i.test(text) ? reportJsonFromHtml(text) : null;
  if (/^\s*<!doctype html/i.test(text) && embedded === null) throw new Error(`${file} is HTML without an embedded Sovereign report`);
  return parseReport(embedded ?? text, file);
}

export function register(program: Command): void {
  const report = program
    .command('report')
    .description('compliance report of a period from the regions\' transparency logs (json, html or pdf), verifiable by an auditor')
    .option('--from <date>', 'start of the period, inclusive (YYYY-MM-DD = midnight UTC, or ISO 8601 date-time)')
    .option('--to <date>', 'end of the period, exclusive')
    .option('--region <id...>', 'region(s) to report on')
    .option('--all', 'every region of the topology')
    .option('--format <format>', 'json, html or pdf (default: from the --out extension, else json)')
    .option('--out <file>', 'output file (default: standard output; a PDF needs a file)')
    .option('--gateway <url>', 'gateway whose public ledger paths serve the logs (default: from the topology file)')
    .action(async (o: ReportOpts, cmd: Command) => {
      if (o.from === undefined || o.to === undefined) throw new Error('give the period: --from <date> --to <date> (YYYY-MM-DD or ISO 8601; to is exclusive)');
      const period = parsePeriod(o.from, o.to);
      const format = formatOf(o);
      if (format === 'pdf' && o.out === undefined) throw new Error('--format pdf needs --out <file>');
      const topology = topologyOf(cmd);
      const known = topology.regions.map((r) => r.id);
      if ((o.region === undefined) === (o.all !== true)) throw new Error(`give --region <id> or --all (regions: ${known.join(', ')})`);
      const regions = o.all === true ? known : (o.region as string[]);
      for (const r of regions) if (!known.includes(r)) throw new Error(`unknown region "${r}"; regions of ${topology.file}: ${known.join(', ')}`);
      const g = topology.data.gateway;
      const bars = progress();
      let built: Report;
      try {
        built = await buildReport({ gateway: o.gateway ?? `http://${g.host}:${g.port}`, regions, peers: known, period, onProgress: bars.update });
      } finally {
        bars.stop();
      }
      const html = format === 'json' ? '' : renderHtml(built);
      const body = format === 'json' ? `${JSON.stringify(built, null, 2)}\n` : format === 'html' ? html : await renderPdf(html);
      if (o.out === undefined) process.stdout.write(body);
      else writeFileSync(o.out, body);
      const counted = built.regions.reduce((n, r) => n + r.entries, 0);
      process.stderr.write(`${counted === 0 ? 'empty report: no entry in the period' : `${counted} entries of the period`} in ${regions.join(', ')}${o.out !== undefined ? `; written to ${o.out} (${format})` : ''}\n`);
    });

  report
    .command('verify')
    .description('recompute every figure of a report from the served logs and check every signature and proof')
    .argument('<report>', 'the report (its .json form, or the .html form that embeds it)')
    .requiredOption('--key <vkey...>', "each region log's verifier key, from the operator out of band (sovereign ledger key --region <id>)")
    .option('--witness <vkey...>', 'witness cosigner keys whose cosignatures must anchor the end checkpoints')
    .option('--quorum <n>', 'required witness cosignatures (default: 1 with --witness, else 0)')
    .option('--gateway <url>', 'read the logs from this gateway instead of the one the report names')
    .action(async (file: string, o: { key: string[]; witness?: string[]; quorum?: string; gateway?: string }) => {
      const quorum = o.quorum !== undefined ? Number(o.quorum) : undefined;
      if (quorum !== undefined && (!Number.isInteger(quorum) || quorum < 0)) throw new Error(`--quorum: expected a whole number, got "${o.quorum}"`);
      const r = readReportFile(file);
      const bars = progress();
      let result;
      try {
        result = await verifyReport(r, { keys: o.key, ...(o.witness ? { witnesses: o.witness } : {}), ...(quorum !== undefined ? { quorum } : {}), ...(o.gateway ? { gateway: o.gateway } : {}), onProgress: bars.update });
      } finally {
        bars.stop();
      }
      for (const line of result.checked) process.stdout.write(`checked: ${line}\n`);
      if (!result.ok) {
        for (const line of result.problems) process.stderr.write(`MISMATCH: ${line}\n`);
        process.stderr.write(`sovereign report verify: ${file} does NOT verify (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'})\n`);
        process.exit(1);
      }
      process.stdout.write(`ok: ${file} verifies: every figure matches the log entries, every signature and proof checks\n`);
    });
}
