// Public entry of the operator's console, served by the gateway at /sovereign/console: region
// health, latency and load, decisions per second, transfers, suspensions (suspend / resume
// through the admin API), ledger heads with witness status; live over server-sent events.
//
// The front end is preact + htm from the `htm` package's standalone module (13 KB, no build
// step), served from node_modules with the console's own module: nothing from a CDN, and
// `npm install && npm start` serves it as is.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError, SSE_HEADERS, badRequest, firstIssue } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import type { GatewayMetrics } from '../gateway/metrics.ts';
import { unservedModels, type HealthMonitor, type RegionStateStore } from '../health/index.ts';
import { CONSOLE_PATH, clearSessionCookie, requestRole, roleOf, setSessionCookie, type Role, type Tokens } from './auth.ts';
import { LedgerHeads } from './heads.ts';
import { DecisionRates } from './rates.ts';

/** How often the ledger heads are read while no browser watches the console. */
const HEADS_IDLE_MS = 5000;

export { consoleToken, consoleTokenFile, CONSOLE_TOKEN_ENV, SESSION_SECONDS, sessionRole, sessionValue } from './auth.ts';

export interface ConsoleDeps {
  current: () => { topology: Topology; health: HealthMonitor; recorder: { pending: number } };
  store: RegionStateStore;
  metrics: GatewayMetrics;
  tokens: Tokens;
  /** How often the state is sampled and pushed to browsers (default 1000 ms). */
  intervalMs?: number;
}

const UI_DIR = new URL('./ui/', import.meta.url);
const VENDOR = readFileSync(new URL(import.meta.resolve('htm/preact/standalone')));
const STATIC: Record<string, { body: Buffer; type: string }> = {
  'app.js': { body: readFileSync(new URL('app.js', UI_DIR)), type: 'text/javascript; charset=utf-8' },
  'console.css': { body: readFileSync(new URL('console.css', UI_DIR)), type: 'text/css; charset=utf-8' },
  'vendor/htm-preact.js': { body: VENDOR, type: 'text/javascript; charset=utf-8' },
};
const INDEX = readFileSync(new URL('index.html', UI_DIR));
const LOGIN = readFileSync(new URL('login.html', UI_DIR), 'utf8');
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const ActionBody = z.strictObject({
  reason: z.string().trim().min(1, 'give the reason (it is kept in the ledger)').max(200),
  ref: z.string().trim().min(1, 'give the reference of the order or authority').max(128),
  for: z.array(z.string().min(1)).optional(),
  mode: z.enum(['drain', 'cut']).optional(),
});

function loginPage(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-security-policy', CSP)
    .header('www-authenticate', 'Bearer realm="sovereign-console"')
    .type('text/html; charset=utf-8')
    .send(LOGIN.replace('{{message}}', message));
}

