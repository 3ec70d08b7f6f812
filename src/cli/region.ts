// `sovereign region suspend|resume|status`: legal triggers through the gateway's admin API.
// A suspension returns only once it is in force on every gateway replica.
import type { Command } from 'commander';
import { request } from 'undici';
import { adminToken } from '../gateway/admin-token.ts';
import { topologyOf } from './options.ts';

interface Target {
  url: string;
  token: string;
}

export function target(cmd: Command, gateway?: string): Target {
  const topology = topologyOf(cmd);
  const token = adminToken(topology, false);
  if (!token) {
    throw new Error(`no admin token: set ${topology.data.gateway.adminTokenEnv}, or run this on the gateway's machine (it reads ${topology.gatewayDataDir()}/admin-token)`);
  }
  const g = topology.data.gateway;
  return { url: gateway ?? `http://${g.host}:${g.port}`, token };
}

export async function call(t: Target, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  let res;
  try {
    res = await request(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new Error(`cannot reach the gateway at ${t.url} (${(err as Error).message}); is Sovereign running? (--gateway picks another URL)`);
  }
  const json = (await res.body.json()) as { error?: { message: string } };
  if (res.statusCode >= 300) throw new Error(json.error?.message ?? `gateway answered ${res.statusCode}`);
  return json;
}

/** ", on every one of its N workers" when this gateway runs several. */
function workersOf(out: { in_force_on_workers?: number }): string {
  return (out.in_force_on_workers ?? 1) > 1 ? ` (every one of its ${out.in_force_on_workers} workers)` : '';
}

export function register(program: Command): void {
  const region = program.command('region').description('legal triggers: suspend or resume a region, and show region status');

  region
    .command('suspend <region>')
    .description('suspend a region (for everyone, or for subjects of some jurisdictions) by legal order')
    .option('--for <jurisdictions>', 'comma-separated subject jurisdictions or country codes the suspension applies to (default: all)')
    .requiredOption('--reason <text>', 'why (kept in the ledger)')
    .requiredOption('--ref <reference>', 'reference of the order or authority')
    .option('--drain', 'let in-flight requests finish (default)')
    .option('--cut', 'abort in-flight requests to the region now')
    .option('--gateway <url>', 'gateway URL (default: from the topology file)')
    .action(async (id: string, o: { for?: string; reason: string; ref: string; drain?: boolean; cut?: boolean; gateway?: string }, cmd: Command) => {
      if (o.drain && o.cut) throw new Error('choose one of --drain and --cut');
      const t = target(cmd, o.gateway);
      const out = (await call(t, 'POST', `/sovereign/admin/regions/${encodeURIComponent(id)}/suspend`, {
        reason: o.reason,
        ref: o.ref,
        mode: o.cut ? 'cut' : 'drain',
        ...(o.for ? { for: o.for.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      })) as { version: number; in_force_on_replicas: number; in_force_on_workers?: number; ledger: string[] };
      console.log(`region ${id} suspended${o.for ? ` for ${o.for}` : ''} (${o.cut ? 'cut' : 'drain'}); in force on ${out.in_force_on_replicas} gateway replica(s)${workersOf(out)}, state version ${out.version}`);
      for (const r of out.ledger) console.log(`  recorded: ${r}`);
    });

  region
    .command('resume <region>')
    .description('lift the suspension of a region')
    .option('--reason <text>', 'why (kept in the ledger)')
    .option('--ref <reference>', 'reference of the decision lifting the order')
    .option('--gateway <url>', 'gateway URL (default: from the topology file)')
    .action(async (id: string, o: { reason?: string; ref?: string; gateway?: string }, cmd: Command) => {
      const t = target(cmd, o.gateway);
      const out = (await call(t, 'POST', `/sovereign/admin/regions/${encodeURIComponent(id)}/resume`, {
        ...(o.reason ? { reason: o.reason } : {}),
        ...(o.ref ? { ref: o.ref } : {}),
      })) as { version: number; in_force_on_replicas: number; in_force_on_workers?: number; ledger: string[] };
      console.log(`region ${id} resumed; in force on ${out.in_force_on_replicas} gateway replica(s)${workersOf(out)}, state version ${out.version}`);
      for (const r of out.ledger) console.log(`  recorded: ${r}`);
    });

  region
    .command('status')
    .description('each region: health, latency, load, suspension, and why')
    .option('--json', 'print JSON')
    .option('--gateway <url>', 'gateway URL (default: from the topology file)')
    .action(async (o: { json?: boolean; gateway?: string }, cmd: Command) => {
      const t = target(cmd, o.gateway);
      const out = (await call(t, 'GET', '/sovereign/admin/regions')) as {
        version: number;
        regions: {
          region: string;
          healthy: boolean;
          reason: string;
          latencyMs: number;
          inflight: number;
          unserved_models?: string[] | null;
          suspension: { for: string[] | null; reason: string; ref: string } | null;
          store?: { enabled?: false; ok?: boolean; queued?: number; failed_writes?: number; last_error?: string | null } | null;
        }[];
      };
      if (o.json) {
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      console.log(`region state version ${out.version}`);
      for (const r of out.regions) {
        const sus = r.suspension ? `SUSPENDED${r.suspension.for ? ` for ${r.suspension.for.join(',')}` : ''} (${r.suspension.ref}: ${r.suspension.reason})` : 'in service';
        const st = r.store;
        const store = !st ? 'store ?' : st.enabled === false ? 'store off' : st.ok ? 'store ok' : `store FAILING (${st.failed_writes} failed writes, ${st.queued} queued: ${st.last_error})`;
        // Named for it in the topology, not served by its runtime: tried last for these models.
        const lacks = r.unserved_models?.length ? `  does not serve ${r.unserved_models.join(', ')}` : '';
        console.log(`${r.region.padEnd(14)} ${(r.healthy ? 'healthy' : 'DOWN').padEnd(8)} ${r.latencyMs.toFixed(1).padStart(7)} ms  inflight ${String(r.inflight).padStart(4)}  ${sus}  ${store}${lacks}  — ${r.reason}`);
      }
    });
}
