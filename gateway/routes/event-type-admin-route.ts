import { SluiceError } from '../../common/errors.js';
import { decideRegistration } from '../../schemas/registry/registry-decisions.js';
import { RegistryError } from '../../schemas/registry/registry-error.js';
import type { Registration, SchemaRegistry } from '../../schemas/registry/schema-registry.js';
import { parseSchema } from '../../schemas/registry/schema-text.js';
import { findSchemaViolation } from '../../schemas/schema-violation.js';
import {
  eventTypeLimits,
  validateCompatibilityChange,
  validateEventTypeRegistration,
  type EventTypeRegistrationInput,
} from '../event-types/event-type-input.js';
import { eventTypeResource, type EventTypeResource } from '../event-types/event-type-resource.js';
import { toEventTypeError } from '../event-types/registry-problem.js';
import type { HttpExchange } from '../http/http-exchange.js';
import type { Router } from '../http/router.js';
import {
  createAdminHandler,
  requireBody,
  type Action,
  type AdminHandlerDeps,
  type AdminHandlerOptions,
} from './subscriptions-route.js';

export interface EventTypeRoutesDeps extends AdminHandlerDeps {
  registry: Pick<SchemaRegistry, 'state' | 'register' | 'setCompatibility' | 'delete'>;
}

const collection = '/v1/event-types';
const item = '/v1/event-types/:type';
const compatibilityPath = '/v1/event-types/:type/compatibility';
const forbiddenDetail = 'managing event types needs an admin API key';

/**
 * The event type API (README.md#event-types-api) over the schema registry: `POST /v1/event-types`
 * registers a type or a new version of it, `PUT /v1/event-types/{type}/compatibility` sets its
 * level, `DELETE /v1/event-types/{type}` deprecates it (admin keys); `GET /v1/event-types/{type}`
 * shows it to any key. `GET /v1/event-types` is event-types-route.ts. Every write is decided and
 * stored by the registry, which every gateway reads: what one gateway registers, the others
 * accept within a second or so.
 */
export function addEventTypeAdminRoutes(router: Router, deps: EventTypeRoutesDeps): Router {
  const { registry, logger } = deps;
  const handler = (route: string, readsBody: boolean, action: Action, options: AdminHandlerOptions = {}) =>
    createAdminHandler(deps, route, readsBody, action, { forbiddenDetail, ...options });

  return router
    .route(
      'POST',
      collection,
      handler(
        collection,
        true,
        async ({ key, body }) => {
          const input = validateEventTypeRegistration(requireBody(body));
          if (input instanceof SluiceError) throw input;
          const registration = await register(input);
          if (registration.created) {
            logger.info(
              {
                eventType: input.type,
                version: registration.version,
                schemaId: registration.id,
                by: key.producerId,
              },
              'event type version registered',
            );
          }
          return {
            status: registration.created ? 201 : 200,
            headers: { location: `${collection}/${input.type}` },
            body: {
              type: input.type,
              version: registration.version,
              schemaId: registration.id,
              created: registration.created,
              compatibility: registry.state.effectiveCompatibility(input.type),
            },
          };
        },
        { maxBodyBytes: eventTypeLimits.maxBodyBytes },
      ),
    )
    .route(
      'GET',
      item,
      handler(item, false, ({ exchange }) => ({ status: 200, body: find(exchange) }), { anyKey: true }),
    )
    .route(
      'PUT',
      compatibilityPath,
      handler(compatibilityPath, true, async ({ exchange, key, body }) => {
        const { type } = find(exchange);
        const change = validateCompatibilityChange(requireBody(body));
        if (change instanceof SluiceError) throw change;
        await registry
          .setCompatibility(type, change.compatibility ?? undefined)
          .catch((error: unknown) => Promise.reject(toEventTypeError(error, { type })));
        logger.info(
          { eventType: type, compatibility: change.compatibility, by: key.producerId },
          'event type compatibility set',
        );
        return {
          status: 200,
          body: { type, compatibility: registry.state.effectiveCompatibility(type) },
        };
      }),
    )
    .route(
      'DELETE',
      item,
      handler(item, false, async ({ exchange, key }) => {
        const { type } = find(exchange);
        const versions = await deprecate(type);
        if (versions.length > 0) {
          logger.info({ eventType: type, versions, by: key.producerId }, 'event type deprecated');
        }
        return {
          status: 200,
          body: {
            type,
            deprecated: true,
            deprecatedAt: registry.state.subjectDeletedAt(type) ?? null,
            versions,
          },
        };
      }),
    );

  function find(exchange: HttpExchange): EventTypeResource {
    const type = exchange.params.type ?? '';
    const found = eventTypeResource(registry.state, type);
    if (found === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `no event type ${type}`);
    return found;
  }

  /**
   * Checks what the registry cannot know is wrong (the example) before anything is written. A level
   * given with the schema is stored first, so the schema is checked at it: the registration is
   * decided on this gateway's state beforehand, so a refusal stores neither.
   */
  async function register(input: EventTypeRegistrationInput): Promise<Registration> {
    const { type } = input;
    const level = input.compatibility ?? registry.state.effectiveCompatibility(type);
    try {
      const schema = parseSchema(input.schema);
      if (input.example !== undefined) {
        const violation = findSchemaViolation(schema.avroType, input.example, 'example');
        if (violation !== undefined) {
          throw new SluiceError(
            'SLUICE_INVALID_EVENT_TYPE',
            `the example does not match the schema: ${violation.message}`,
            {
              details: {
                field: violation.path,
                errors: [{ field: violation.path, message: violation.message }],
              },
            },
          );
        }
      }
      const description = input.description ?? schemaDoc(schema.canonical);
      if (
        input.compatibility !== undefined &&
        input.compatibility !== registry.state.subjectCompatibility(type)
      ) {
        decideRegistration(registry.state, {
          subject: type,
          schema,
          description,
          example: input.example,
          nowIso: new Date().toISOString(),
          level: input.compatibility,
        });
        await registry.setCompatibility(type, input.compatibility);
      }
      return await registry.register({
        subject: type,
        schema: input.schema,
        description,
        example: input.example,
      });
    } catch (error) {
      throw toEventTypeError(error, { type, compatibility: level });
    }
  }

  /** The versions this request deprecated: none when the type already was. */
  async function deprecate(type: string): Promise<number[]> {
    if (registry.state.isSubjectDeleted(type)) return [];
    try {
      return await registry.delete(type);
    } catch (error) {
      // Deprecated by another request meanwhile: the same outcome.
      if (
        error instanceof RegistryError &&
        error.kind === 'SUBJECT_NOT_FOUND' &&
        registry.state.isSubjectDeleted(type)
      )
        return [];
      throw toEventTypeError(error, { type });
    }
  }
}

/** The record's `doc`, the description of a type registered without one. */
function schemaDoc(canonical: string): string | undefined {
  const doc = (JSON.parse(canonical) as { doc?: unknown }).doc;
  return typeof doc === 'string' ? doc.slice(0, eventTypeLimits.maxDescriptionChars) : undefined;
}
