import { SluiceError } from '../../common/errors.js';
import type { SchemaCatalog } from '../../schemas/schema-catalog.js';
import type { ApiKeyStore } from '../auth/api-key-store.js';
import type { RouteHandler } from '../http/router.js';

/**
 * GET /v1/event-types: every registered type with its current Avro schema and the equivalent
 * JSON Schema, for any valid API key. The body is rendered again only when the registry changed
 * (`catalog.all()` is a new array then).
 */
export function createEventTypesRoute(catalog: SchemaCatalog, apiKeys: ApiKeyStore): RouteHandler {
  let rendered: { for: readonly unknown[]; body: string } | undefined;
  const body = () => {
    const all = catalog.all();
    if (rendered?.for !== all) rendered = { for: all, body: renderEventTypes(catalog) };
    return rendered.body;
  };
  return (exchange) => {
    const key = apiKeys.authenticate(exchange.head.headers.authorization);
    if (key instanceof SluiceError) throw key;
    exchange.respond(200, { 'content-type': 'application/json', 'cache-control': 'max-age=5' }, body());
  };
}

function renderEventTypes(catalog: SchemaCatalog): string {
  return JSON.stringify({
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
}
