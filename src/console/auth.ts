// Who may use the console, decided once per request in an onRequest hook (never in handlers).
// Two tokens: the admin token (operator: may suspend and resume) and the console token
// (viewer: read-only), in <gateway data dir>/console-token (mode 0600) or $SOVEREIGN_CONSOLE_TOKEN.
// A browser presents either once (login form, or ?token= on the first visit) and then holds it
// in an HttpOnly, SameSite=Strict cookie scoped to the console's path; API clients send
// "Authorization: Bearer <token>". Without a valid token: 401 and no data.
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearer, loadToken, tokenMatches } from '../common/index.ts';
import type { Topology } from '../config/index.ts';

export type Role = 'operator' | 'viewer';

export const CONSOLE_PATH = '/sovereign/console';
export const COOKIE = 'sovereign_console';
export const CONSOLE_TOKEN_ENV = 'SOVEREIGN_CONSOLE_TOKEN';

declare module 'fastify' {
  interface FastifyRequest {
    consoleRole: Role | null;
  }
}

export function consoleTokenFile(topology: Topology): string {
  return path.join(topology.gatewayDataDir(), 'console-token');
}

/** Reads (or, when `create`, generates) the read-only console token. */
export function consoleToken(topology: Topology, create: boolean): string | undefined {
  return loadToken(consoleTokenFile(topology), CONSOLE_TOKEN_ENV, create);
}

export interface Tokens {
  admin: string;
  viewer: string;
}

export function roleOf(token: string, t: Tokens): Role | null {
  if (token === '') return null;
  if (tokenMatches(token, t.admin)) return 'operator';
  if (tokenMatches(token, t.viewer)) return 'viewer';
  return null;
}

function cookieToken(header: string | undefined): string {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return '';
}

/** The role of a request: its bearer token, else its console cookie. */
export function requestRole(req: FastifyRequest, t: Tokens): Role | null {
  return roleOf(bearer(req.headers.authorization), t) ?? roleOf(cookieToken(req.headers.cookie), t);
}

export function setSessionCookie(reply: FastifyReply, req: FastifyRequest, token: string): void {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  void reply.header('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; Path=${CONSOLE_PATH}; HttpOnly; SameSite=Strict${secure}`);
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.header('set-cookie', `${COOKIE}=; Path=${CONSOLE_PATH}; HttpOnly; SameSite=Strict; Max-Age=0`);
}
