import { SluiceError, isSluiceError } from '../../common/errors.js';
import type { SubscriptionEventPublisher } from '../../common/ops-events/subscription-event-publisher.js';
import { enabledEvent } from '../../common/ops-events/subscription-event-record.js';
import type { SubscriptionStore } from '../../common/subscriptions/subscription-store.js';
import type { Router } from '../http/router.js';
import { recoveryWindow, validateEnableRequest } from '../replay/enable-request.js';
import type { SubscriptionReplayer } from '../replay/subscription-replayer.js';
import {
  createAdminHandler,
  findSubscription,
  toResource,
  type AdminHandlerDeps,
} from './subscriptions-route.js';

export interface EnableRouteDeps extends AdminHandlerDeps {
  store: Pick<SubscriptionStore, 'get' | 'enable'>;
  replayer: Pick<SubscriptionReplayer, 'replay'>;
  /** How far back a recovery may start: the events topic's retention. */
  eventsRetentionMs: number;
  /** Publishes `sluice.subscription.enabled`; never waited for. */
  events: Pick<SubscriptionEventPublisher, 'publish'>;
  nowMs?: () => number;
}

const enable = '/v1/subscriptions/:id/enable';

/**
 * How long after the enable a recovery's deliveries become due: workers see a change of the
 * subscriptions topic within about half a second, and one that still held the subscription
 * disabled would dead-letter them (`subscription-disabled`) instead of delivering them.
 */
export const recoveryDueAfterMs = 2000;

/**
 * `POST /v1/subscriptions/{id}/enable` `{"recover"?: boolean}` (admin keys, and tenant keys for
 * their tenant's subscriptions): enables the
 * subscription and, with `recover`, replays what it missed while disabled, the window
 * [disabledAt, now), through subscription replay (its own replay id, the normal delivery path).
 * Every check of the request and of the window comes before the enable: a refused request changes
 * nothing. Answers 200 `{subscription, recovery: null}`, or 202 `{subscription, recovery: {replayId,
 * queued, scanned, from, to}}` once Kafka acknowledged the queued deliveries.
 */
export function addEnableRoute(router: Router, deps: EnableRouteDeps): Router {
  const nowMs = deps.nowMs ?? Date.now;
  return router.route(
    'POST',
    enable,
    createAdminHandler(
      deps,
      enable,
      true,
      async ({ exchange, key, body }) => {
        const current = findSubscription(deps.store, exchange, key);
        const request = validateEnableRequest(body);
        if (request instanceof SluiceError) throw request;
        const window = request.recover ? recoveryWindow(current, nowMs(), deps.eventsRetentionMs) : undefined;
        if (window instanceof SluiceError) throw window;

        const { before, after } = await deps.store.enable(current.id);
        if (before.enabled) {
          // Enabled meanwhile by another request: nothing changed here, nothing to recover.
          return { status: 200, body: { subscription: toResource(after), recovery: null } };
        }
        deps.logger.info(
          {
            subscriptionId: after.id,
            by: key.producerId,
            previousReason: before.disabledReason,
            recover: request.recover,
          },
          'subscription enabled',
        );
        if (window === undefined) {
          deps.events.publish(enabledEvent(before, after));
          return { status: 200, body: { subscription: toResource(after), recovery: null } };
        }
        try {
          const result = await deps.replayer.replay(after, {
            ...window,
            dryRun: false,
            notBeforeMs: nowMs() + recoveryDueAfterMs,
          });
          if (result.dryRun) throw new SluiceError('SLUICE_INTERNAL', 'a recovery ran as a dry run');
          deps.events.publish(enabledEvent(before, after, result));
          deps.logger.info(
            { subscriptionId: after.id, replayId: result.replayId, queued: result.queued },
            'subscription recovery queued',
          );
          return {
            status: 202,
            body: {
              subscription: toResource(after),
              recovery: {
                replayId: result.replayId,
                queued: result.queued,
                scanned: result.scanned,
                from: new Date(window.fromMs).toISOString(),
                to: new Date(window.toMs).toISOString(),
              },
            },
          };
        } catch (error) {
          // The subscription stays enabled: say so, and how to replay the window by hand.
          deps.events.publish(enabledEvent(before, after));
          if (!isSluiceError(error)) throw error;
          throw new SluiceError(
            error.code,
            `subscription ${after.id} is enabled, but its recovery did not finish: ${error.message}; replay from ${new Date(window.fromMs).toISOString()} with POST /v1/subscriptions/${after.id}/replay`,
            {
              cause: error,
              details: { ...error.details, enabled: true, from: new Date(window.fromMs).toISOString() },
              ...(error.retryAfterSeconds === undefined
                ? {}
                : { retryAfterSeconds: error.retryAfterSeconds }),
            },
          );
        }
      },
      // A tenant key enables and recovers its own subscriptions; the replay keeps their tenant.
      { tenantKeys: true },
    ),
  );
}
