// Console sessions: the cookie carries a role and an expiry authenticated by that role's token,
// never the token itself; anything altered, expired or made with a replaced token is no session.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SESSION_SECONDS, sessionRole, sessionValue } from '../../src/console/index.ts';

const tokens = { admin: 'admin-token-0123456789abcdef', viewer: 'viewer-token-fedcba9876543210' };
const now = Date.parse('2026-12-01T12:00:00Z');

test('a session names its role and holds neither token', () => {
  for (const role of ['operator', 'viewer'] as const) {
    const v = sessionValue(role, tokens, now);
    assert.equal(sessionRole(v, tokens, now), role);
    assert.ok(!v.includes(tokens.admin) && !v.includes(tokens.viewer));
  }
});

test('a session ends after SESSION_SECONDS', () => {
  const v = sessionValue('operator', tokens, now);
  assert.equal(sessionRole(v, tokens, now + (SESSION_SECONDS - 1) * 1000), 'operator');
  assert.equal(sessionRole(v, tokens, now + SESSION_SECONDS * 1000), null);
});

test('replacing a token ends the sessions made with it, and only those', () => {
  const op = sessionValue('operator', tokens, now);
  const view = sessionValue('viewer', tokens, now);
  const rotated = { ...tokens, admin: 'a-new-admin-token-after-rotation' };
  assert.equal(sessionRole(op, rotated, now), null);
  assert.equal(sessionRole(view, rotated, now), 'viewer');
});

test('property: any change to a session value makes it no session', () => {
  fc.assert(
    fc.property(fc.constantFrom('operator' as const, 'viewer' as const), fc.nat(), fc.string({ minLength: 1, maxLength: 2 }), (role, at, ch) => {
      const v = sessionValue(role, tokens, now);
      const i = at % v.length;
      const altered = v.slice(0, i) + ch + v.slice(i + 1);
      fc.pre(altered !== v);
      // Raising a viewer to operator, or moving the expiry, needs the other token.
      assert.equal(sessionRole(altered, tokens, now), null);
    }),
    { numRuns: 500 },
  );
});
