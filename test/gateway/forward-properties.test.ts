// Property-based: whatever the regions answer and whatever the law says at each attempt, the
// forwarder sends a request only to the candidates of its decision that the law permits right
// then, in their order (those whose ready probe says they lack the model last), moves on only on
// an answer that leaves the request unprocessed (busy, no model, no record, 5xx), and stops at
// the first region that served it or answered a client error.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import { pino } from 'pino';
import { topologyFrom } from '../../src/config/index.ts';
import { HealthMonitor } from '../../src/health/index.ts';
import { Mesh } from '../../src/mesh/index.ts';
import { Forwarder } from '../../src/gateway/forward.ts';
import { chatForward } from '../helpers/forward.ts';
import type { Decision } from '../../src/gateway/decision.ts';

const REGIONS = ['r0', 'r1', 'r2', 'r3'] as const;
type Region = (typeof REGIONS)[number];

/** How a stand-in cell answers a request that carries a record, and the outcome the forwarder must see. */
const ANSWERS = {
  ok: { status: 200, headers: { 'x-sovereign-ledger': 'origin 1' }, outcome: 'ok' },
  client_error: { status: 400, headers: {}, outcome: 'client_error' },
  busy: { status: 429, headers: { 'x-sovereign-cell-refused': 'busy', 'retry-after': '1' }, outcome: 'busy' },
  no_model: { status: 404, headers: { 'x-sovereign-cell-refused': 'no_model' }, outcome: 'no_model' },
  // A 404 without the header is the region's own answer (an unknown route, say): relayed.
  not_found: { status: 404, headers: {}, outcome: 'client_error' },
  http_5xx: { status: 500, headers: {}, outcome: 'http_5xx' },
  unrecorded: { status: 503, headers: { 'x-sovereign-record-refused': 'unavailable' }, outcome: 'ledger_unavailable' },
  // A success without a receipt: the gateway cannot show the decision is in the region's log.
  no_receipt: { status: 200, headers: {}, outcome: 'ledger_unavailable' },
} as const;
type Answer = keyof typeof ANSWERS;
const FINAL: ReadonlySet<string> = new Set(['ok', 'client_error']);

/** What a stand-in cell's ready answer says of its models: the request's model "m" among them, not, or nothing. */
const LISTS = { serves: ['m', 'x'], lacks: ['x'], silent: undefined } as const;
type Lists = keyof typeof LISTS;

const answers = new Map<Region, Answer>();
const lists = new Map<Region, Lists>();
const hits = new Map<Region, number>();
const servers: Server[] = [];
const urls = new Map<Region, string>();

before(async () => {
  for (const id of REGIONS) {
    const s = createServer((req, res) => {
      req.resume();
      if (req.url === '/v2/health/ready') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: true, models: LISTS[lists.get(id) ?? 'silent'] }));
      hits.set(id, (hits.get(id) ?? 0) + 1);
      const a = ANSWERS[answers.get(id) ?? 'ok'];
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(`{"region":"${id}"}`);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    servers.push(s);
    urls.set(id, `http://127.0.0.1:${(s.address() as { port: number }).port}`);
  }
});
after(() => {
  for (const s of servers) s.close();
});

const caseArb = fc.record({
  // The decision's candidates: some of the regions, in some order.
  candidates: fc.shuffledSubarray([...REGIONS], { minLength: 1 }),
  answers: fc.record(Object.fromEntries(REGIONS.map((r) => [r, fc.constantFrom(...(Object.keys(ANSWERS) as Answer[]))])) as Record<Region, fc.Arbitrary<Answer>>),
  // The law at each attempt: a region suspended before its turn is never sent the request.
  permitted: fc.record(Object.fromEntries(REGIONS.map((r) => [r, fc.boolean()])) as Record<Region, fc.Arbitrary<boolean>>),
  // What each region's ready probe said of its models (its answer to the request is separate:
  // the view may be one probe old).
  lists: fc.record(Object.fromEntries(REGIONS.map((r) => [r, fc.constantFrom(...(Object.keys(LISTS) as Lists[]))])) as Record<Region, fc.Arbitrary<Lists>>),
});

test('the forwarder tries only permitted candidates, in order, and stops at the first that served or refused the client', async () => {
  const topology = topologyFrom({
    jurisdictions: { EU: ['DE'] },
    regions: REGIONS.map((id) => ({ id, jurisdiction: 'EU', country: 'DE', url: urls.get(id) as string })),
    // The forwarder's choices are under test, not the channel: plain HTTP stand-in cells.
    mesh: { mode: 'plaintext' },
  });
  const mesh = await Mesh.open(topology, 'spiffe://sovereign.internal/gateway/test', pino({ level: 'silent' }));
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      hits.clear();
      for (const r of REGIONS) {
        answers.set(r, c.answers[r]);
        lists.set(r, c.lists[r]);
      }
      // A fresh health view per case: a failure in one case does not skip a region in the next.
      const health = new HealthMonitor(REGIONS.map((r) => ({ region: r, url: urls.get(r) as string })), { intervalMs: 60_000 });
      for (const r of REGIONS) await health.probe(r);
      const forwarder = new Forwarder(topology, health, mesh, { recordElsewhere: async () => undefined });
      const d = { id: 'd', tenant: null, candidates: c.candidates, permitted: c.candidates } as unknown as Decision;
      try {
        const out = await forwarder.send(d, chatForward('d', { permitted: (r) => c.permitted[r as Region] }));
        if (out.ok && !Buffer.isBuffer(out.body)) out.body.resume();
        // The model: each candidate in order, those said to lack "m" after the others, skipped
        // when not permitted, until a final answer.
        const lacks = (r: Region): boolean => c.lists[r] === 'lacks';
        const order = [...c.candidates.filter((r) => !lacks(r)), ...c.candidates.filter(lacks)];
        const expected: string[] = [];
        let served: Region | null = null;
        for (const r of order) {
          if (!c.permitted[r]) {
            expected.push(`${r}=skipped`);
            continue;
          }
          const outcome = ANSWERS[c.answers[r]].outcome;
          expected.push(`${r}=${outcome}`);
          if (FINAL.has(outcome)) {
            served = r;
            break;
          }
        }
        assert.deepEqual(out.attempts.map((a) => `${a.region}=${a.outcome}`), expected);
        assert.equal(out.ok ? out.region : null, served);
        for (const r of REGIONS) {
          const sent = expected.includes(`${r}=${ANSWERS[c.answers[r]].outcome}`) ? 1 : 0;
          assert.equal(hits.get(r) ?? 0, sent, `${r}: candidate ${c.candidates.includes(r)}, permitted ${c.permitted[r]}`);
        }
      } finally {
        await forwarder.close();
      }
    }),
    { numRuns: 120 },
  );
});
