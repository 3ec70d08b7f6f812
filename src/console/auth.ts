// Who may use the console, decided once per request in an onRequest hook (never in handlers).
// Two tokens: the admin token (operator: may suspend and resume) and the console token
// (viewer: read-only), in <gateway data dir>/console-token (mode 0600) or $SOVEREIGN_CONSOLE_TOKEN.
// A browser presents either once (login form, or ?token= on the first visit) and then holds a
// session in an HttpOnly, SameSite=Strict cookie scoped to the console's path: the role and an
// expiry, authenticated with an HMAC keyed by that role's token. The cookie never holds the token
// itself, a session ends after SESSION_SECONDS, and replacing a token ends every session made
// with it. API clients send "Authorization: Bearer <token>". Without a valid token: 401 and no data.
import { createHmac, timingSafeEqual } from 'node:crypto';
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

/** How long a console session lasts (an operator's working day). */
export const SESSION_SECONDS = 8 * 3600;

function sessionMac(role: Role, exp: number, t: Tokens): string {
  return createHmac('sha256', role === 'operator' ? t.admin : t.viewer).update(`sovereign-console-session|${role}|${exp}`).digest('base64url');
}

/** A session cookie value for `role`: "<role>.<expiry, Unix seconds>.<HMAC>". */
export function sessionValue(role: Role, t: Tokens, nowMs = Date.now()): string {
  const exp = Math.floor(nowMs / 1000) + SESSION_SECONDS;
  return `${role}.${exp}.${sessionMac(role, exp, t)}`;
}

/** The role of a session cookie value; null when malformed, expired or not made with the current token. */
export function sessionRole(value: string, t: Tokens, nowMs = Date.now()): Role | null {
  const m = /^(operator|viewer)\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return null;
  const role = m[1] as Role;
  const exp = Number(m[2]);
  if (exp * 1000 <= nowMs) return null;
  const want = Buffer.from(sessionMac(role, exp, t));
  const got = Buffer.from(m[3] as string);
  return want.length === got.length && timingSafeEqual(want, got) ? role : null;
}

function cookieValue(header: string | undefined): string {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return '';
}

/** The role of a request: its bearer token, else its console cookie. */
export function requestRole(req: FastifyRequest, t: Tokens): Role | null {
  return roleOf(bearer(req.headers.authorization), t) ?? sessionRole(cookieValue(req.headers.cookie), t);
}

/** Starts a console session for the role of `token` (a valid token: the caller checked). */
export function setSessionCookie(reply: FastifyReply, req: FastifyRequest, token: string, t: Tokens): void {
  const role = roleOf(token, t);
  if (role === null) return;
  const secure = req.protocol === 'https' ? '; Secure' : '';
  void reply.header('set-cookie', `${COOKIE}=${sessionValue(role, t)}; Path=${CONSOLE_PATH}; Max-Age=${SESSION_SECONDS}; HttpOnly; SameSite=Strict${secure}`);
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.header('set-cookie', `${COOKIE}=; Path=${CONSOLE_PATH}; HttpOnly; SameSite=Strict; Max-Age=0`);
}
