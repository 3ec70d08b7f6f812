import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sovereign-geo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Polls `cond` every 10 ms until it holds; fails after `ms`. */
export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Public addresses and their country in the shipped database (ip-location-db, build 2026-06-17). */
export const KNOWN_ADDRESSES = {
  DE: { v4: '193.99.144.80', v6: '2a02:2e0:3fe:1001:302::' }, // heise.de / heise.de
  FR: { v4: '212.27.48.10', v6: '2a01:e0c:1::1' }, // free.fr / Free (FR)
  AE: { v4: '94.200.200.200', v6: '2a00:f28::1' }, // UAE ISP resolver / UAE ISP network
  SG: { v4: '165.21.83.88', v6: '2406:3000::1' }, // SingNet resolver / Singapore ISP network
  US: { v4: '8.8.8.8', v6: '2001:4860:4860::8888' }, // Google Public DNS
} as const;
