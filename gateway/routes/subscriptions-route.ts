import { isSluiceError, SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import {
  customHeadersResource,
  type CustomHeaderResource,
} from '../../common/subscriptions/custom-headers.js';
import {
  retryOverrideResource,
  type RetryOverrideResource,
} from '../../common/subscriptions/delivery-overrides.js';
import type { PayloadFilter } from '../../common/subscriptions/payload-filter.js';
import {
  isSubscriptionId,
  validateSecretRotation,
  type SubscriptionCreateInput,
  type SubscriptionPatchInput,
} from '../../common/subscriptions/subscription-input.js';
import type { SubscriptionEventPublisher } from '../../common/ops-events/subscription-event-publisher.js';
import { disabledEvent, enabledEvent } from '../../common/ops-events/subscription-event-record.js';
import type { SubscriptionStore } from '../../common/subscriptions/subscription-store.js';
import type { DisabledReason, Subscription } from '../../common/subscriptions/subscription.js';
import type { ApiKeyRecord, ApiKeyStore } from '../auth/api-key-store.js';
import {
  assertSubscriptionAccess,
  assertTenantRequest,
  canManageSubscription,
} from '../auth/tenant-access.js';
import type { GatewayMetrics } from '../gateway-metrics.js';
import { readBody } from '../http/body-reader.js';
import { isRequestAborted, type HttpExchange } from '../http/http-exchange.js';
import { problemResponse } from '../http/problem.js';
import type { RouteHandler, Router } from '../http/router.js';

/** The store operations the routes use. */
export type SubscriptionAdmin = Pick<
  SubscriptionStore,
  'get' | 'all' | 'create' | 'update' | 'remove' | 'rotateSecret' | 'validateCreate' | 'validatePatch'
>;

export interface SubscriptionsRouteDeps {
  apiKeys: ApiKeyStore;
  /** Validates every write (SSRF policy, delivery bounds, filter paths against the schemas). */
  store: SubscriptionAdmin;
  logger: Logger;
  metrics?:
    | (Pick<GatewayMetrics, 'requests' | 'requestDuration'> & Partial<Pick<GatewayMetrics, 'tenantRefusals'>>)
    | undefined;
  /** Largest request body, default 64 KiB: a subscription is small. */
  maxBodyBytes?: number | undefined;
  /** False once shutdown began: new requests are refused with 503. */
  accepting?: (() => boolean) | undefined;
  /** Counts requests in flight, so shutdown waits for a write before stopping the store. */
  inFlight?: { enter(): void; leave(): void } | undefined;
  /** Publishes `sluice.subscription.disabled` / `enabled` when a PATCH changes `enabled`; never waited for. */
  events?: Pick<SubscriptionEventPublisher, 'publish'> | undefined;
}

/** The public JSON of a subscription: everything but its secrets. */
export interface SubscriptionResource {
  id: string;
  url: string;
  eventTypes: readonly string[];
  description: string;
  enabled: boolean;
  disabledReason: DisabledReason | null;
  /** When it was disabled (RFC 3339); null while enabled. */
  disabledAt: string | null;
  /** `failing` only: since when every attempt failed (RFC 3339). */
  failingSince: string | null;
  rateLimitPerSecond: number | null;
  maxConcurrency: number;
  ordering: 'none' | 'key';
  producerIds: readonly string[] | null;
  /** The tenant whose events alone it receives; null: global (every event). */
  tenant: string | null;
  filter: PayloadFilter | null;
  /** Plain values as stored; a secret one as `{"secret": true}`, its value never shown. */
  headers: Record<string, CustomHeaderResource>;
  retry: RetryOverrideResource | null;
  timeoutMs: number | null;
  /** How many secrets sign each delivery, and when the rotated-out ones stop (RFC 3339). */
  signingSecrets: { active: number; previousExpireAt: string[] };
  createdAt: string;
  updatedAt: string;
}

/** The routes' answer: status, JSON body and extra headers. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Action = (context: {
  exchange: HttpExchange;
  key: ApiKeyRecord;
  /** The parsed JSON body; undefined when the request had none. */
  body: unknown;
}) => Reply | Promise<Reply>;

