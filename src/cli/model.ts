// `sovereign model push|promote|activate|list|delete` (model releases: golden → regions, one
// way, by law) and `sovereign golden` (the golden registry service `sovereign up` runs).
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { pino } from 'pino';
import { request } from 'undici';
import { createLogger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { Mesh } from '../mesh/index.ts';
import {
  ModelConfigSchema,
  closeRegistryClients,
  goldenClient,
  goldenUrl,
  loadOrCreateSigningKey,
  openOperatorMesh,
  openRegistryMesh,
  promoteRelease,
  publishModel,
  publisherKeyFile,
  regionOrders,
  regionRegistryUrl,
  startGolden,
  type PromotionOutcome,
} from '../registry/index.ts';
import { topologyOf } from './options.ts';

const MiB = 1024 * 1024;

function parseRelease(s: string): { name: string; version: string } {
  const i = s.lastIndexOf(':');
  if (i <= 0 || i === s.length - 1) throw new Error(`"${s}": expected <name>:<version>, e.g. text-analysis:1.8.1`);
  return { name: s.slice(0, i), version: s.slice(i + 1) };
}

/**
 * Runs `fn` as the operator: an SVID spiffe://<td>/operator/<name> issued in memory by the
 * control-plane CA for this run (SOVEREIGN_OPERATOR, else the login name; see transport.ts),
 * closed afterwards so the run ends. In plaintext mode no identity is issued and the registry
 * token authorizes writes and orders, as before the mesh.
 */
async function asOperator<T>(t: Topology, fn: (mesh: Mesh) => Promise<T>): Promise<T> {
  const mesh = await openOperatorMesh(t, pino({ level: 'warn' }, pino.destination(2)));
  try {
    return await fn(mesh);
  } finally {
    await closeRegistryClients(mesh);
    mesh.close();
  }
}

function bar(label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ format: `${label} {bar} {percentage}% | {value}/{total} MiB | {eta_formatted}`, hideCursor: true }, cliProgress.Presets.shades_classic);
}

