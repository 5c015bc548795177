import { SluiceError } from '../../common/errors.js';
import type { ApiKeyStore } from '../auth/api-key-store.js';
import { eventTypeSummaries, type EventTypeRegistryView } from '../event-types/event-type-resource.js';
import type { RouteHandler } from '../http/router.js';

/**
 * GET /v1/event-types: every registered type with its current Avro schema and the equivalent
 * JSON Schema, its description and whether it is deprecated, for any valid API key. The body is
 * rendered again only when the registry changed (`registry.all()` is a new array after every
 * change that took effect).
 */
export function createEventTypesRoute(registry: EventTypeRegistryView, apiKeys: ApiKeyStore): RouteHandler {
  let rendered: { for: readonly unknown[]; body: string } | undefined;
  const body = () => {
    const all = registry.all();
    if (rendered?.for !== all) {
      rendered = { for: all, body: JSON.stringify({ eventTypes: eventTypeSummaries(registry) }) };
    }
    return rendered.body;
  };
  return (exchange) => {
    const key = apiKeys.authenticate(exchange.head.headers.authorization);
    if (key instanceof SluiceError) throw key;
    exchange.respond(200, { 'content-type': 'application/json', 'cache-control': 'max-age=5' }, body());
  };
}
