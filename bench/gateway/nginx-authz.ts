// The nginx data plane as a benchmark target: nginx in front of the cells, asking Sovereign's
// decision endpoint with auth_request (identify, classify, decide, record) before proxying
// each request itself to the cell of the decided region. Compared with Sovereign's own Node
// data plane (the "sovereign" target: the gateway forwards), on the same topology.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadTopology } from '../../src/config/index.ts';
import { renderNginxConfig } from '../../src/deploy/index.ts';
import { freePort, waitUntil, type ProcessGroup, type Started } from '../lib/procs.ts';

export interface NginxAuthzOptions {
  group: ProcessGroup;
  /** This target's directory. */
  dir: string;
  workers: number;
  /** A Sovereign started on `configFile` (sovereign up); its gateway at `gateway`. */
  configFile: string;
  gateway: string;
  sovereign: Started;
}

/** Starts nginx rendered by `sovereign deploy nginx` for the running Sovereign; returns its chat URL. */
export async function startNginxAuthz(o: NginxAuthzOptions): Promise<{ url: string; procs: Started[] }> {
  const prefix = path.join(o.dir, 'nginx-authz');
  mkdirSync(prefix, { recursive: true });
  const port = await freePort();
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, renderNginxConfig(loadTopology(o.configFile), { listen: `127.0.0.1:${port}`, gateway: o.gateway, prefix, workers: o.workers, foreground: true, ...(process.getuid?.() === 0 ? { user: 'root root' } : {}) }));
  const p = o.group.start('nginx-authz', 'nginx', ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')]);
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(async () => {
    const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 404;
  }, 10_000, `nginx data plane on ${base} (log: ${prefix}/error.log)`);
  return { url: `${base}/v1/chat/completions`, procs: [o.sovereign, p] };
}
