// `sovereign route --explain`: the full decision for a request as the gateway would take it,
// computed here from the topology, the policy set and the geo-IP database.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { openOfflineDecider } from '../gateway/index.ts';
import { topologyOf } from './options.ts';

interface RouteOpts {
  explain?: boolean;
  ip: string;
  jurisdiction?: string;
  class?: string;
  data?: string;
  model?: string;
  tenant?: string;
  policy?: string;
  json?: boolean;
}

/** --data @file or literal text: a JSON inference body if it is one, else the user's message. */
function bodyOf(data: string | undefined, model: string): unknown {
  if (data === undefined) return { model, messages: [{ role: 'user', content: '' }] };
  const text = data.startsWith('@') ? readFileSync(data.slice(1), 'utf8') : data;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    /* plain text */
  }
  return { model, messages: [{ role: 'user', content: text }] };
}

interface Explained {
  jurisdictions: { jurisdiction: string; source: string; country?: string }[];
  data_class: string;
  detected_types: string[];
  mode: string;
  outcome: string;
  candidates: string[];
  regions: { region: string; jurisdiction: string; allowed: boolean; by_jurisdiction: { jurisdiction: string; allowed: boolean; cause: string; policies: { id: string; effect: string }[] }[] }[];
  rationale: string[];
  table_digest: string;
}

export function register(program: Command): void {
  program
    .command('route')
    .description('explain how a request would be routed: jurisdictions, data class, every region allowed or denied and why, ordered candidates')
    .option('--explain', 'print the full decision (the default; kept for clarity)')
    .requiredOption('--ip <addr>', 'client address (as the gateway would see it after trusted proxies)')
    .option('--jurisdiction <value>', 'declared x-sovereign-jurisdiction (name or country code)')
    .option('--class <class>', 'declared x-data-classification (public, internal, personal, special)')
    .option('--data <text|@file>', "the request: a JSON inference body, or the user's message as text")
    .option('--model <name>', 'model name', 'text-analysis')
    .option('--tenant <name>', 'tenant making the request (its fixed jurisdiction applies)')
    .option('--policy <file>', 'policy file to use instead of the configured one')
    .option('--json', 'print JSON')
    .action(async (o: RouteOpts, cmd: Command) => {
      const topology = topologyOf(cmd);
      const tenant = o.tenant === undefined ? undefined : topology.data.tenants.find((t) => t.name === o.tenant);
      if (o.tenant !== undefined && !tenant) throw new Error(`--tenant: no tenant "${o.tenant}" in ${topology.file}`);
      const offline = await openOfflineDecider(topology, o.policy);
      try {
        const headers: Record<string, string> = {};
        if (o.jurisdiction) headers['x-sovereign-jurisdiction'] = o.jurisdiction;
        if (o.class) headers['x-data-classification'] = o.class;
        const x = offline.explain({ tenant, headers, client: o.ip, body: bodyOf(o.data, o.model ?? 'text-analysis'), model: o.model ?? 'text-analysis' }) as unknown as Explained;
        if (o.json) {
          console.log(JSON.stringify(x, null, 2));
          return;
        }
        console.log(`jurisdictions: ${x.jurisdictions.map((j) => `${j.jurisdiction} (${j.source}${j.country ? ` ${j.country}` : ''})`).join(', ')}`);
        console.log(`data class:    ${x.data_class}${x.detected_types.length ? ` (${x.detected_types.join(', ')})` : ''}`);
        console.log(`mode:          ${x.mode}`);
        console.log(`outcome:       ${x.outcome}${x.candidates.length ? `: ${x.candidates.join(' > ')}` : ''}`);
        console.log('');
        for (const r of x.regions) {
          const why = r.by_jurisdiction.map((j) => `${j.jurisdiction}: ${j.allowed ? 'allow' : 'deny'} (${j.policies.map((p) => `${p.effect} ${p.id}`).join(', ') || j.cause})`).join('; ');
          console.log(`  ${r.region.padEnd(14)} ${(r.allowed ? 'ALLOW' : 'deny').padEnd(6)} ${why}`);
        }
        console.log('');
        for (const line of x.rationale) console.log(line);
        console.log(`\ndecision table ${x.table_digest}`);
        if (x.outcome.startsWith('deny')) process.exitCode = 3;
      } finally {
        offline.close();
      }
    });
}
