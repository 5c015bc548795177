import { SluiceError } from '../../common/errors.js';
import type { SchemaCatalog } from '../../schemas/schema-catalog.js';
import { decodeEvent } from '../../schemas/event-codec.js';
import type { ApiKeyRecord } from '../auth/api-key-entry.js';
import { canManageSubscription } from '../auth/tenant-access.js';
import type { DeadLetterRecord, DeliveryLog, LogScope } from '../delivery-log/delivery-log.js';
import { validateDeadLetterReplay } from '../delivery-log/dead-letter-replay-request.js';
import {
  isDeadLetterId,
  parseAttemptsQuery,
  parseDeadLettersQuery,
  type LogCursor,
} from '../delivery-log/log-query.js';
import type { LogResender } from '../delivery-log/log-resender.js';
import type { Router } from '../http/router.js';
import {
  createAdminHandler,
  findSubscription,
  type AdminHandlerDeps,
  type SubscriptionAdmin,
} from './subscriptions-route.js';

export interface LogRoutesDeps extends AdminHandlerDeps {
  log: DeliveryLog;
  resender: LogResender;
  /** `all` gives a tenant key's subscriptions, the scope of what it reads in the log. */
  store: Pick<SubscriptionAdmin, 'get' | 'all'>;
  /** Decodes dead letters' payloads. */
  catalog: Pick<SchemaCatalog, 'byId'>;
  nowMs?: () => number;
}

const event = '/v1/events/:id';
const eventAttempts = '/v1/events/:id/attempts';
const subscriptionAttempts = '/v1/subscriptions/:id/attempts';
const subscriptionStats = '/v1/subscriptions/:id/stats';
const resend = '/v1/subscriptions/:id/events/:eventId/resend';
const deadLetters = '/v1/dead-letters';
const deadLetter = '/v1/dead-letters/:id';
const deadLetterReplay = '/v1/dead-letters/replay';

/** Most dead letters one replay request may write (more: `sluice dlq replay`). */
export const maxDeadLettersPerReplay = 10_000;
/** Dead letters read and written at once: bounds the memory of a replay. */
const deadLettersPerBatch = 200;
const eventIdPattern = /^[\x21-\x7e]{1,128}$/;

/**
 * What of an event's attempts a key sees: an admin key all; a key bound to a tenant the attempts to
 * its tenant's subscriptions (whoever sent the event: attempt rows carry no tenant, the
 * subscription does); any other producer key its own events' (others' are not found).
 */
function logScope(key: ApiKeyRecord, store: Pick<SubscriptionAdmin, 'all'>): LogScope {
  if (key.role === 'admin') return {};
  if (key.tenant === undefined) return { producerId: key.producerId };
  const subscriptionIds = store
    .all()
    .filter((subscription) => canManageSubscription(key, subscription))
    .map((subscription) => subscription.id);
  return { subscriptionIds };
}

function noEvent(id: string): SluiceError {
  return new SluiceError('SLUICE_NOT_FOUND', `no attempt of event ${id} is recorded`);
}

/** The dead letter's payload as the webhook body would carry it: `{type, timestamp, data}`. */
function webhookPayload(
  letter: DeadLetterRecord,
  catalog: Pick<SchemaCatalog, 'byId'>,
): { payload: unknown; payloadError: string | null } {
  const type = letter.headers.ce_type;
  if (letter.value === null || type === undefined) {
    return { payload: null, payloadError: 'the record has no value or no ce_type' };
  }
  const decoded = decodeEvent(catalog, letter.value);
  if (!decoded.ok) return { payload: null, payloadError: `${decoded.reason}: ${decoded.message}` };
  return {
    payload: { type, timestamp: letter.headers.ce_time ?? letter.deadLetteredAt, data: decoded.data },
    payloadError: null,
  };
}

/**
 * The delivery log API (docs/architecture.md#the-delivery-log): an event's status and attempts
 * (any key; a producer key sees only its own events, a tenant key only the attempts to its
 * tenant's subscriptions), a subscription's attempts and stats and one-event resend (admin keys,
 * and tenant keys for their tenant's subscriptions), and the dead letters (admin keys). With no log
 * database every route answers 501 SLUICE_LOG_DISABLED; with the database down, 503
 * SLUICE_LOG_UNAVAILABLE.
 */
