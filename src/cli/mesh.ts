// `sovereign mesh init|issue|revoke|rotate|status`: the trust domain's CAs, an SVID for an
// operator or a test, revocation (in force on every process within a second), rotation with
// an overlap window, and what has been issued and revoked.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  addRevocation,
  caPaths,
  initTrustDomain,
  issuances,
  issueFor,
  publishRevocations,
  issuerName,
  issuers,
  readBundle,
  readRevocations,
  requireSpiffeId,
  retireOldRoots,
  revokedBecause,
  rotateRoot,
  rotateSigningCas,
  trustDomainPaths,
  x509,
  type Issuer,
} from '../mesh/index.ts';
import { topologyOf } from './options.ts';

function fail(msg: string): never {
  console.error(`sovereign mesh: ${msg}`);
  process.exit(2);
}

export function register(program: Command): void {
  const mesh = program.command('mesh').description('trust domain, workload identities (SPIFFE X.509-SVIDs), revocation and rotation');

  mesh
    .command('init')
    .description('create the root CA, the trust bundle and a signing CA per region and for the control plane (what is missing only)')
    .action(async (_o: unknown, cmd: Command) => {
      const t = topologyOf(cmd);
      const r = await initTrustDomain(t);
      for (const c of r.created) console.log(`created  ${c}`);
      for (const k of r.kept) console.log(`kept     ${k}`);
      console.log(`trust domain ${t.data.mesh.trustDomain}; bundle ${trustDomainPaths(t).bundle}`);
    });

  mesh
    .command('issue <spiffe-id>')
    .description('issue an SVID (chain, key and trust bundle as PEM files) for debugging or tests; recorded like any issuance')
    .requiredOption('--out <dir>', 'directory for svid.pem, svid.key (0600) and bundle.pem')
    .option('--ttl <seconds>', 'lifetime in seconds (default mesh.svidTtlSeconds)')
    .option('--host <name>', 'a DNS name or IP address the certificate also names (repeatable), e.g. for a PostgreSQL server checked with sslmode=verify-full', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (id: string, o: { out: string; ttl?: string; host: string[] }, cmd: Command) => {
      const t = topologyOf(cmd);
      const ttl = o.ttl !== undefined ? Number(o.ttl) : undefined;
      if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1)) fail(`--ttl: expected a whole number of seconds, got "${o.ttl}"`);
      try {
        requireSpiffeId(id, t.data.mesh.trustDomain);
      } catch (err) {
        fail((err as Error).message);
      }
      for (const h of o.host) if (!/^[A-Za-z0-9.:-]+$/.test(h)) fail(`--host: expected a DNS name or an IP address, got "${h}"`);
      const s = await issueFor(t, id, { by: 'operator', hosts: o.host, ...(ttl !== undefined ? { ttlSeconds: ttl } : {}) });
      mkdirSync(o.out, { recursive: true, mode: 0o700 });
      const files = { cert: path.join(o.out, 'svid.pem'), key: path.join(o.out, 'svid.key'), bundle: path.join(o.out, 'bundle.pem') };
      writeFileSync(files.cert, s.chainPem);
      writeFileSync(files.key, s.keyPem, { mode: 0o600 });
      writeFileSync(files.bundle, readBundle(t));
      console.log(`issued ${id}  serial ${s.serial}  valid until ${s.notAfter.toISOString()}`);
      console.log(`  ${files.cert}\n  ${files.key}\n  ${files.bundle}`);
      const r = t.regions[0];
      if (r) console.log(`\nCall a cell by hand:\n  curl --cert ${files.cert} --key ${files.key} --cacert ${files.bundle} https://${new URL(r.url).host}/v2/health/ready`);
    });

  mesh
    .command('revoke [spiffe-id]')
    .description('revoke an identity (or --serial, or a region\'s signing CA with --region); in force on every process within a second')
    .option('--serial <hex>', 'revoke one certificate by serial')
    .option('--region <id>', "revoke a region's signing CA: every identity it issued (cuts the region off)")
    .option('--reason <text>', 'why (kept in the revocation list)', '')
    .action(async (id: string | undefined, o: { serial?: string; region?: string; reason: string }, cmd: Command) => {
      const t = topologyOf(cmd);
      if ([id, o.serial, o.region].filter((x) => x !== undefined).length !== 1) fail('name exactly one of: a SPIFFE ID, --serial <hex>, --region <id>');
      if (id !== undefined) {
        try {
          requireSpiffeId(id, t.data.mesh.trustDomain);
        } catch (err) {
          fail((err as Error).message);
        }
      }
      if (o.region !== undefined && !t.region(o.region)) fail(`--region: no region "${o.region}" in ${t.file}`);
      if (o.serial !== undefined && !/^[0-9a-fA-F]+$/.test(o.serial)) fail(`--serial: expected hex digits, got "${o.serial}"`);
      const list = await addRevocation(trustDomainPaths(t).revoked, {
        ...(id !== undefined ? { spiffe_id: id } : {}),
        ...(o.serial !== undefined ? { serial: o.serial.toLowerCase() } : {}),
        ...(o.region !== undefined ? { ca: issuerName({ kind: 'region', region: o.region }) } : {}),
        reason: o.reason,
      });
      const shared = await publishRevocations(t, list);
      console.log(`revoked ${id ?? (o.serial ? `serial ${o.serial}` : `the signing CA of ${o.region}`)} (revocation list version ${list.version})`);
      // Processes on other machines follow the list through PostgreSQL: gateways the region state's database, cells their ledger's or store's.
      for (const s of shared.published) console.log(`  shared through PostgreSQL: ${s}`);
      for (const s of shared.skipped) console.warn(`  NOT shared through ${s}: processes on other machines that follow that database keep the old list; run this where it is set`);
    });

  mesh
    .command('rotate')
    .description('rotate signing CAs (all, or --region / --control) or the root (--root, with an overlap window)')
    .option('--region <id>', "only this region's signing CA")
    .option('--control', 'only the control-plane signing CA (gateways, operators)')
    .option('--root', 'a new root: trusted next to the old one, signing CAs re-issued under it')
    .option('--retire-old-roots', 'end the overlap window of a root rotation: trust only the current root')
    .action(async (o: { region?: string; control?: boolean; root?: boolean; retireOldRoots?: boolean }, cmd: Command) => {
      const t = topologyOf(cmd);
      if (o.retireOldRoots) {
        console.log(`dropped ${await retireOldRoots(t)} old root(s) from ${trustDomainPaths(t).bundle}`);
        return;
      }
      if (o.region !== undefined && !t.region(o.region)) fail(`--region: no region "${o.region}" in ${t.file}`);
      const r = o.root
        ? await rotateRoot(t)
        : await rotateSigningCas(t, o.region !== undefined ? [{ kind: 'region', region: o.region }] : o.control ? [{ kind: 'control' }] : issuers(t));
      for (const c of r.created) console.log(`created  ${c}`);
      console.log('running processes sign with the new CA within a second; SVIDs of the old one stay valid until they expire');
    });

  mesh
    .command('status')
    .description('signing CAs, identities issued (latest per identity), their expiry, and what is revoked')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }, cmd: Command) => {
      const t = topologyOf(cmd);
      const revoked = readRevocations(trustDomainPaths(t).revoked);
      const cas = issuers(t).map((i: Issuer) => {
        try {
          const c = new x509.X509Certificate(readFileSync(caPaths(t, i).cert, 'utf8'));
          return { ca: issuerName(i), not_after: c.notAfter.toISOString(), revoked: revoked.revoked.some((r) => r.ca === issuerName(i)) };
        } catch {
          return { ca: issuerName(i), not_after: null, revoked: false };
        }
      });
      const latest = new Map<string, ReturnType<typeof issuances>[number]>();
      for (const rec of issuances(t).sort((a, b) => a.time.localeCompare(b.time))) latest.set(rec.spiffe_id, rec);
      const now = Date.now();
      const ids = [...latest.values()].map((r) => ({
        spiffe_id: r.spiffe_id,
        serial: r.serial,
        not_after: r.not_after,
        state: revokedBecause(revoked, r.spiffe_id, r.serial, r.issuer) ? 'revoked' : Date.parse(r.not_after) < now ? 'expired' : 'valid',
        by: r.by,
      }));
      if (o.json) {
        console.log(JSON.stringify({ trust_domain: t.data.mesh.trustDomain, mode: t.data.mesh.mode, cas, identities: ids, revoked: revoked.revoked }, null, 2));
        return;
      }
      console.log(`trust domain ${t.data.mesh.trustDomain} (mesh.mode ${t.data.mesh.mode})\n\nsigning CAs`);
      for (const c of cas) console.log(`  ${c.ca.padEnd(34)} until ${c.not_after ?? 'missing: run sovereign mesh init'}${c.revoked ? '  REVOKED' : ''}`);
      console.log('\nidentities (latest SVID each)');
      for (const i of ids) console.log(`  ${i.spiffe_id.padEnd(56)} ${i.state.padEnd(8)} until ${i.not_after}  serial ${i.serial}  (${i.by})`);
      console.log(`\nrevoked (${revoked.revoked.length})`);
      for (const r of revoked.revoked) console.log(`  ${r.spiffe_id ?? (r.serial ? `serial ${r.serial}` : r.ca)}  at ${r.time}${r.reason ? `  (${r.reason})` : ''}`);
    });
}