export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  const heads = new LedgerHeads(app, () => deps.current().topology);
  const rates = new DecisionRates(deps.metrics);
  const clients = new Set<FastifyReply>();

  async function snapshot(role: Role): Promise<Record<string, unknown>> {
    const { topology, health, recorder } = deps.current();
    const state = await deps.store.load();
    return {
      at: new Date().toISOString(),
      role,
      stateVersion: state.version,
      regions: health.snapshot().map((h) => {
        const r = topology.region(h.region);
        return { ...h, unserved_models: unservedModels(r?.models ?? [], h), jurisdiction: r?.jurisdiction, country: r?.country, suspension: state.suspensions[h.region] ?? null };
      }),
      jurisdictions: topology.jurisdictions,
      decisions: rates.rows(topology),
      ledger: heads.heads,
      outbox: recorder.pending,
    };
  }

  // One sampler for every browser: rates, ledger heads and the witness-lag metrics. With no
  // browser connected the heads are read every HEADS_IDLE_MS only (for the witness-lag
  // metrics, which a scraper reads every 15-30 s): reading four checkpoints through the ledger
  // proxy every second cost a loaded gateway about 17 µs per request for nobody.
  let ticking = false;
  let headsAt = 0;
  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      await rates.sample();
      deps.metrics.syncEjections();
      const now = Date.now();
      if (clients.size > 0 || now - headsAt >= HEADS_IDLE_MS) {
        headsAt = now;
        for (const h of await heads.poll()) {
          deps.metrics.witnessLagEntries.set({ region: h.region }, h.lagEntries);
          deps.metrics.witnessLagSeconds.set({ region: h.region }, h.lagSeconds);
        }
      }
      for (const reply of clients) {
        const s = await snapshot(reply.request.consoleRole as Role);
        reply.raw.write(`event: state\ndata: ${JSON.stringify(s)}\n\n`);
      }
    } catch (err) {
      app.log.warn({ err: (err as Error).message }, 'console sampling failed');
    } finally {
      ticking = false;
    }
  };
  let timer: NodeJS.Timeout | null = null;
  app.addHook('onReady', async () => {
    timer = setInterval(() => void tick(), deps.intervalMs ?? 1000);
    timer.unref();
  });
  app.addHook('preClose', async () => {
    if (timer) clearInterval(timer);
    for (const c of clients) c.raw.end();
    clients.clear();
  });

  void app.register(
    async (scope) => {
      scope.decorateRequest('consoleRole', null);
      // The gateway's access hook leaves these routes to the console's own hook below.
      scope.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'own' };
      });
      // Login form posts (application/x-www-form-urlencoded) are parsed in this scope only.
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));

      // Authentication at the edge: every console route but the login needs a valid token.
      scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
        void reply.header('cache-control', 'no-store');
        if (req.routeOptions.url === `${CONSOLE_PATH}/login`) return;
        // First visit with ?token=: keep it in the cookie and take it out of the address bar.
        const q = (req.query as { token?: string } | undefined)?.token;
        if (req.method === 'GET' && typeof q === 'string') {
          if (roleOf(q, deps.tokens) === null) return loginPage(reply, 401, 'That token is not valid.');
          setSessionCookie(reply, req, q, deps.tokens);
          return reply.code(303).header('location', CONSOLE_PATH).send();
        }
        req.consoleRole = requestRole(req, deps.tokens);
        if (req.consoleRole !== null) return;
        if (req.method === 'GET' && req.routeOptions.url === CONSOLE_PATH) return loginPage(reply, 401, '');
        throw new HttpError(401, 'authentication_error', 'the console needs the console token (read-only) or the admin token: "Authorization: Bearer <token>", or log in at /sovereign/console', {}, { 'www-authenticate': 'Bearer realm="sovereign-console"' });
      });

      scope.get(CONSOLE_PATH, async (_req, reply) => reply.header('content-security-policy', CSP).type('text/html; charset=utf-8').send(INDEX));

      scope.post<{ Body: { token?: string } | undefined }>(`${CONSOLE_PATH}/login`, async (req, reply) => {
        const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
        if (roleOf(token, deps.tokens) === null) return loginPage(reply, 401, 'That token is not valid.');
        setSessionCookie(reply, req, token, deps.tokens);
        return reply.code(303).header('location', CONSOLE_PATH).send();
      });
      scope.post(`${CONSOLE_PATH}/logout`, async (_req, reply) => {
        clearSessionCookie(reply);
        return reply.code(303).header('location', CONSOLE_PATH).send();
      });

      scope.get<{ Params: { '*': string } }>(`${CONSOLE_PATH}/static/*`, async (req, reply) => {
        const f = STATIC[req.params['*']];
        if (f === undefined) throw new HttpError(404, 'not_found_error', `no console resource ${req.params['*']}`);
        return reply.type(f.type).send(f.body);
      });

      scope.get(`${CONSOLE_PATH}/state`, async (req) => snapshot(req.consoleRole as Role));

      scope.get(`${CONSOLE_PATH}/events`, async (req, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, SSE_HEADERS);
        reply.raw.write(`retry: 2000\nevent: state\ndata: ${JSON.stringify(await snapshot(req.consoleRole as Role))}\n\n`);
        clients.add(reply);
        req.raw.once('close', () => clients.delete(reply));
      });

      // Legal triggers from the console go through the admin API, as the CLI's do. Operator
      // role only; the custom header keeps other sites' forms from riding on the cookie.
      scope.post<{ Params: { region: string; action: string } }>(`${CONSOLE_PATH}/regions/:region/:action`, async (req, reply) => {
        if (req.params.action !== 'suspend' && req.params.action !== 'resume') throw new HttpError(404, 'not_found_error', `no console action ${req.params.action}`);
        if (req.consoleRole !== 'operator') throw new HttpError(403, 'permission_error', 'this console session is read-only (console token); log in with the admin token to suspend or resume regions');
        if (req.headers['x-sovereign-console'] !== '1') throw new HttpError(403, 'permission_error', 'console actions need the header x-sovereign-console: 1');
        const parsed = ActionBody.safeParse(req.body ?? {});
        if (!parsed.success) throw badRequest(firstIssue(parsed.error, req.params.action));
        const res = await app.inject({
          method: 'POST',
          url: `/sovereign/admin/regions/${encodeURIComponent(req.params.region)}/${req.params.action}`,
          headers: { authorization: `Bearer ${deps.tokens.admin}`, 'content-type': 'application/json' },
          // The admin API's resume takes only a reason and a reference.
          payload: JSON.stringify(req.params.action === 'resume' ? { reason: parsed.data.reason, ref: parsed.data.ref } : parsed.data),
        });
        void tick();
        return reply.code(res.statusCode).type('application/json; charset=utf-8').send(res.body);
      });
    },
  );
}
