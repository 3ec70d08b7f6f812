// An audit of a running system: traffic, a legal trigger done through the CLI, a transfer it
// causes, a denial and a failover (a killed cell); then compliance reports in JSON, HTML and
// PDF that `sovereign report verify` passes and a hand-edited copy fails; and the operator's
// console in Chromium (playwright-core): it shows a CLI suspension within two seconds and
// suspends and resumes a region itself. Needs /usr/bin/chromium and poppler-utils (pdftoppm,
// pdftotext); without them the browser and PDF tests are skipped with the reason, except under
// CI=true, where that is a failure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { verifyProof } from '../../src/ledger/index.ts';
import { CHROMIUM_ARGS, chromiumPath, type Report } from '../../src/report/index.ts';
import { MAIN, ROOT, startCluster, type Cluster } from '../helpers/cluster.ts';
import { freePort } from '../helpers/ports.ts';

/** Screenshots and rendered pages of this run (gitignored). */
const ARTEFACTS = path.join(ROOT, 'test-artifacts');

const chromium = chromiumPath();
const poppler = spawnSync('pdftoppm', ['-v']).error === undefined && spawnSync('pdftotext', ['-v']).error === undefined;
const missing = [chromium === null ? 'chromium (apt-get install chromium)' : '', poppler ? '' : 'poppler-utils (apt-get install poppler-utils)'].filter(Boolean).join(', ');
if (missing !== '' && process.env.CI === 'true') {
  test('Chromium and poppler-utils are present (required under CI=true)', () => assert.fail(`missing: ${missing}`));
}
const needsBrowser = missing === '' ? {} : { skip: `missing: ${missing}` };

let c: Cluster;
let adminToken: string;
let viewerToken: string;
let keys: string[];
let witnesses: string[];
let t0: string;
let dir: string;

