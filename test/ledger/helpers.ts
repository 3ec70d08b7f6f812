// Shared fixtures for ledger tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DecisionEntry } from '../../src/ledger/index.ts';

export function tempDir(prefix = 'ledger-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function decision(i: number | string): DecisionEntry {
  return {
    v: 1,
    kind: 'decision',
    time: '2026-01-02T03:04:05.000Z',
    decision_id: `dec-${i}`,
    request_hash: 'ab'.repeat(32),
    tenant: 'acme',
    jurisdictions: [{ jurisdiction: 'EU', source: 'geoip' }],
    data_class: 'personal',
    detected_types: ['EMAIL'],
    region: 'eu-frankfurt',
    mode: 'legal-first',
    outcome: 'routed',
    attempts: [{ region: 'eu-frankfurt', outcome: 'ok' }],
    policy_ids: ['gdpr-personal-eu'],
    model: 'text-analysis',
    model_digest: `sha256:${'0'.repeat(64)}`,
  };
}
