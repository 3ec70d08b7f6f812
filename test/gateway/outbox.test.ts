// What a request may declare is bounded at the edge, and a ledger record its region refuses for
// good is dead-lettered (file, metric, log line) instead of sitting in the outbox retrying
// forever, while the outbox keeps delivering the others. Through the running system.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { MAX_DECLARED_JURISDICTIONS, MAX_ENTRY_JURISDICTIONS } from '../../src/common/index.ts';
import { EU, startCluster, type Cluster } from '../helpers/cluster.ts';

const HOME = 'eu-frankfurt';

/** A denial record as the gateway keeps it in its outbox (the cell adds the keyed request hash). */
function denial(jurisdictions: { jurisdiction: string; source: string }[]): Record<string, unknown> {
  return {
    v: 1,
    kind: 'decision',
    time: new Date().toISOString(),
    decision_id: randomUUID(),
    tenant: 'anonymous',
    jurisdictions,
    data_class: 'personal',
    detected_types: ['EMAIL'],
    region: null,
    mode: 'legal-first',
    outcome: 'denied',
    attempts: [],
    policy_ids: [],
    model: 'text-analysis',
    model_digest: null,
  };
}

const good1 = denial([{ jurisdiction: 'EU', source: 'geoip' }]);
// More jurisdictions than a ledger entry holds (kept by a gateway that did not bound the header).
const tooMany = denial(Array.from({ length: MAX_ENTRY_JURISDICTIONS + 4 }, (_, i) => ({ jurisdiction: `J${i}`, source: 'declared' })));
const good2 = denial([{ jurisdiction: 'SG', source: 'declared' }]);
// Kept by worker slot 3 of an earlier run with three workers; this gateway runs one process.
const orphan = denial([{ jurisdiction: 'EU', source: 'tenant' }]);

let c: Cluster;
let outboxDir: string;

before(async () => {
  c = await startCluster({}, (config) => {
    // The gateway finds these records in its outbox when it starts (as after a restart).
    outboxDir = path.join(config.dataDir as string, 'gateway');
    mkdirSync(outboxDir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(outboxDir, 'ledger-outbox-gateway.jsonl'), [good1, tooMany, good2].map((entry) => `${JSON.stringify({ region: HOME, entry })}\n`).join(''), { mode: 0o600 });
    writeFileSync(path.join(outboxDir, 'ledger-outbox-gateway-w3.jsonl'), `${JSON.stringify({ region: HOME, entry: orphan })}\n`, { mode: 0o600 });
  });
});
after(async () => {
  await c?.stop();
});

async function text(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(url, { headers });
  return res.body.text();
}

/** /metrics is an operator route: the admin token. */
const metricsText = (): Promise<string> => text(`${c.gateway}/metrics`, { authorization: `Bearer ${c.adminToken()}` });

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${c.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const ids = async (): Promise<string[]> => {
  const body = JSON.parse(await text(`${c.gateway}/sovereign/ledger/${HOME}/entries`)) as { entries: { entry: { decision_id?: string } }[] };
  return body.entries.map((e) => e.entry.decision_id ?? '');
};

test('a record the region refuses for good is dead-lettered with a metric and a log line; the others are delivered', async () => {
  const deadFile = path.join(outboxDir, 'ledger-dead-letter-gateway.jsonl');
  const metrics = await until('the dead-letter metric', async () => {
    const m = await metricsText();
    return m.includes(`sovereign_ledger_dead_letter_records{region="${HOME}"} 1`) && /^sovereign_ledger_outbox_records 0$/m.test(m) ? m : undefined;
  });
  assert.match(metrics, /# TYPE sovereign_ledger_dead_letter_records gauge/);

  const delivered = await ids();
  assert.ok(delivered.includes(good1.decision_id as string), 'the record before it was delivered');
  assert.ok(delivered.includes(good2.decision_id as string), 'the record after it was delivered');
  assert.ok(!delivered.includes(tooMany.decision_id as string));

  assert.ok(existsSync(deadFile), 'dead-letter file next to the outbox');
  const dead = readFileSync(deadFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { region: string; entry: { decision_id: string }; refused: { status: number; message: string } });
  assert.equal(dead.length, 1);
  assert.equal(dead[0]?.region, HOME);
  assert.equal(dead[0]?.entry.decision_id, tooMany.decision_id);
  assert.equal(dead[0]?.refused.status, 400);
  assert.match(dead[0]?.refused.message ?? '', /jurisdictions/);
  assert.equal(readFileSync(path.join(outboxDir, 'ledger-outbox-gateway.jsonl'), 'utf8'), '', 'nothing left to retry');

  // Never retried: after several more outbox intervals (2 s each) it was refused exactly once.
  await new Promise((r) => setTimeout(r, 5000));
  const logLines = readFileSync(path.join(c.dir, 'data', 'logs', 'gateway.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('refused for good'));
  assert.equal(logLines.length, 1, 'one log line');
  assert.match(logLines[0] ?? '', new RegExp(tooMany.decision_id as string));
  assert.equal(readFileSync(deadFile, 'utf8').trim().split('\n').length, 1);
  assert.match(await metricsText(), new RegExp(`sovereign_ledger_dead_letter_records\\{region="${HOME}"\\} 1\\n`));
});

test('the outbox of a worker slot that no longer runs (fewer gateway.workers) is handed to a running slot and delivered', async () => {
  await until('the orphaned record in the ledger', async () => ((await ids()).includes(orphan.decision_id as string) ? true : undefined));
  assert.ok(!existsSync(path.join(outboxDir, 'ledger-outbox-gateway-w3.jsonl')), 'the old slot\'s file is gone');
  const log = readFileSync(path.join(c.dir, 'data', 'logs', 'gateway.log'), 'utf8');
  assert.match(log, /ledger-outbox-gateway-w3\.jsonl.*handed to a running slot|handed to a running slot.*ledger-outbox-gateway-w3\.jsonl/);
});

test(`x-sovereign-jurisdiction: more than ${MAX_DECLARED_JURISDICTIONS} declared jurisdictions are refused at the edge with a 400 naming the header and the limit`, async () => {
  const chat = (declared: string) =>
    request(`${c.gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sovereign-jurisdiction': declared },
      body: JSON.stringify({ model: 'text-analysis', messages: [{ role: 'user', content: 'Summarise the quarterly report.' }] }),
    });
  const before = (await ids()).length;
  const over = await chat(EU.slice(0, MAX_DECLARED_JURISDICTIONS + 1).join(','));
  assert.equal(over.statusCode, 400);
  const body = (await over.body.json()) as { error: { type: string; message: string; param?: string } };
  assert.equal(body.error.type, 'invalid_request_error');
  assert.match(body.error.message, /^x-sovereign-jurisdiction: /);
  assert.match(body.error.message, new RegExp(`at most ${MAX_DECLARED_JURISDICTIONS} `));
  assert.equal(body.error.param, 'x-sovereign-jurisdiction');

  // At the limit the request is decided and recorded as usual.
  const at = await chat(EU.slice(0, MAX_DECLARED_JURISDICTIONS).join(','));
  assert.equal(at.statusCode, 200, await at.body.text());
  assert.ok(MAX_DECLARED_JURISDICTIONS + 2 <= MAX_ENTRY_JURISDICTIONS, 'declared + tenant + geo-IP fit in one entry');
  await until('the routed decision in the ledger', async () => ((await ids()).length > before ? true : undefined));
});
