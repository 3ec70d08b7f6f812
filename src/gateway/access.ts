// Who may call which gateway route, declared per route (`config: { access }`) and enforced by
// one onRequest hook, so a new route cannot forget it. A route under /sovereign/ or /metrics
// that declares nothing needs the admin token: deny by default.
//
//   public        anyone (health, the ledger's public read paths)
//   tenant        the handler authenticates the tenant (inference: it needs the tenant anyway)
//   admin         the admin token, always (the admin API)
//   operator      the admin token (/metrics, /sovereign/regions: they show cells' addresses)
//   oracle        a tenant key or the admin token when tenants are configured
//                 (/sovereign/classify, /sovereign/explain: they would help tune evasions)
//   own           the route's plugin authenticates every request in its own onRequest hook
//                 (the console: its read-only token or the admin token, bearer or cookie)
// `gateway.openOperatorViews: true` opens `operator` and `oracle` routes, for development.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, bearer, tokenMatches } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { authenticate } from './auth.ts';

export type Access = 'public' | 'tenant' | 'admin' | 'operator' | 'oracle' | 'own';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface AccessOptions {
  topology: () => Topology;
  adminToken: string;
}

function needsAdmin(what: string): HttpError {
  return new HttpError(
    401,
    'authentication_error',
    `${what} needs "Authorization: Bearer <admin token>" (the token is in the gateway data directory, file admin-token, or the environment variable named by gateway.adminTokenEnv)`,
    {},
    { 'www-authenticate': 'Bearer realm="sovereign-admin"' },
  );
}

/** The access a route declared, with the deny-by-default rule for operator paths. */
export function accessOf(config: { access?: Access }, url: string | undefined): Access {
  const declared = config.access;
  if (declared) return declared;
  return (url ?? '').startsWith('/sovereign/') || url === '/metrics' ? 'admin' : 'tenant';
}

export function registerAccess(app: FastifyInstance, opts: AccessOptions): void {
  const isAdmin = (req: FastifyRequest): boolean => {
    const presented = bearer(req.headers.authorization);
    return presented !== '' && tokenMatches(presented, opts.adminToken);
  };
  // The check is a hook of each route that needs one, added as the route is declared: a route
  // open to anyone or to tenants (inference: it authenticates the tenant itself) runs no access
  // hook at all. A callback hook, not an async one (an async hook costs a promise and a turn).
  const open: { route: { config?: { access?: Access }; url: string }; access: Access }[] = [];
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { access?: Access };
    const declared = accessOf(config, route.url);
    if (declared === 'public' || declared === 'tenant') {
      open.push({ route: route, access: declared });
      return;
    }
    // Read again per request: a plugin's own onRoute hook may hand its routes to its own check ('own').
    const hook = (req: FastifyRequest, _reply: unknown, done: (err?: Error) => void): void => {
      const access = accessOf(req.routeOptions.config, route.url);
      if (access === 'public' || access === 'tenant' || access === 'own') return done();
      try {
        check(req, access, route.url);
      } catch (err) {
        return done(err as Error);
      }
      done();
    };
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [hook, ...own] as typeof route.onRequest;
  });
  // Fail closed: a route left without a check must still be open once every onRoute hook ran.
  app.addHook('onReady', (done) => {
    const changed = open.find((o) => accessOf(o.route.config ?? {}, o.route.url) !== o.access);
    done(changed ? new Error(`route ${changed.route.url} was declared with access "${changed.access}" and changed later; declare its access on the route itself`) : undefined);
  });
  function check(req: FastifyRequest, access: Access, url: string): void {
    const topology = opts.topology();
    const what = `${req.method} ${url}`;
    if (access === 'admin') {
      if (!isAdmin(req)) throw needsAdmin(what);
      return;
    }
    if (topology.data.gateway.openOperatorViews) return;
    if (access === 'operator') {
      if (!isAdmin(req)) throw needsAdmin(`${what} (an operator view; gateway.openOperatorViews opens it for development)`);
      return;
    }
    // oracle: a tenant key when tenants are configured; the admin token is accepted too.
    if (!topology.authRequired || isAdmin(req)) return;
    authenticate(topology, req.headers);
  }
}
