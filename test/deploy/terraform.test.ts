// The Terraform modules cannot be applied here (no cloud, no management cluster); their syntax
// is checked with HashiCorp's HCL parser (@cdktf/hcl2json, the hcl library compiled to
// WebAssembly), and their interfaces against the documentation and each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cluster.ts';

const TF = path.join(ROOT, 'deploy/terraform');

// Loaded by name so that its type declarations (which pull in the DOM library and clash with
// Node's WebCrypto types) stay out of the program; its one function is typed here.
const HCL2JSON = '@cdktf/hcl2json';
const { parse } = (await import(HCL2JSON)) as { parse: (file: string, text: string) => Promise<unknown> };

function tfFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? tfFiles(p) : f.endsWith('.tf') ? [p] : [];
  });
}

interface Parsed {
  variable?: Record<string, { description?: string; type?: string; default?: unknown }[]>;
  module?: Record<string, { source: string; [k: string]: unknown }[]>;
}

async function parseDir(dir: string): Promise<{ file: string; text: string; parsed: Parsed }[]> {
  return Promise.all(tfFiles(dir).map(async (file) => ({ file, text: readFileSync(file, 'utf8'), parsed: (await parse(path.basename(file), readFileSync(file, 'utf8'))) as Parsed })));
}

test('every .tf file parses', async () => {
  const files = await parseDir(TF);
  assert.ok(files.length >= 9, `${files.length} files`);
});

test('a syntax error is caught by the parser', async () => {
  const text = readFileSync(path.join(TF, 'modules/region-cluster/main.tf'), 'utf8');
  await assert.rejects(parse('main.tf', text.replace(/\}\s*$/, '')), /Unclosed configuration block|closing brace/);
});

test('every variable has a description and a type, every var.x used is declared, and the guide documents them', async () => {
  const guide = readFileSync(path.join(TF, 'README.md'), 'utf8');
  for (const mod of ['modules/region-cluster', 'modules/sovereign-manifests', 'examples/regions']) {
    const files = await parseDir(path.join(TF, mod));
    const declared = new Map<string, { description?: string; type?: string }>();
    for (const f of files) for (const [name, [v]] of Object.entries(f.parsed.variable ?? {})) declared.set(name, v ?? {});
    for (const [name, v] of declared) {
      assert.ok(v.description && v.description.length > 10, `${mod}: variable ${name} has no description`);
      assert.ok(v.type, `${mod}: variable ${name} has no type`);
      if (mod.startsWith('modules/')) assert.match(guide, new RegExp(`\\| \`${name}\` \\|`), `${mod}: variable ${name} is not in deploy/terraform/README.md`);
    }
    const used = new Set(files.flatMap((f) => [...f.text.matchAll(/\bvar\.([a-z_][a-z0-9_]*)/g)].map((m) => m[1] as string)));
    for (const u of used) assert.ok(declared.has(u), `${mod}: var.${u} is used but not declared`);
  }
});

test('the example passes every required variable of the modules it calls', async () => {
  const modVars = async (dir: string): Promise<string[]> =>
    (await parseDir(dir)).flatMap((f) => Object.entries(f.parsed.variable ?? {}).filter(([, [v]]) => v?.default === undefined).map(([n]) => n));
  const example = await parseDir(path.join(TF, 'examples/regions'));
  for (const f of example) {
    for (const [name, [call]] of Object.entries(f.parsed.module ?? {})) {
      assert.ok(call);
      const required = await modVars(path.join(TF, 'examples/regions', call.source));
      for (const r of required) assert.ok(r in call, `module ${name} does not set ${r}`);
    }
  }
});

test('the region pin is enforced by preconditions on the cluster and on the manifests', () => {
  const cluster = readFileSync(path.join(TF, 'modules/region-cluster/main.tf'), 'utf8');
  assert.match(cluster, /contains\(var\.allowed_locations, var\.location\)/);
  assert.match(cluster, /depends_on = \[terraform_data\.region_pin\]/);
  const manifests = readFileSync(path.join(TF, 'modules/sovereign-manifests/main.tf'), 'utf8');
  assert.match(manifests, /depends_on = \[terraform_data\.overlay_pin\]/);
});