export function addLogRoutes(router: Router, deps: LogRoutesDeps): Router {
  const { log } = deps;
  const nowMs = deps.nowMs ?? Date.now;
  const read = { anyKey: true };
  const adminRead = { forbiddenDetail: 'reading the dead letters needs an admin API key' };
  const subscriptionRead = {
    tenantKeys: true,
    forbiddenDetail:
      'reading the delivery log of subscriptions needs an admin API key or an API key bound to their tenant',
  };

  return router
    .route(
      'GET',
      event,
      createAdminHandler(
        deps,
        event,
        false,
        async ({ exchange, key }) => {
          const id = exchange.params.id ?? '';
          const subscriptions = eventIdPattern.test(id)
            ? await log.eventStatus(id, logScope(key, deps.store))
            : undefined;
          if (subscriptions === undefined) throw noEvent(id);
          return { status: 200, body: { id, subscriptions } };
        },
        read,
      ),
    )
    .route(
      'GET',
      eventAttempts,
      createAdminHandler(
        deps,
        eventAttempts,
        false,
        async ({ exchange, key }) => {
          const id = exchange.params.id ?? '';
          const attempts = eventIdPattern.test(id)
            ? await log.eventAttempts(id, logScope(key, deps.store))
            : undefined;
          if (attempts === undefined) throw noEvent(id);
          return { status: 200, body: { id, attempts } };
        },
        read,
      ),
    )
    .route(
      'GET',
      subscriptionAttempts,
      createAdminHandler(
        deps,
        subscriptionAttempts,
        false,
        async ({ exchange, key }) => {
          const subscription = findSubscription(deps.store, exchange, key);
          const query = parseAttemptsQuery(exchange.head.query);
          return { status: 200, body: await log.subscriptionAttempts(subscription.id, query) };
        },
        subscriptionRead,
      ),
    )
    .route(
      'GET',
      subscriptionStats,
      createAdminHandler(
        deps,
        subscriptionStats,
        false,
        async ({ exchange, key }) => {
          const subscription = findSubscription(deps.store, exchange, key);
          return { status: 200, body: await log.subscriptionStats(subscription.id, nowMs()) };
        },
        subscriptionRead,
      ),
    )
    .route(
      'POST',
      resend,
      createAdminHandler(
        deps,
        resend,
        true,
        async ({ exchange, key }) => {
          const subscription = findSubscription(deps.store, exchange, key);
          const eventId = exchange.params.eventId ?? '';
          if (!eventIdPattern.test(eventId)) throw noEvent(eventId);
          // A tenant key learns nothing of events its subscription never had.
          const result = await deps.resender.resend(subscription, eventId, {
            onlyThisSubscription: key.tenant !== undefined,
          });
          deps.logger.info({ ...result, by: key.producerId }, 'event resend queued');
          return { status: 202, body: result };
        },
        { tenantKeys: true, forbiddenDetail: subscriptionRead.forbiddenDetail },
      ),
    )
    .route(
      'GET',
      deadLetters,
      createAdminHandler(
        deps,
        deadLetters,
        false,
        async ({ exchange }) => ({
          status: 200,
          body: await log.deadLetters(parseDeadLettersQuery(exchange.head.query)),
        }),
        adminRead,
      ),
    )
    .route(
      'POST',
      deadLetterReplay,
      createAdminHandler(deps, deadLetterReplay, true, async ({ body, key }) => {
        const request = validateDeadLetterReplay(body ?? {});
        if (request instanceof SluiceError) throw request;
        // Fixed now, so dead letters arriving during the replay do not extend it.
        const selection = {
          ...request.selection,
          untilMs: Math.min(request.selection.untilMs ?? Number.POSITIVE_INFINITY, nowMs() + 1),
        };
        const summary = await log.summarizeDeadLetters(selection);
        if (summary.selected > maxDeadLettersPerReplay) {
          throw new SluiceError(
            'SLUICE_REPLAY_TOO_LARGE',
            `the selection holds ${summary.selected} dead letters, more than the ${maxDeadLettersPerReplay} one request may replay: narrow it (subscription, reason, since, until) or use \`sluice dlq replay\``,
            { details: { matched: summary.selected, maxEvents: maxDeadLettersPerReplay } },
          );
        }
        const ids = request.selection.ids;
        const notFound = ids === undefined ? [] : ids.filter((id) => !summary.foundIds?.includes(id));
        if (ids !== undefined && notFound.length === ids.length) {
          throw new SluiceError('SLUICE_NOT_FOUND', `none of the ${ids.length} dead letters named exists`);
        }
        const counts = {
          selected: summary.selected,
          skippedWithoutSubscription: summary.withoutSubscription,
          bySubscription: summary.bySubscription,
          notFound,
        };
        if (request.dryRun) {
          const replayable = summary.selected - summary.withoutSubscription;
          return { status: 200, body: { dryRun: true, replayable, ...counts } };
        }
        // A batch at a time: a dead letter holds a whole event (up to SLUICE_MAX_EVENT_BYTES).
        let replayed = 0;
        let after: LogCursor | undefined;
        for (;;) {
          const batch = await log.deadLetterBatch(selection, after, deadLettersPerBatch);
          if (batch.letters.length > 0) replayed += await deps.resender.replayDeadLetters(batch.letters);
          if (batch.letters.length < deadLettersPerBatch) break;
          after = batch.last;
        }
        deps.logger.info({ replayed, by: key.producerId }, 'dead letters replayed');
        return { status: 202, body: { dryRun: false, replayed, ...counts } };
      }),
    )
    .route(
      'GET',
      deadLetter,
      createAdminHandler(
        deps,
        deadLetter,
        false,
        async ({ exchange }) => {
          const id = exchange.params.id ?? '';
          const letter = isDeadLetterId(id) ? await log.deadLetter(id) : undefined;
          if (letter === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `no dead letter ${id}`);
          const { key: recordKey, value: _value, ...summary } = letter;
          return {
            status: 200,
            body: {
              ...summary,
              key: recordKey?.toString('utf8') ?? null,
              ...webhookPayload(letter, deps.catalog),
            },
          };
        },
        adminRead,
      ),
    );
}
