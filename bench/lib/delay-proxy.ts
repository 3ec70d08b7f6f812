// A TCP proxy in front of a cell that can add latency on demand (responses are held back
// `delayMs` per chunk), to make one region slower without touching Sovereign's code.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class DelayProxy {
  delayMs = 0;
  readonly #server: Server;
  readonly sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async listen(port: number, target: { host: string; port: number }): Promise<DelayProxy> {
    let self: DelayProxy | null = null;
    const server = createServer((client) => {
      const upstream = connect(target);
      self?.sockets.add(client);
      self?.sockets.add(upstream);
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        const d = self?.delayMs ?? 0;
        if (d <= 0) client.write(chunk);
        else setTimeout(() => client.writable && client.write(chunk), d);
      });
      upstream.on('end', () => setTimeout(() => client.end(), self?.delayMs ?? 0));
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      upstream.on('error', close);
      client.on('error', close);
      client.on('close', () => {
        upstream.destroy();
        self?.sockets.delete(client);
      });
      upstream.on('close', () => self?.sockets.delete(upstream));
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    self = new DelayProxy(server);
    return self;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
