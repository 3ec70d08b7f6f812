// Headless Chromium for the tests of a web page: launched with Sovereign's own flags, or the
// reason a test is skipped (a failure under CI=true, where a skip is not allowed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../../src/report/index.ts';

/** `{}` when Chromium is here, else the skip option naming what to install (and, under CI, a failing test). */
export function needsChromium(): { skip?: string } {
  if (chromiumPath() !== null) return {};
  const why = 'missing: chromium (apt-get install chromium)';
  if (process.env.CI === 'true') test('Chromium is present (required under CI=true)', () => assert.fail(why));
  return { skip: why };
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath() as string, args: CHROMIUM_ARGS });
}