async function adminCall(t: Topology, mesh: Mesh, region: string, method: 'GET' | 'POST' | 'DELETE', p: string, body?: unknown): Promise<Record<string, unknown>> {
  if (!t.region(region)) throw new Error(`unknown region "${region}"; the topology ${t.file} defines: ${t.regions.map((r) => r.id).join(', ')}`);
  const { url: admin, dispatcher, headers } = regionOrders(t, mesh, region);
  let res;
  try {
    res = await request(`${admin}${p}`, {
      method,
      dispatcher,
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new Error(`region ${region} (${admin}) does not answer: ${(err as Error).message}; is its cell running?`);
  }
  const json = (await res.body.json()) as Record<string, unknown> & { error?: { message: string } };
  if (res.statusCode >= 300) throw new Error(json.error?.message ?? `region ${region} answered ${res.statusCode}`);
  return json;
}

function explainRefusal(o: PromotionOutcome): string {
  const v = o.verdict;
  if (v.policies.length === 0) return `  ${o.region}: refused (${v.cause}${v.errors.length ? `: ${v.errors.join('; ')}` : ': no policy permits it'})`;
  return `  ${o.region}: refused by ${v.policies.map((p) => `@id("${p.id}") — ${p.rationale}`).join('; ')}`;
}

export function register(program: Command): void {
  program
    .command('golden')
    .description('run the golden model registry (publishes the shipped model and promotes it where the law allows at first start)')
    .option('--port <port>', 'port to listen on (default: registry.golden.url, else a free one)')
    .option('--host <address>', "address to listen on (default: registry.golden.url's host, else 127.0.0.1); e.g. 0.0.0.0 in a pod")
    .action(async (o: { port?: string; host?: string }, cmd: Command) => {
      const topology = topologyOf(cmd);
      const logger = createLogger('sovereign-golden');
      if (topology.data.registry.golden.kind === 'external') {
        // Golden is a real OCI registry the operator runs: this process publishes the shipped
        // model there at first start (as golden's identity, which may order regions to pull)
        // and then stays, so `sovereign up` keeps one process per component.
        const mesh = await openRegistryMesh(topology, { kind: 'golden' }, logger, '127.0.0.1');
        const stop = (): void => {
          mesh.close();
          process.exit(0);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (process.connected) process.once('disconnect', stop);
        if (topology.data.registry.bootstrap) {
          const { bootstrapShippedModel } = await import('./model-bootstrap.ts');
          await bootstrapShippedModel(topology, { mesh }, logger);
        }
        logger.info({ url: goldenUrl(topology) }, 'golden is an external registry; the shipped model is published there');
        process.send?.({ type: 'ready', url: goldenUrl(topology) });
        setInterval(() => undefined, 1 << 30);
        return;
      }
      const g = await startGolden({ topology, logger, ...(o.port !== undefined ? { port: Number(o.port) } : {}), ...(o.host !== undefined ? { host: o.host } : {}) });
      const stop = (): void => {
        void g.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (process.connected) process.once('disconnect', stop);
      if (topology.data.registry.bootstrap) {
        const { bootstrapShippedModel } = await import('./model-bootstrap.ts');
        await bootstrapShippedModel(topology, { mesh: g.mesh, url: g.selfUrl }, logger);
      }
      g.markReady();
      process.send?.({ type: 'ready', url: g.url });
    });

  const model = program.command('model').description('model releases: publish to golden, promote to regions by law, activate, list, delete');

  model
    .command('push <dir>')
    .description('publish the files of <dir> to the golden registry as a signed OCI artifact <name>:<version>')
    .requiredOption('--name <name>', 'model name (lower-case, e.g. text-analysis)')
    .requiredOption('--version <version>', 'release version (an OCI tag, e.g. 1.9.0); versions are immutable')
    .requiredOption('--licence <spdx>', 'SPDX licence expression of the model')
    .option('--runtime <kind>', 'runtime that loads it', 'wink-nlp')
    .option('--data-class <class>', 'most sensitive class of the training data: public, internal, personal or special', 'public')
    .option('--jurisdiction <j...>', 'jurisdictions of the data subjects in the training data (for personal or special data)', [])
    .option('--source <text...>', 'training-data provenance (datasets and versions; no personal data)', [])
    .option('--key <file>', 'publisher signing key (PKCS#8 PEM, Ed25519 or ECDSA P-256); default: golden\'s publisher key')
    .option('--registry <url>', 'golden registry URL (default: from the topology or the running golden)')
    .action(async (dir: string, o: { name: string; version: string; licence: string; runtime: string; dataClass: string; jurisdiction: string[]; source: string[]; key?: string; registry?: string }, cmd: Command) => {
      const t = topologyOf(cmd);
      const parsed = ModelConfigSchema.safeParse({ name: o.name, version: o.version, licence: o.licence, trainingData: { dataClass: o.dataClass, jurisdictions: o.jurisdiction, sources: o.source }, runtime: { kind: o.runtime } });
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        throw new Error(`model push: ${i?.path.join('.')}: ${i?.message}`);
      }
      const key = loadOrCreateSigningKey(o.key ?? publisherKeyFile(t));
      const b = bar(`push ${o.name}:${o.version}`);
      let started = false;
      const r = await asOperator(t, (mesh) =>
        publishModel(
          // A push cut off (or killed) continues on the next run from the session golden kept.
          goldenClient(t, mesh, o.registry, {
            sessionDir: path.join(t.dataDir, 'push-sessions'),
            onResume: (digest, offset, size) => console.error(`resuming ${digest.slice(0, 19)}… at byte ${offset} of ${size} (${(offset / MiB).toFixed(1)} MiB already in golden)`),
          }),
          path.resolve(dir),
          parsed.data,
          key,
          (done, total) => {
          if (total < 8 * MiB) return;
          if (!started) b.start(Math.ceil(total / MiB), 0);
          started = true;
          b.update(Math.floor(done / MiB));
          },
        ),
      );
      if (started) b.stop();
      console.log(`published ${r.name}:${r.version} ${r.digest} (${r.files} files, ${(r.size / MiB).toFixed(1)} MiB), signed; promote it with: sovereign model promote ${r.name}:${r.version} --to <region...>`);
    });

  model
    .command('promote <release>')
    .description('replicate <name>:<version> from golden to regions, where the promotion policies allow (refusals name the policy)')
    .option('--to <regions...>', 'destination regions (default: every region)')
    .option('--json', 'print the outcome as JSON')
    .action(async (release: string, o: { to?: string[]; json?: boolean }, cmd: Command) => {
      const t = topologyOf(cmd);
      const { name, version } = parseRelease(release);
      const regions = o.to ?? t.regions.map((r) => r.id);
      for (const r of regions) if (!t.region(r)) throw new Error(`--to: unknown region "${r}"; the topology ${t.file} defines: ${t.regions.map((x) => x.id).join(', ')}`);
      const { PromotionPolicy } = await import('../policy/index.ts');
      const policy = PromotionPolicy.load(t);
      const multi = new cliProgress.MultiBar({ format: '{region} {bar} {percentage}% | {value}/{total} MiB', hideCursor: true }, cliProgress.Presets.shades_classic);
      const bars = new Map<string, cliProgress.SingleBar>();
      const outcomes = await asOperator(t, (mesh) =>
        promoteRelease(t, mesh, policy, name, version, regions, (region, done, total) => {
          if (total < 8 * MiB || o.json) return;
          let b = bars.get(region);
          if (!b) {
            b = multi.create(Math.ceil(total / MiB), 0, { region: region.padEnd(14) });
            bars.set(region, b);
          }
          b.update(Math.floor(done / MiB));
        }),
      );
      multi.stop();
      if (o.json) console.log(JSON.stringify(outcomes, null, 2));
      else {
        for (const x of outcomes) {
          if (x.digest) console.log(`  ${x.region}: arrived ${name}:${version} ${x.digest} (transfer and arrival recorded in the ledgers; permitted by ${x.verdict.policies.map((p) => p.id).join(', ')})`);
          else if (x.error) console.log(`  ${x.region}: permitted, but the region refused or failed: ${x.error.code}: ${x.error.message}`);
          else console.log(explainRefusal(x));
        }
      }
      if (outcomes.some((x) => !x.digest)) process.exitCode = outcomes.some((x) => x.error) ? 1 : 3;
    });

  model
    .command('activate <release>')
    .description("switch a region's cell to <name>:<version> (verified, loaded, then switched; no request dropped)")
    .requiredOption('--region <region>', 'region id')
    .action(async (release: string, o: { region: string }, cmd: Command) => {
      const t = topologyOf(cmd);
      const out = (await asOperator(t, (mesh) => adminCall(t, mesh, o.region, 'POST', '/sovereign/registry/activate', parseRelease(release)))) as { previous: { version: string } | null; active: { name: string; version: string; digest: string } };
      console.log(`${o.region} now serves ${out.active.name}:${out.active.version} ${out.active.digest}${out.previous ? ` (was ${out.previous.version})` : ''}`);
    });

  model
    .command('delete <release>')
    .description("delete a version from a region's registry (recorded in its ledger); unreferenced blobs are collected")
    .requiredOption('--region <region>', 'region id')
    .action(async (release: string, o: { region: string }, cmd: Command) => {
      const t = topologyOf(cmd);
      const { name, version } = parseRelease(release);
      const out = (await asOperator(t, (mesh) => adminCall(t, mesh, o.region, 'DELETE', `/sovereign/registry/models/${encodeURIComponent(name)}/${encodeURIComponent(version)}`))) as { digest: string; collected: { size: number }[] };
      const bytes = out.collected.reduce((n, b) => n + b.size, 0);
      console.log(`deleted ${name}:${version} ${out.digest} from ${o.region}; ${out.collected.length} blobs (${(bytes / MiB).toFixed(1)} MiB) collected; recorded in the ledger of ${o.region}`);
    });

  model
    .command('list')
    .description('what each region holds and serves, and each registry URL')
    .option('--region <region>', 'only this region')
    .option('--json', 'print JSON')
    .action(async (o: { region?: string; json?: boolean }, cmd: Command) => {
      const t = topologyOf(cmd);
      const ids = o.region ? [o.region] : t.regions.map((r) => r.id);
      await asOperator(t, async (mesh) => {
        const rows = await Promise.all(
          ids.map(async (id) => {
            try {
              const s = (await adminCall(t, mesh, id, 'GET', '/sovereign/registry/status')) as { models: { name: string; version: string; digest: string }[]; active: { name: string; version: string; digest: string } | null };
              return { region: id, registry: regionRegistryUrl(t, id) ?? null, models: s.models, active: s.active };
            } catch (err) {
              if (o.region) throw err;
              return { region: id, registry: regionRegistryUrl(t, id) ?? null, models: [], active: null, error: (err as Error).message };
            }
          }),
        );
        let golden: { url: string | null; models: { name: string; version: string }[] } | undefined;
        if (!o.region) {
          const url = goldenUrl(t) ?? null;
          const models: { name: string; version: string }[] = [];
          if (url) {
            try {
              const c = goldenClient(t, mesh);
              for (const name of ['text-analysis', ...rows.flatMap((r) => r.models.map((m) => m.name))].filter((v, i, a) => a.indexOf(v) === i)) {
                for (const version of await c.tags(name)) if (!version.startsWith('sha256-')) models.push({ name, version });
              }
            } catch {
              // golden not running: listed without models
            }
          }
          golden = { url, models };
        }
        if (o.json) {
          console.log(JSON.stringify({ ...(golden ? { golden } : {}), regions: rows }, null, 2));
          return;
        }
        if (golden) console.log(`golden  ${golden.url ?? '(not running)'}  ${golden.models.map((m) => `${m.name}:${m.version}`).join(', ')}`);
        for (const r of rows) {
          console.log(`${r.region}  ${r.registry ?? '(registry not running)'}${'error' in r ? `  (${String(r.error)})` : ''}`);
          for (const m of r.models) {
            const serving = r.active && r.active.name === m.name && r.active.version === m.version ? '  <- serving' : '';
            console.log(`  ${m.name}:${m.version}  ${m.digest}${serving}`);
          }
        }
      });
    });

}
