// The golden registry: where releases are published (by the publisher: an operator's identity,
// or golden's own at first start) and the only place regions replicate from. Regions read it;
// nothing of a region writes to it (the exposure table, src/mesh/exposure.ts). Its content is an
// OCI image layout in <dataDir>/golden/oci.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../common/index.ts';
import type { Topology } from '../config/index.ts';
import { goldenDataDir, publisherKeyFile, registryToken, writeEndpoint } from './endpoints.ts';
import { loadOrCreateSigningKey } from './dsse.ts';
import { LayoutStore } from './layout.ts';
import { registerDistribution } from './server.ts';
import type { Mesh } from '../mesh/index.ts';
import { openRegistryMesh, registryHttpServer, registryScheme } from './transport.ts';

export interface RunningGolden {
  url: string;
  /**
   * Where golden's own process reaches itself (its first-start publication): the loopback when
   * it listens on every address, e.g. in a pod, whose Service answers only once golden is ready.
   */
  selfUrl: string;
  store: LayoutStore;
  app: FastifyInstance;
  /** Golden's identity (spiffe://<td>/golden/registry); its own publication uses it. */
  mesh: Mesh;
  /** GET /sovereign/golden/ready answers 200 from now on (after the first-start publication). */
  markReady(): void;
  close(): Promise<void>;
}

/**
 * Listens on `url` (host and port; port 0 picks one) and announces the URL in `announceDir`.
 * `bindHost` (e.g. 0.0.0.0 in a pod) listens elsewhere than the URL's host, which is how
 * callers reach it (a Service's name in a cluster) and what is announced.
 */
export async function listenRegistry(app: FastifyInstance, url: string | undefined, announceDir: string, scheme: 'http' | 'https', bindHost?: string): Promise<string> {
  const u = new URL(url ?? 'http://127.0.0.1:0');
  try {
    await app.listen({ host: bindHost ?? u.hostname, port: Number(u.port || 0) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`${u.host} is already in use; stop what listens there or change the registry url in the topology`);
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : Number(u.port);
  const live = `${scheme}://${u.hostname}:${port}`;
  await writeEndpoint(announceDir, live);
  return live;
}

/** `host`: the address to listen on, when not registry.golden.url's host (0.0.0.0 in a pod). */
export async function startGolden(o: { topology: Topology; logger: Logger; port?: number; host?: string }): Promise<RunningGolden> {
  const dir = goldenDataDir(o.topology);
  const store = new LayoutStore(path.join(dir, 'oci'));
  // The publisher key exists before any region asks for it (the default trusted key).
  loadOrCreateSigningKey(publisherKeyFile(o.topology));
  const configured = o.topology.data.registry.golden.url;
  const host = configured ? new URL(configured).hostname : '127.0.0.1';
  const mesh = await openRegistryMesh(o.topology, { kind: 'golden' }, o.logger, host);
  const app = registryHttpServer(o.logger, mesh, { kind: 'golden' });
  const identity = mesh.mode === 'mtls';
  registerDistribution(app, {
    store,
    identity,
    ...(identity ? {} : { writeToken: registryToken(o.topology, true) }),
    onChange: (e) => o.logger.info(e, 'golden registry changed'),
  });
  let ready = false;
  app.get('/sovereign/golden/ready', async (_req, reply) => reply.code(ready ? 200 : 503).send({ ready }));
  const listenOn = o.port !== undefined ? `http://${host}:${o.port}` : configured;
  let url: string;
  try {
    url = await listenRegistry(app, listenOn, dir, registryScheme(o.topology), o.host);
  } catch (err) {
    mesh.close();
    throw err;
  }
  o.logger.info({ url }, 'golden registry ready');
  const port = new URL(url).port;
  const selfHost = o.host === undefined ? undefined : o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  return {
    url,
    selfUrl: selfHost === undefined ? url : `${new URL(url).protocol}//${selfHost.includes(':') ? `[${selfHost}]` : selfHost}:${port}`,
    store,
    app,
    mesh,
    markReady() {
      ready = true;
    },
    async close() {
      await app.close();
      // A client that went away mid-push leaves its append finishing (the last write, the
      // truncation to what was hashed): closed only once that is on disk.
      await store.uploadsIdle();
      mesh.close();
    },
  };
}
