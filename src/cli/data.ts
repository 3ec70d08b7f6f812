// `sovereign data export|erase`: the data subject's rights, through the gateway's admin API.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { call, target } from './region.ts';

interface ExportOut {
  message: string;
  complete: boolean;
  regions: { region: string; records?: number; unavailable?: string }[];
  records: unknown[];
}

interface EraseOut {
  requested: string;
  regions: { region: string; status: string; keys?: number; records?: number; ledger?: string | null; reason?: string }[];
  pending: string[];
  complete: boolean;
}

export function register(program: Command): void {
  const data = program.command('data').description("data subject rights: export or erase what the regions hold about a subject");

  data
    .command('export')
    .description('everything every region holds about a subject, as JSON (each record with its ledger receipt)')
    .requiredOption('--subject <id>', 'the subject id (the x-sovereign-subject the application sent, or a tenant name)')
    .option('--tenant <name>', 'only what was stored for this tenant')
    .option('--region <id>', 'only this region')
    .option('--proofs', "attach each record's receipt as a c2sp.org/tlog-proof@v1 text (check it with `sovereign ledger check-receipt`)")
    .option('--out <file>', 'write the JSON to this file (default: standard output)')
    .option('--gateway <url>', 'gateway URL (default: from the topology file)')
    .action(async (o: { subject: string; tenant?: string; region?: string; proofs?: boolean; out?: string; gateway?: string }, cmd: Command) => {
      const t = target(cmd, o.gateway);
      const out = (await call(t, 'POST', '/sovereign/admin/data/export', { subject: o.subject, ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.region ? { region: o.region } : {}), ...(o.proofs ? { proofs: true } : {}) })) as ExportOut;
      const json = `${JSON.stringify(out, null, 2)}\n`;
      if (o.out) writeFileSync(o.out, json, { mode: 0o600 });
      else process.stdout.write(json);
      process.stderr.write(`${out.message}\n`);
      if (!out.complete) process.exitCode = 3;
    });

  data
    .command('erase')
    .description("erase a subject in every region: its data keys are destroyed (records unreadable at once, removed by the sweeper), an erasure entry goes into each affected region's ledger")
    .requiredOption('--subject <id>', 'the subject id')
    .option('--tenant <name>', "only the subject's data stored for this tenant")
    .option('--json', 'print JSON')
    .option('--gateway <url>', 'gateway URL (default: from the topology file)')
    .action(async (o: { subject: string; tenant?: string; json?: boolean; gateway?: string }, cmd: Command) => {
      const t = target(cmd, o.gateway);
      const out = (await call(t, 'POST', '/sovereign/admin/data/erase', { subject: o.subject, ...(o.tenant ? { tenant: o.tenant } : {}) })) as EraseOut;
      if (o.json) {
        console.log(JSON.stringify(out, null, 2));
      } else {
        for (const r of out.regions) {
          const what =
            r.status === 'erased'
              ? `erased: ${r.keys} data key(s) destroyed, ${r.records} record(s) unreadable; ledger ${r.ledger}`
              : r.status === 'nothing_held'
                ? 'nothing held (or already erased)'
                : `PENDING: unreachable (${r.reason}); the gateway delivers it when the region is back`;
          console.log(`${r.region.padEnd(14)} ${what}`);
        }
        console.log(out.complete ? 'erasure complete in every region' : `erasure pending in: ${out.pending.join(', ')}`);
      }
      if (!out.complete) process.exitCode = 3;
    });
}
