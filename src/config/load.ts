// Reads and validates a topology file. A bad file stops start-up with the file name, the path
// of each bad key (and its line), and what was expected.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { RESERVED_JURISDICTIONS } from '../common/jurisdictions.ts';
import { ConfigSchema, type ConfigData, type ConfigInput } from './schema.ts';
import { ConfigError } from './errors.ts';
import { Topology } from './topology.ts';

/** The topology that ships with Sovereign: four regions, EU / UAE / Singapore. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../sovereign.yaml', import.meta.url));

function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : `${out ? '.' : ''}${String(k)}`;
  return out || '(top level)';
}

function issueMessages(error: z.ZodError, where: (p: readonly PropertyKey[]) => string): string[] {
  return error.issues.map((i) => {
    let msg = i.message;
    if (i.code === 'unrecognized_keys') msg = `unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}: remove or fix the spelling`;
    if (i.code === 'invalid_type' && /received undefined/.test(i.message)) msg = `required: ${i.message}`;
    return `${formatPath(i.path)}${where(i.path)}: ${msg}`;
  });
}

/** Rules that span fields; zod has checked the shape already. */
function crossFieldProblems(c: ConfigData): string[] {
  const out: string[] = [];
  const owner = new Map<string, string>();
  for (const [name, countries] of Object.entries(c.jurisdictions)) {
    countries.forEach((cc, i) => {
      const prev = owner.get(cc);
      if (prev !== undefined) out.push(`jurisdictions.${name}[${i}]: country ${cc} is already in jurisdiction ${prev}; a country belongs to one jurisdiction`);
      owner.set(cc, name);
    });
  }
  for (const reserved of RESERVED_JURISDICTIONS) {
    if (Object.keys(c.jurisdictions).some((j) => j.toLowerCase() === reserved)) {
      out.push(`jurisdictions.${reserved}: "${reserved}" is reserved (unknown: addresses with no known country; third_country: countries outside every configured jurisdiction)`);
    }
  }
  const seen = new Set<string>();
  const urls = new Set<string>();
  c.regions.forEach((r, i) => {
    if (seen.has(r.id)) out.push(`regions[${i}].id: duplicate region id "${r.id}"`);
    seen.add(r.id);
    if (urls.has(r.url)) out.push(`regions[${i}].url: ${r.url} is used by another region; each region has its own cell`);
    urls.add(r.url);
    const countries = c.jurisdictions[r.jurisdiction];
    if (!countries) {
      out.push(`regions[${i}].jurisdiction: "${r.jurisdiction}" is not defined under jurisdictions (defined: ${Object.keys(c.jurisdictions).join(', ')})`);
    } else if (!countries.includes(r.country)) {
      out.push(`regions[${i}].country: ${r.country} is not one of jurisdiction ${r.jurisdiction}'s countries`);
    }
    for (const kind of ['adequacy', 'scc', 'contract'] as const) {
      r.transfers[kind].forEach((j, k) => {
        if (!(j in c.jurisdictions)) out.push(`regions[${i}].transfers.${kind}[${k}]: "${j}" is not defined under jurisdictions`);
      });
    }
  });
  if (c.ledger.unknownRegion !== undefined && !seen.has(c.ledger.unknownRegion)) out.push(`ledger.unknownRegion: no region has id "${c.ledger.unknownRegion}"`);
  c.routing.hybrid.forEach((rule, i) => {
    if (rule.tenant !== undefined && !c.tenants.some((t) => t.name === rule.tenant)) out.push(`routing.hybrid[${i}].tenant: no tenant is named "${rule.tenant}"`);
  });
  c.routing.preference.forEach((id, i) => {
    if (!seen.has(id)) out.push(`routing.preference[${i}]: no region has id "${id}"`);
  });
  const tenants = new Set<string>();
  const keys = new Set<string>();
  c.tenants.forEach((t, i) => {
    if (tenants.has(t.name)) out.push(`tenants[${i}].name: duplicate tenant "${t.name}"`);
    tenants.add(t.name);
    if (keys.has(t.apiKeySha256)) out.push(`tenants[${i}].apiKeySha256: the same key is given to two tenants`);
    keys.add(t.apiKeySha256);
    if (t.jurisdiction !== undefined && !(t.jurisdiction in c.jurisdictions)) {
      out.push(`tenants[${i}].jurisdiction: "${t.jurisdiction}" is not defined under jurisdictions`);
    }
  });
  return out;
}

/** Validates an already-parsed object (from a file or from code). */
export function topologyFrom(input: unknown, file = '<inline>', where: (p: readonly PropertyKey[]) => string = () => ''): Topology {
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(file, issueMessages(parsed.error, where));
  const problems = crossFieldProblems(parsed.data);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return new Topology(parsed.data, file);
}

export function parseTopology(text: string, file: string): Topology {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`));
  }
  const where = (p: readonly PropertyKey[]): string => {
    for (let n = p.length; n > 0; n--) {
      const node = doc.getIn(p.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return ` (line ${lineCounter.linePos(node.range[0]).line})`;
    }
    return '';
  };
  return topologyFrom(doc.toJS() as unknown, file, where);
}

export function loadTopology(file: string = DEFAULT_CONFIG_PATH): Topology {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new ConfigError(abs, [`cannot read the topology file: ${reason}; pass an existing file with --config`]);
  }
  return parseTopology(text, abs);
}

export type { ConfigInput };
