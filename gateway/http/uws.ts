// The only module that imports uWebSockets.js, so its hazards
// (docs/architecture.md#hazards-of-the-libraries) are handled in one folder and a version bump
// touches one import. Everything else uses the names re-exported here.
//
// Installed as `@trufflesuite/uws-js-unofficial@20.30` under the `uWebSockets.js` alias: a CommonJS
// native addon, hence the default import (module.exports) rather than named imports.
import uWS from 'uWebSockets.js';
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';

export type {
  HttpRequest as UwsHttpRequest,
  HttpResponse as UwsHttpResponse,
  TemplatedApp as UwsApp,
  us_listen_socket as UwsListenSocket,
} from 'uWebSockets.js';

/** A plain (non-TLS) uWS app; TLS terminates at the ingress in front of the gateway. */
export function createUwsApp(): TemplatedApp {
  return uWS.App();
}

/**
 * Binds `host:port` (port 0 picks a free port). This uWS build binds without SO_REUSEPORT, so a
 * port already in use fails here instead of silently sharing connections with another process.
 * The callback runs synchronously inside `listen`, but a promise keeps callers independent of that.
 */
export function listenUws(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (listenSocket) => {
      if (listenSocket === false) reject(new Error(`cannot listen on ${host}:${port}`));
      else resolve(listenSocket);
    });
  });
}

/** The port a listen socket is bound to (the real one when it was asked for port 0). */
export function localPortOf(listenSocket: us_listen_socket): number {
  // uWS types the argument as a connected socket, but the native call accepts listen sockets too.
  return uWS.us_socket_local_port(listenSocket as us_socket);
}

/** Stops accepting connections; connections already open are served until they close. */
export function closeListenSocket(listenSocket: us_listen_socket): void {
  uWS.us_listen_socket_close(listenSocket);
}
