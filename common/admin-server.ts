import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface AdminServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Readiness: may this process take traffic? Liveness never depends on Kafka or Redis. */
  isReady: () => { ready: boolean; reasons: string[] };
}

/** The paths the admin port answers (GET and HEAD), in the gateway's and the workers' processes. */
export const adminPaths = ['/metrics', '/healthz', '/readyz'] as const;

/**
 * The admin port: `/metrics`, `/healthz` (the process is alive), `/readyz` (it can do its job).
 * Plain node:http: a scrape every few seconds does not need the hot path's server.
 */
export async function startAdminServer(
  options: AdminServerOptions,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const readiness = options.isReady();
      res
        .writeHead(readiness.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: readiness.ready ? 'ready' : 'not-ready', reasons: readiness.reasons }));
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
