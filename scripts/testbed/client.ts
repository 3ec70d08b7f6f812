// Talks to the client agent (scripts/testbed/agent.ts) over its Unix socket: the way a process
// in the root namespace sends requests from inside the client namespace.
import { request } from 'node:http';

export interface FetchResult {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  error?: string;
  ms: number;
}

export interface FetchRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export function agentCall<T>(socketPath: string, path: '/fetch' | '/rtt', payload: unknown, timeoutMs = 40_000): Promise<T> {
  const body = JSON.stringify(payload);
  return new Promise<T>((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs }, (res) => {
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (raw += c));
      res.on('end', () => {
        try {
          const out = JSON.parse(raw) as T & { error?: string };
          if (res.statusCode !== 200) reject(new Error(`client agent ${path}: ${out.error ?? res.statusCode}`));
          else resolve(out);
        } catch (err) {
          reject(new Error(`client agent ${path}: bad answer (${(err as Error).message})`));
        }
      });
    });
    req.once('timeout', () => req.destroy(new Error(`client agent ${path}: no answer in ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end(body);
  });
}

export function agentFetch(socketPath: string, r: FetchRequest): Promise<FetchResult> {
  return agentCall<FetchResult>(socketPath, '/fetch', r);
}

/** TCP connect times (ms) from the client namespace to host:port. */
export async function agentRtt(socketPath: string, host: string, port: number, count = 5): Promise<number[]> {
  return (await agentCall<{ samples: number[] }>(socketPath, '/rtt', { host, port, count })).samples;
}
