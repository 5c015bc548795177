import type { RouteHandler } from '../http/router.js';

/**
 * GET /openapi.json: the OpenAPI description of this API, without an API key (it holds no
 * secrets, and clients need it before they have a key). Serialised once: the document is fixed.
 */
export function createOpenApiRoute(document: object): RouteHandler {
  const body = JSON.stringify(document);
  const headers = { 'content-type': 'application/json', 'cache-control': 'max-age=300' };
  return (exchange) => {
    exchange.respond(200, headers, body);
  };
}
