// One-hop test helpers: a real model server process that reports what it received, and the
// decision records a gateway sends with a request.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ForwardRecord } from '../../src/common/index.ts';

/** Starts test/helpers/model-server.ts as its own process; its URL. */
export async function startModelServer(): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [fileURLToPath(new URL('../helpers/model-server.ts', import.meta.url)), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (b: Buffer) => {
      const m = /listening (\d+)/.exec(b.toString());
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    proc.once('exit', (code) => reject(new Error(`model server exited with ${code}`)));
  });
  return { proc, url };
}

/** What the model server was sent so far. */
export async function received(url: string): Promise<{ path: string; body: string }[]> {
  return (await (await fetch(`${url}/_received`)).json()) as { path: string; body: string }[];
}

/** A valid decision entry for this cell's region (ledger schema v1). */
export function decisionFor(id: string, region: string): ForwardRecord['entry'] {
  return {
    v: 1,
    kind: 'decision',
    time: new Date().toISOString(),
    decision_id: id,
    tenant: 'anonymous',
    jurisdictions: [{ jurisdiction: 'AE', source: 'geoip' }],
    data_class: 'internal',
    detected_types: [],
    region,
    mode: 'legal-first',
    outcome: 'routed',
    attempts: [],
    policy_ids: [],
    model: 'llama-3-8b',
    model_digest: null,
    retention_days: 0,
  };
}

export function chatBody(text: string): Buffer {
  return Buffer.from(JSON.stringify({ model: 'llama-3-8b', messages: [{ role: 'user', content: text }] }));
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

