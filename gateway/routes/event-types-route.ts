import { SluiceError } from '../../common/errors.js';
import type { SchemaCatalog } from '../../schemas/schema-catalog.js';
import type { ApiKeyStore } from '../auth/api-key-store.js';
import type { RouteHandler } from '../http/router.js';

/**
 * GET /v1/event-types: every registered type with its current Avro schema and the equivalent
 * JSON Schema, for any valid API key. The catalog is fixed at start-up, so the body is rendered once.
 */
export function createEventTypesRoute(catalog: SchemaCatalog, apiKeys: ApiKeyStore): RouteHandler {
  const body = JSON.stringify({
    eventTypes: catalog.types().map((type) => {
      const latest = catalog.latest(type)!;
      return {
        type,
        version: latest.version,
        schemaId: latest.id,
        versions: catalog.versions(type).map((schema) => ({ version: schema.version, schemaId: schema.id })),
        avroSchema: latest.avroSchema,
        jsonSchema: latest.jsonSchema,
      };
    }),
  });
  return (exchange) => {
    const key = apiKeys.authenticate(exchange.head.headers.authorization);
    if (key instanceof SluiceError) throw key;
    exchange.respond(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }, body);
  };
}