const collection = '/v1/subscriptions';
const item = '/v1/subscriptions/:id';
const rotate = '/v1/subscriptions/:id/rotate-secret';
const defaultMaxBodyBytes = 64 * 1024;
const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * The subscription management API (README.md#subscriptions-and-webhooks): `POST/GET
 * /v1/subscriptions`, `GET/PATCH/DELETE /v1/subscriptions/{id}` and `POST
 * /v1/subscriptions/{id}/rotate-secret`, for admin keys (every subscription) and keys bound to a
 * tenant (that tenant's only: README.md#tenants). Signing secrets appear in exactly two answers:
 * the create response and the rotate-secret response (`secret`, shown once); secret header values
 * in none. The store validates each write and refuses it whole, so a bad field changes nothing.
 */
export function addSubscriptionRoutes(router: Router, deps: SubscriptionsRouteDeps): Router {
  const { store, logger } = deps;
  const handler = (route: string, readsBody: boolean, action: Action) =>
    createAdminHandler(deps, route, readsBody, action, { tenantKeys: true });

  return router
    .route(
      'POST',
      collection,
      handler(collection, true, async ({ key, body }) => {
        const input = requireObjectBody(body) as SubscriptionCreateInput;
        const valid = store.validateCreate(input);
        if (valid instanceof SluiceError) throw valid;
        // The body as sent: `tenant: null` (global) is refused to a tenant key like another tenant.
        assertTenantRequest(key, input.tenant);
        const created = await store.create(
          key.tenant === undefined ? input : { ...input, tenant: key.tenant },
        );
        logger.info(
          { subscriptionId: created.id, tenant: created.tenant, by: key.producerId },
          'subscription created',
        );
        return {
          status: 201,
          headers: { location: `${collection}/${created.id}` },
          body: { ...toResource(created), secret: currentSecret(created) },
        };
      }),
    )
    .route(
      'GET',
      collection,
      handler(collection, false, ({ key }) => ({
        status: 200,
        body: {
          subscriptions: store
            .all()
            .filter((subscription) => canManageSubscription(key, subscription))
            .map(toResource),
        },
      })),
    )
    .route(
      'GET',
      item,
      handler(item, false, ({ exchange, key }) => ({
        status: 200,
        body: toResource(findSubscription(store, exchange, key)),
      })),
    )
    .route(
      'PATCH',
      item,
      handler(item, true, async ({ exchange, key, body }) => {
        const before = findSubscription(store, exchange, key);
        const id = before.id;
        const patch = requireObjectBody(body) as SubscriptionPatchInput;
        const valid = store.validatePatch(patch);
        if (valid instanceof SluiceError) throw valid;
        assertTenantRequest(key, valid.tenant);
        const updated = await store.update(id, patch);
        if (before.enabled && !updated.enabled) deps.events?.publish(disabledEvent(updated));
        if (!before.enabled && updated.enabled) deps.events?.publish(enabledEvent(before, updated));
        // Field names only: header values, secret or not, never reach a log line.
        logger.info(
          { subscriptionId: id, by: key.producerId, fields: Object.keys(patch) },
          'subscription updated',
        );
        return { status: 200, body: toResource(updated) };
      }),
    )
    .route(
      'DELETE',
      item,
      handler(item, false, async ({ exchange, key }) => {
        const id = findSubscription(store, exchange, key).id;
        await store.remove(id);
        logger.info({ subscriptionId: id, by: key.producerId }, 'subscription deleted');
        return { status: 204 };
      }),
    )
    .route(
      'POST',
      rotate,
      handler(rotate, true, async ({ exchange, key, body }) => {
        const id = findSubscription(store, exchange, key).id;
        const request = validateSecretRotation(body);
        if (request instanceof SluiceError) throw request;
        const rotated = await store.rotateSecret(id, undefined, request.secret);
        logger.info({ subscriptionId: id, by: key.producerId }, 'subscription secret rotated');
        return { status: 200, body: { ...toResource(rotated), secret: currentSecret(rotated) } };
      }),
    );
}

/**
 * The subscription named by the `:id` of the path, when `key` may manage it: 404 SLUICE_NOT_FOUND
 * when there is none, 403 SLUICE_TENANT_FORBIDDEN when it is not the key's tenant's. Every route
 * under /v1/subscriptions/{id} finds its subscription here, so none can skip the tenant check.
 */
export function findSubscription(
  store: Pick<SubscriptionAdmin, 'get'>,
  exchange: HttpExchange,
  key: ApiKeyRecord,
): Subscription {
  const id = exchange.params.id ?? '';
  const found = isSubscriptionId(id) ? store.get(id) : undefined;
  if (found === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `no subscription ${id}`);
  assertSubscriptionAccess(key, found);
  return found;
}

/** The public representation; never carries a secret. */
export function toResource(subscription: Subscription): SubscriptionResource {
  return {
    id: subscription.id,
    url: subscription.url,
    eventTypes: subscription.eventTypes,
    description: subscription.description,
    enabled: subscription.enabled,
    disabledReason: subscription.disabledReason ?? null,
    disabledAt: subscription.disabledAt ?? null,
    failingSince: subscription.failingSince ?? null,
    rateLimitPerSecond: subscription.rateLimitPerSecond ?? null,
    maxConcurrency: subscription.maxConcurrency,
    ordering: subscription.ordering,
    producerIds: subscription.producerIds ?? null,
    tenant: subscription.tenant ?? null,
    filter: subscription.filter ?? null,
    headers: customHeadersResource(subscription.headers),
    retry: retryOverrideResource(subscription.retry),
    timeoutMs: subscription.timeoutMs ?? null,
    signingSecrets: {
      active: subscription.secrets.length,
      previousExpireAt: subscription.secrets
        .slice(1)
        .flatMap(({ expiresAtMs }) =>
          expiresAtMs === undefined ? [] : [new Date(expiresAtMs).toISOString()],
        ),
    },
    createdAt: subscription.createdAt,
    updatedAt: subscription.updatedAt,
  };
}

function currentSecret(subscription: Subscription): string {
  const current = subscription.secrets[0];
  if (current === undefined)
    throw new SluiceError('SLUICE_INTERNAL', `subscription ${subscription.id} has no secret`);
  return current.secret;
}

export function requireBody(body: unknown): unknown {
  if (body === undefined) {
    throw new SluiceError('SLUICE_MALFORMED_REQUEST', 'the request needs a JSON object body');
  }
  return body;
}

/** The body as an object; anything else is the store's 422 for a body that is not a JSON object. */
function requireObjectBody(body: unknown): object {
  const given = requireBody(body);
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new SluiceError('SLUICE_INVALID_SUBSCRIPTION', 'the request body must be a JSON object', {
      details: { errors: [{ field: '', message: 'the request body must be a JSON object' }] },
    });
  }
  return given;
}

/** What an admin route handler needs besides its action. */
export type AdminHandlerDeps = Pick<
  SubscriptionsRouteDeps,
  'apiKeys' | 'logger' | 'metrics' | 'maxBodyBytes' | 'accepting' | 'inFlight'
>;

/** How one route of an admin API differs from the defaults. */
export interface AdminHandlerOptions {
  /** Any valid API key may call it (a read), not only admin keys. */
  anyKey?: boolean;
  /**
   * Keys bound to a tenant may call it too; the action must then keep to that tenant's
   * subscriptions (`findSubscription` does).
   */
  tenantKeys?: boolean;
  /** The 403 detail for a producer key: what needs an admin key. */
  forbiddenDetail?: string;
  /** Largest request body of this route; default `deps.maxBodyBytes`. */
  maxBodyBytes?: number;
}

/**
 * Authentication, the admin check and the body read happen synchronously (uWS drops body chunks
 * that arrive before `readBody`); the action runs after the body arrived.
 */
export function createAdminHandler(
  deps: AdminHandlerDeps,
  route: string,
  readsBody: boolean,
  action: Action,
  options: AdminHandlerOptions = {},
): RouteHandler {
  const maxBodyBytes = options.maxBodyBytes ?? deps.maxBodyBytes ?? defaultMaxBodyBytes;
  const forbiddenDetail =
    options.forbiddenDetail ??
    (options.tenantKeys === true
      ? 'managing subscriptions needs an admin API key or an API key bound to a tenant'
      : 'managing subscriptions needs an admin API key');

  const answer = (exchange: HttpExchange, startedNs: bigint, reply: Reply) => {
    const headers: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers };
    let body = '';
    if (reply.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(reply.body);
    }
    if (exchange.respond(reply.status, headers, body)) record(startedNs, reply.status);
  };
  const answerProblem = (exchange: HttpExchange, startedNs: bigint, error: unknown, key?: ApiKeyRecord) => {
    const problem = problemResponse(error);
    if (problem.error.code === 'SLUICE_INTERNAL') {
      deps.logger.error({ err: error, route }, 'admin API request failed unexpectedly');
    }
    if (isSluiceError(error, 'SLUICE_TENANT_FORBIDDEN')) {
      deps.metrics?.tenantRefusals?.inc({ route });
      deps.logger.warn(
        {
          route,
          method: exchange.head.method,
          producerId: key?.producerId,
          tenant: key?.tenant,
          ...error.details,
        },
        "refused: another tenant's subscription or tenant",
      );
    }
    if (exchange.respond(problem.status, problem.headers, problem.body)) record(startedNs, problem.status);
  };
  const record = (startedNs: bigint, status: number) => {
    deps.metrics?.requests.inc({ route, status: String(status) });
    deps.metrics?.requestDuration.observe({ route }, Number(process.hrtime.bigint() - startedNs) / 1e9);
  };

  return (exchange) => {
    const startedNs = process.hrtime.bigint();
    if (deps.accepting?.() === false) {
      answerProblem(
        exchange,
        startedNs,
        new SluiceError('SLUICE_SHUTTING_DOWN', 'the gateway is shutting down', { retryAfterSeconds: 1 }),
      );
      return;
    }
    const key = deps.apiKeys.authenticate(exchange.head.headers.authorization);
    if (key instanceof SluiceError) {
      answerProblem(exchange, startedNs, key);
      return;
    }
    const allowed =
      key.role === 'admin' ||
      options.anyKey === true ||
      (options.tenantKeys === true && key.tenant !== undefined);
    if (!allowed) {
      answerProblem(exchange, startedNs, new SluiceError('SLUICE_FORBIDDEN', forbiddenDetail));
      return;
    }
    const contentType = exchange.head.headers['content-type'];
    const bodyPromise = readsBody ? readBody(exchange, { maxBodyBytes }) : Promise.resolve(Buffer.alloc(0));
    deps.inFlight?.enter();
    const run = async () => {
      try {
        const body = parseJsonBody(await bodyPromise, contentType);
        answer(exchange, startedNs, await action({ exchange, key, body }));
      } catch (error) {
        if (isRequestAborted(error)) return;
        answerProblem(exchange, startedNs, error, key);
      }
    };
    return run().finally(() => deps.inFlight?.leave());
  };
}

function parseJsonBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  if (contentType === undefined || !jsonMediaType.test(contentType)) {
    throw new SluiceError('SLUICE_UNSUPPORTED_MEDIA_TYPE', 'send the body as Content-Type: application/json');
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    // The parser's message quotes the body, which may hold a secret: never pass it on.
    throw new SluiceError('SLUICE_MALFORMED_REQUEST', 'the request body is not valid JSON');
  }
}