/** Runs the CLI against the test cluster (asynchronously: the test process keeps serving its own fetches). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, '--config', c.configFile, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function chat(jurisdiction: string, content: string): Promise<Response> {
  return fetch(`${c.gateway}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': jurisdiction },
    body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content }] }),
  });
}

async function regionsState(): Promise<{ region: string; healthy: boolean; suspension: { reason: string; ref: string } | null }[]> {
  const res = await fetch(`${c.gateway}/sovereign/admin/regions`, { headers: { authorization: `Bearer ${adminToken}` } });
  return ((await res.json()) as { regions: { region: string; healthy: boolean; suspension: { reason: string; ref: string } | null }[] }).regions;
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`timed out waiting for ${what}\n${c.output().slice(-2000)}`);
}

before(async () => {
  mkdirSync(ARTEFACTS, { recursive: true });
  c = await startCluster();
  dir = c.dir;
  adminToken = readFileSync(path.join(c.dir, 'data/gateway/admin-token'), 'utf8').trim();
  viewerToken = readFileSync(path.join(c.dir, 'data/gateway/console-token'), 'utf8').trim();
  // The auditor's keys, obtained out of band (here: from the served /key of each region).
  keys = [];
  witnesses = [];
  for (const r of Object.keys(c.regions)) {
    const k = (await (await fetch(`${c.gateway}/sovereign/ledger/${r}/key`)).json()) as { log: string; witness: string };
    keys.push(k.log);
    witnesses.push(k.witness);
  }
  // Each cell archives its first checkpoint (its model arrivals) for reports to start from.
  const sizeOf = async (r: string): Promise<number> => Number((await (await fetch(`${c.gateway}/sovereign/ledger/${r}/checkpoint`)).text()).split('\n')[1]);
  for (const r of Object.keys(c.regions)) await waitFor(`${r}'s first archived checkpoint`, async () => (await fetch(`${c.gateway}/sovereign/ledger/${r}/checkpoint-at/${await sizeOf(r)}`)).status === 200);
  t0 = new Date(Date.now() - 1000).toISOString();

  // Traffic: EU personal data at home, Singapore public data, an AE special category, and a
  // third-country subject's personal data (denied, 451).
  for (let i = 0; i < 3; i++) assert.equal((await chat('DE', `write to jane.doe${i}@example.com`)).status, 200);
  assert.equal((await chat('SG', 'the weather is nice')).status, 200);
  assert.equal((await chat('AE', 'my diagnosis is diabetes, call me at +971 50 123 4567')).status, 200);
  assert.equal((await chat('US', 'write to john@example.com')).status, 451);

  // A legal trigger through the CLI: Singapore suspended; its subjects' personal data then goes
  // to the EU under contract (a cross-border transfer), then Singapore is resumed.
  const s = await cli(['region', 'suspend', 'sg-singapore', '--reason', 'Data breach investigation', '--ref', 'PDPC-2026-042']);
  assert.equal(s.code, 0, s.stderr);
  const moved = await chat('SG', 'write to tan.ah.kow@example.com');
  assert.equal(moved.status, 200);
  assert.equal(moved.headers.get('x-sovereign-region'), 'eu-frankfurt');
  const r = await cli(['region', 'resume', 'sg-singapore', '--reason', 'Investigation closed', '--ref', 'PDPC-2026-042/2']);
  assert.equal(r.code, 0, r.stderr);

  // A failover: kill -9 the EU cell serving EU traffic, and send EU requests at once. (If a
  // health probe notices the dead cell first, requests skip it without failing over: try again.)
  let failedOver = false;
  for (let round = 0; round < 3 && !failedOver; round++) {
    const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
    const line = ps.split('\n').find((l) => l.includes(c.configFile) && l.includes('--region eu-frankfurt'));
    assert.ok(line, 'eu-frankfurt cell process not found');
    process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    const burst = await Promise.all(Array.from({ length: 4 }, (_, i) => chat('DE', `failover test ${i} jane@example.com`)));
    assert.ok(burst.every((b) => b.status === 200));
    failedOver = burst.some((b) => b.headers.get('x-sovereign-region') === 'eu-paris' && /eu-frankfurt=(ledger_unavailable|connect_error|reset)/.test(b.headers.get('x-sovereign-attempts') ?? ''));
    // The report reads every region's log through the gateway: wait for the restarted cell.
    await waitFor('eu-frankfurt back', async () => (await regionsState()).every((x) => x.healthy), 60_000);
  }
  assert.ok(failedOver, 'no request failed over from the killed cell to eu-paris');
  // Checkpoints are signed every second and then cosigned by the witnesses.
  await new Promise((res) => setTimeout(res, 3000));
});

after(async () => {
  await c?.stop();
});

describe('compliance reports', () => {
  let report: Report;
  const jsonFile = (): string => path.join(dir, 'report.json');
  const period = (): string[] => ['--from', t0, '--to', new Date(Date.now() + 60_000).toISOString()];

  test('the JSON report carries every figure with its index range, from the ledger alone', async () => {
    const out = await cli(['report', '--all', ...period(), '--out', jsonFile()]);
    assert.equal(out.code, 0, out.stderr);
    report = JSON.parse(readFileSync(jsonFile(), 'utf8')) as Report;
    const region = (id: string) => report.regions.find((x) => x.region === id) as Report['regions'][number];
    const fig = (id: string, f: string) => region(id).figures.find((x) => x.id === f);

    assert.ok((fig('eu-frankfurt', 'requests/EU/personal')?.count ?? 0) >= 3, JSON.stringify(region('eu-frankfurt').figures));
    assert.equal(fig('uae-dubai', 'requests/AE/special')?.count, 1);
    // The transfer: recorded in the subjects' home region with its mechanism, and received in Frankfurt.
    assert.equal(fig('sg-singapore', 'transfers_out/SG/eu-frankfurt/contract')?.count, 1);
    assert.equal(fig('eu-frankfurt', 'transfers_in/SG/contract')?.count, 1);
    assert.equal(fig('eu-frankfurt', 'denials/third-country-nothing')?.count, 1);
    assert.ok((fig('eu-paris', 'failovers/eu-frankfurt/eu-paris')?.count ?? 0) >= 1, JSON.stringify(region('eu-paris').figures));
    for (const id of ['sg-singapore', 'eu-frankfurt']) {
      const triggers = region(id).cited.filter((x) => x.kind === 'trigger');
      assert.deepEqual(
        triggers.map((x) => (x.entry.kind === 'trigger' ? [x.entry.action, x.entry.region, x.entry.reason, x.entry.ref] : [])),
        [
          ['suspend', 'sg-singapore', 'Data breach investigation', 'PDPC-2026-042'],
          ['resume', 'sg-singapore', 'Investigation closed', 'PDPC-2026-042/2'],
        ],
      );
    }
    for (const r of report.regions) {
      // Models served with their arrival entries.
      for (const m of r.figures.filter((f) => f.section === 'models')) {
        assert.ok(r.cited.some((x) => x.kind === 'arrival' && x.entry.kind === 'model' && x.entry.digest === m.dims.digest), `${r.region}: no arrival entry for ${m.id}`);
      }
      // Every figure counts indexes inside the period's range, and the end checkpoint covers them.
      for (const f of r.figures) {
        assert.ok(r.indexes !== null && f.indexes.first >= r.indexes.first && f.indexes.last <= r.indexes.last, `${r.region} ${f.id}`);
        assert.ok(f.indexes.last < r.checkpoint_end.size);
      }
      // Every cited entry's proof verifies offline with the keys alone, witness quorum included.
      for (const x of r.cited) {
        const v = verifyProof(x.proof, { log: keys.find((k) => k.startsWith(`${r.origin}+`)) as string, witnesses, quorum: 1 });
        assert.equal(v.index, x.index);
        assert.deepEqual(JSON.parse(v.entry.toString('utf8')), x.entry);
      }
      assert.ok(r.checkpoint_start.size <= (r.indexes?.first ?? r.checkpoint_end.size));
      // Each log's first checkpoint (its model arrival, before the period) is archived and cited.
      assert.notEqual(r.checkpoint_start.note, null, `${r.region}: no signed start checkpoint`);
    }
  });

  test('report verify passes the JSON and the HTML, and fails an edited report naming the figure', async () => {
    const html = path.join(dir, 'report.html');
    const out = await cli(['report', '--all', ...period(), '--format', 'html', '--out', html]);
    assert.equal(out.code, 0, out.stderr);
    const text = readFileSync(html, 'utf8');
    assert.match(text, /How to verify this report/);
    assert.match(text, /<svg /);
    assert.doesNotMatch(text, /<script(?! type="application\/json")/, 'the HTML report runs no script');

    for (const file of [jsonFile(), html]) {
      const v = await cli(['report', 'verify', file, '--key', ...keys, '--witness', ...witnesses]);
      assert.equal(v.code, 0, `${file}: ${v.stderr}`);
      assert.match(v.stdout, /^ok: /m);
    }

    // A figure edited by hand.
    const edited = JSON.parse(readFileSync(jsonFile(), 'utf8')) as Report;
    const eu = edited.regions.find((x) => x.region === 'eu-frankfurt') as Report['regions'][number];
    const f = eu.figures.find((x) => x.id === 'requests/EU/personal') as Report['regions'][number]['figures'][number];
    f.count -= 1;
    writeFileSync(path.join(dir, 'edited.json'), JSON.stringify(edited));
    const bad = await cli(['report', 'verify', path.join(dir, 'edited.json'), '--key', ...keys]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /eu-frankfurt: figure "requests\/EU\/personal": the report says \d+ .*the log gives \d+/);

    // A legal trigger's reference edited by hand.
    const edited2 = JSON.parse(readFileSync(jsonFile(), 'utf8')) as Report;
    const sg = edited2.regions.find((x) => x.region === 'sg-singapore') as Report['regions'][number];
    const trig = sg.cited.find((x) => x.kind === 'trigger');
    assert.ok(trig?.entry.kind === 'trigger');
    trig.entry.ref = 'PDPC-2026-000';
    writeFileSync(path.join(dir, 'edited2.json'), JSON.stringify(edited2));
    const bad2 = await cli(['report', 'verify', path.join(dir, 'edited2.json'), '--key', ...keys]);
    assert.equal(bad2.code, 1);
    assert.match(bad2.stderr, /sg-singapore: cited trigger entry \d+: the report's copy differs from the log's entry/);

    // A wrong key: the checkpoints do not verify.
    const wrong = await cli(['report', 'verify', jsonFile(), '--key', keys[1] as string]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /no --key given for the log/);
  });

  test('the PDF, rendered by Chromium, has its headings on PNG pages (pdftoppm)', needsBrowser, async () => {
    const pdf = path.join(dir, 'report.pdf');
    const out = await cli(['report', '--all', ...period(), '--format', 'pdf', '--out', pdf]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(readFileSync(pdf).subarray(0, 5).toString(), '%PDF-');
    const pages = path.join(ARTEFACTS, 'report-page');
    execFileSync('pdftoppm', ['-r', '80', '-png', pdf, pages]);
    const pngs = readdirSync(ARTEFACTS).filter((f) => f.startsWith('report-page') && f.endsWith('.png'));
    assert.ok(pngs.length >= 2, `pages: ${pngs.join(', ')}`);
    for (const p of pngs) assert.ok(readFileSync(path.join(ARTEFACTS, p)).length > 5000, `${p} looks blank`);
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    for (const h of ['Sovereign compliance report', 'How to verify this report', 'Region eu-frankfurt', 'Region sg-singapore', 'Requests by subject jurisdiction and data class', 'Cross-border transfers', 'Denials (HTTP 451) by policy', 'Legal triggers', 'Failovers', 'Models and versions served', 'Checkpoints and proofs', 'Inclusion proofs of the']) {
      assert.ok(text.includes(h), `PDF lacks the heading "${h}"`);
    }
    assert.match(text, /PDPC-2026-042/);
  });

  test('an empty period gives an empty report that says so, and it verifies', async () => {
    const file = path.join(dir, 'empty.json');
    const out = await cli(['report', '--region', 'eu-paris', '--from', '2020-01-01', '--to', '2020-01-02', '--out', file]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /empty report: no entry in the period/);
    const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
    assert.equal(r.regions[0]?.entries, 0);
    assert.deepEqual(r.regions[0]?.figures, []);
    const html = await cli(['report', '--region', 'eu-paris', '--from', '2020-01-01', '--to', '2020-01-02', '--format', 'html']);
    assert.match(html.stdout, /This report is empty/);
    const v = await cli(['report', 'verify', file, '--key', ...keys]);
    assert.equal(v.code, 0, v.stderr);
  });

  test('bad input: unparsable dates, an unknown region, an unreachable log', async () => {
    const d = await cli(['report', '--all', '--from', 'last tuesday', '--to', '2026-01-01']);
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /--from "last tuesday" is not a date: give YYYY-MM-DD/);
    const order = await cli(['report', '--all', '--from', '2026-02-01', '--to', '2026-01-01']);
    assert.match(order.stderr, /--to 2026-01-01 is not after --from 2026-02-01/);
    const u = await cli(['report', '--region', 'mars-olympus', '--from', '2026-01-01', '--to', '2026-02-01']);
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /unknown region "mars-olympus"; regions of .*: eu-frankfurt, eu-paris, uae-dubai, sg-singapore/);
    const port = await freePort();
    const g = await cli(['report', '--region', 'eu-paris', '--from', '2026-01-01', '--to', '2026-02-01', '--gateway', `http://127.0.0.1:${port}`]);
    assert.notEqual(g.code, 0);
    assert.match(g.stderr, /the log of eu-paris cannot be read at http:\/\/127\.0\.0\.1:\d+\/sovereign\/ledger\/eu-paris\/key .*is the gateway running\?/);
    // Without a Chromium, a PDF is refused with the fix named, and nothing is written.
    const noPdf = await cli(['report', '--region', 'eu-paris', '--from', '2026-01-01', '--to', '2026-02-01', '--out', path.join(dir, 'none.pdf')], { SOVEREIGN_CHROMIUM: path.join(dir, 'no-chromium') });
    assert.notEqual(noPdf.code, 0);
    assert.match(noPdf.stderr, /PDF needs headless Chromium and none was found .*apt-get install chromium.*--format html/);
    assert.throws(() => readFileSync(path.join(dir, 'none.pdf')));
    const elsewhere = JSON.parse(readFileSync(jsonFile(), 'utf8')) as Report;
    (elsewhere.regions[0] as Report['regions'][number]).region = 'mars-olympus';
    writeFileSync(path.join(dir, 'elsewhere.json'), JSON.stringify(elsewhere));
    const e = await cli(['report', 'verify', path.join(dir, 'elsewhere.json'), '--key', ...keys]);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /the gateway at http:\/\/127\.0\.0\.1:\d+ has no region "mars-olympus"/);
    const p = await cli(['report', 'verify', path.join(dir, 'missing.json'), '--key', 'x']);
    assert.match(p.stderr, /cannot read the report .*missing\.json/);
  });
});

describe('operator console', () => {
  test('without a valid token: 401 and no data', async () => {
    for (const [p, headers] of [
      ['/sovereign/console', {}],
      ['/sovereign/console/state', {}],
      ['/sovereign/console/events', {}],
      ['/sovereign/console/static/app.js', {}],
      ['/sovereign/console/state', { authorization: 'Bearer not-the-token' }],
      ['/sovereign/console/state', { cookie: 'sovereign_console=not-the-token' }],
      // A cookie holding the token itself is no session.
      ['/sovereign/console/state', { cookie: `sovereign_console=${encodeURIComponent(adminToken)}` }],
      ['/sovereign/console?token=not-the-token', {}],
    ] as const) {
      const res = await fetch(`${c.gateway}${p}`, { headers, redirect: 'manual' });
      assert.equal(res.status, 401, p);
      const body = await res.text();
      for (const region of Object.keys(c.regions)) assert.ok(!body.includes(region), `${p} leaks ${region}`);
    }
    const post = await fetch(`${c.gateway}/sovereign/console/regions/eu-paris/suspend`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sovereign-console': '1' }, body: '{"reason":"x","ref":"y"}' });
    assert.equal(post.status, 401);
    assert.ok((await regionsState()).every((r) => r.suspension === null));
  });

  test('the console token reads but cannot act', async () => {
    const h = { authorization: `Bearer ${viewerToken}` };
    const state = (await (await fetch(`${c.gateway}/sovereign/console/state`, { headers: h })).json()) as { role: string; regions: unknown[] };
    assert.equal(state.role, 'viewer');
    assert.equal(state.regions.length, 4);
    const post = await fetch(`${c.gateway}/sovereign/console/regions/eu-paris/suspend`, { method: 'POST', headers: { ...h, 'content-type': 'application/json', 'x-sovereign-console': '1' }, body: '{"reason":"x","ref":"y"}' });
    assert.equal(post.status, 403);
    assert.ok((await regionsState()).every((r) => r.suspension === null));
  });

  test('metrics: requests by region, jurisdiction, class and outcome; latency histograms; witness lag', async () => {
    const text = await (await fetch(`${c.gateway}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } })).text();
    assert.match(text, /sovereign_requests_total\{outcome="denied",region="none",jurisdiction="US",class="personal"\} 1/);
    assert.match(text, /sovereign_requests_total\{outcome="routed",region="uae-dubai",jurisdiction="AE",class="special"\} 1/);
    assert.match(text, /sovereign_ledger_append_seconds_count \d+/);
    assert.match(text, /sovereign_decision_seconds_count \d+/);
    assert.match(text, /sovereign_witness_lag_entries\{region="eu-frankfurt"\} \d+/);
    assert.match(text, /sovereign_region_ejections\{region="eu-frankfurt"\} \d+/);
    // Whether traffic or a probe saw the killed cell first is a race: the counter is there.
    assert.match(text, /sovereign_ejections_total\{region="eu-frankfurt"\} \d+/);
  });

  describe('in Chromium', needsBrowser, () => {
    let browser: Browser;
    before(async () => {
      const { chromium: pw } = await import('playwright-core');
      browser = await pw.launch({ executablePath: chromium as string, args: CHROMIUM_ARGS });
    });
    after(async () => {
      await browser?.close();
    });

    test('shows a CLI suspension within two seconds, then suspends and resumes a region from the UI', async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${c.gateway}/sovereign/console?token=${encodeURIComponent(adminToken)}`);
      assert.equal(new URL(page.url()).search, '', 'the token is taken out of the address bar');
      // The browser holds a session that expires, never the token itself.
      const [cookie] = await page.context().cookies();
      assert.ok(cookie && !cookie.value.includes(adminToken) && /^operator\.\d+\./.test(cookie.value), 'the cookie is an operator session');
      assert.ok(cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.expires > Date.now() / 1000);
      const row = (r: string) => page.locator(`tr[data-region="${r}"]`);
      await row('uae-dubai').waitFor({ timeout: 10_000 });
      await page.locator('tr[data-ledger="eu-frankfurt"]').waitFor();
      await page.screenshot({ path: path.join(ARTEFACTS, 'console-loaded.png'), fullPage: true });

      // A suspension done through the CLI shows within two seconds of the CLI returning.
      const s = await cli(['region', 'suspend', 'uae-dubai', '--reason', 'Court order', '--ref', 'DIFC-CFI-2026-7']);
      assert.equal(s.code, 0, s.stderr);
      const shownAfter = Date.now();
      await row('uae-dubai').locator('td.suspension', { hasText: 'SUSPENDED' }).waitFor({ timeout: 2000 });
      assert.ok(Date.now() - shownAfter <= 2000);
      assert.match(await row('uae-dubai').innerText(), /DIFC-CFI-2026-7: Court order/);
      await page.screenshot({ path: path.join(ARTEFACTS, 'console-cli-suspension.png'), fullPage: true });

      // Suspend eu-paris from the UI: the dialog asks for a reason and a reference.
      await row('eu-paris').getByRole('button', { name: 'Suspend' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(/Reason/).fill('Supervisory authority order');
      await dialog.getByLabel(/Reference/).fill('CNIL-2026-113');
      await dialog.getByRole('button', { name: 'Suspend region' }).click();
      await row('eu-paris').locator('td.suspension', { hasText: 'SUSPENDED' }).waitFor({ timeout: 5000 });
      const afterSuspend = (await regionsState()).find((r) => r.region === 'eu-paris');
      assert.deepEqual([afterSuspend?.suspension?.reason, afterSuspend?.suspension?.ref], ['Supervisory authority order', 'CNIL-2026-113']);
      await page.screenshot({ path: path.join(ARTEFACTS, 'console-ui-suspension.png'), fullPage: true });

      // Resume it from the UI.
      await row('eu-paris').getByRole('button', { name: 'Resume' }).click();
      await dialog.getByLabel(/Reason/).fill('Order lifted');
      await dialog.getByLabel(/Reference/).fill('CNIL-2026-113/2');
      await dialog.getByRole('button', { name: 'Resume region' }).click();
      await row('eu-paris').locator('td.suspension', { hasText: 'in service' }).waitFor({ timeout: 5000 });
      assert.equal((await regionsState()).find((r) => r.region === 'eu-paris')?.suspension, null);
      // Both triggers are in eu-paris's ledger, as the CLI's are.
      const log = (await (await fetch(`${c.gateway}/sovereign/ledger/eu-paris/entries?from=0&to=1000`)).json()) as { entries: { entry: { kind: string; action?: string; ref?: string } }[] };
      const mine = log.entries.map((e) => e.entry).filter((e) => e.kind === 'trigger' && e.ref?.startsWith('CNIL-2026-113'));
      assert.deepEqual(mine.map((e) => e.action), ['suspend', 'resume']);
      await page.screenshot({ path: path.join(ARTEFACTS, 'console-ui-resumed.png'), fullPage: true });
      assert.deepEqual(errors, []);
      await page.close();
    });

    test('a read-only session shows no actions', async () => {
      const page = await browser.newPage();
      await page.goto(`${c.gateway}/sovereign/console?token=${encodeURIComponent(viewerToken)}`);
      await page.locator('tr[data-region="eu-paris"]').waitFor({ timeout: 10_000 });
      assert.equal(await page.getByRole('button', { name: 'Suspend' }).count(), 0);
      assert.match(await page.locator('header').innerText(), /read-only/);
      await page.close();
    });
  });
});
