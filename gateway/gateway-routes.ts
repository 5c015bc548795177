import type { SchemaRegistry } from '../schemas/registry/schema-registry.js';
import type { ApiKeyStore } from './auth/api-key-store.js';
import { createRouter, type Router, type RouterOptions } from './http/router.js';
import { openApiDocument } from './openapi/openapi-document.js';
import { addEventTypeAdminRoutes, type EventTypeRoutesDeps } from './routes/event-type-admin-route.js';
import { createEventTypesRoute } from './routes/event-types-route.js';
import { createInboundRoute, type InboundRouteDeps } from './routes/inbound-route.js';
import { createIngestRoute, type IngestRouteDeps } from './routes/ingest-route.js';
import { createOpenApiRoute } from './routes/openapi-route.js';
import { addRegistryRoutes, type RegistryRouteDeps } from './registry/registry-routes.js';
import { addLogRoutes, type LogRoutesDeps } from './routes/log-routes.js';
import { addReplayRoute, type ReplayRouteDeps } from './routes/replay-route.js';
import { addEnableRoute, type EnableRouteDeps } from './routes/enable-route.js';
import { addSourceRoutes, type SourcesRouteDeps } from './routes/sources-route.js';
import { addSubscriptionRoutes, type SubscriptionsRouteDeps } from './routes/subscriptions-route.js';

export interface GatewayRouteDeps {
  ingest: IngestRouteDeps;
  /** Read by `GET /v1/event-types` (its state) and written by the event type API. */
  schemaRegistry: SchemaRegistry;
  apiKeys: ApiKeyStore;
  eventTypes: Omit<EventTypeRoutesDeps, 'registry'>;
  subscriptions: SubscriptionsRouteDeps;
  replay: ReplayRouteDeps;
  /** `POST /v1/subscriptions/{id}/enable`, with recovery. */
  enable: EnableRouteDeps;
  /** The delivery log API. */
  log: LogRoutesDeps;
  /** The inbound source API. */
  sources: SourcesRouteDeps;
  /** `POST /in/{sourceId}`. */
  inbound: InboundRouteDeps;
  /** Confluent's Schema Registry API under /registry. */
  registryApi: RegistryRouteDeps;
  onUnexpectedError: RouterOptions['onUnexpectedError'];
}

/**
 * The public port's route table. Kept apart from the wiring in gateway-app.ts so that a test can
 * list what is registered (registering calls none of the dependencies) and compare it with the
 * OpenAPI document.
 */
export function createGatewayRouter(deps: GatewayRouteDeps): Router {
  const router = createRouter({ onUnexpectedError: deps.onUnexpectedError })
    .route('GET', '/openapi.json', createOpenApiRoute(openApiDocument))
    .route('POST', '/v1/events', createIngestRoute('single', deps.ingest))
    .route('POST', '/v1/events/batch', createIngestRoute('batch', deps.ingest))
    .route('GET', '/v1/event-types', createEventTypesRoute(deps.schemaRegistry.state, deps.apiKeys));
  addEventTypeAdminRoutes(router, { ...deps.eventTypes, registry: deps.schemaRegistry });
  addSubscriptionRoutes(router, deps.subscriptions);
  addSourceRoutes(router, deps.sources);
  router.route('POST', '/in/:id', createInboundRoute(deps.inbound));
  addRegistryRoutes(router, deps.registryApi);
  addReplayRoute(router, deps.replay);
  addEnableRoute(router, deps.enable);
  return addLogRoutes(router, deps.log);
}
