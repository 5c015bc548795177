import type { Router } from './router.js';
import { closeListenSocket, createUwsApp, listenUws, localPortOf } from './uws.js';

export interface HttpServerOptions {
  /** Interface to bind, e.g. `0.0.0.0` in a container or `127.0.0.1` in tests. */
  host: string;
  /** TCP port; 0 picks a free one (read it back from `HttpServer.port`). */
  port: number;
  router: Router;
  /**
   * Header names plus values larger than this answer 400, on top of uWS's own limits, which are
   * fixed when uWS is compiled and cannot be set at run time. Measured on this build (v20.30):
   * - a head split over several TCP reads must fit in 4 KiB; one that arrives in a single read may
   *   be far larger (about 128 KiB over loopback), so the effective limit depends on segmentation;
   * - at most about 48 header fields;
   * - beyond either, uWS closes the connection or drops the request without any response (no 431).
   * Setting this (for example to 4096) makes the limit deterministic and answered.
   */
  maxHeaderBytes?: number;
}

export interface HttpServer {
  /** The bound port (the real one when `port` was 0). */
  readonly port: number;
  /** Stops accepting connections. Idempotent. Open keep-alive connections are not cut. */
  close(): void;
}

/** Starts a uWS HTTP server dispatching every request through `router`. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const app = createUwsApp();
  options.router.attachTo(app, { maxHeaderBytes: options.maxHeaderBytes });
  const listenSocket = await listenUws(app, options.host, options.port);
  const port = localPortOf(listenSocket);
  let closed = false;
  return {
    port,
    close() {
      if (closed) return;
      closed = true;
      closeListenSocket(listenSocket);
    },
  };
}
