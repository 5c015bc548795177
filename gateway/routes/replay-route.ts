import { SluiceError } from '../../common/errors.js';
import type { Router } from '../http/router.js';
import { validateReplayRequest } from '../replay/replay-request.js';
import type { SubscriptionReplayer } from '../replay/subscription-replayer.js';
import {
  createAdminHandler,
  findSubscription,
  requireBody,
  type AdminHandlerDeps,
  type SubscriptionAdmin,
} from './subscriptions-route.js';

export interface ReplayRouteDeps extends AdminHandlerDeps {
  store: Pick<SubscriptionAdmin, 'get'>;
  replayer: Pick<SubscriptionReplayer, 'replay'>;
  /** How far back a window may start: the events topic's retention. */
  eventsRetentionMs: number;
  nowMs?: () => number;
}

const replay = '/v1/subscriptions/:id/replay';

/**
 * `POST /v1/subscriptions/{id}/replay` `{"from", "to"?, "dryRun"?}` (admin keys, and tenant keys
 * for their tenant's subscriptions): redelivers the events of a time window to this one
 * subscription (docs/architecture.md#subscriptions). A dry run answers 200 `{matched, scanned,
 * from, to}` and writes nothing; a replay answers 202 `{replayId, queued, scanned, from, to}` once
 * Kafka acknowledged every queued record. The request lasts as long as reading the window takes,
 * up to SLUICE_REPLAY_TIMEOUT_MS.
 */
export function addReplayRoute(router: Router, deps: ReplayRouteDeps): Router {
  const nowMs = deps.nowMs ?? Date.now;
  return router.route(
    'POST',
    replay,
    createAdminHandler(
      deps,
      replay,
      true,
      async ({ exchange, key, body }) => {
        const subscription = findSubscription(deps.store, exchange, key);
        const request = validateReplayRequest(requireBody(body), {
          nowMs: nowMs(),
          maxAgeMs: deps.eventsRetentionMs,
        });
        if (request instanceof SluiceError) throw request;
        if (!request.dryRun && !subscription.enabled) {
          throw new SluiceError(
            'SLUICE_INVALID_REPLAY',
            `subscription ${subscription.id} is disabled: enable it before replaying (a dry run works)`,
            { details: { errors: [{ field: '', message: 'the subscription is disabled' }] } },
          );
        }
        const window = {
          from: new Date(request.fromMs).toISOString(),
          to: new Date(request.toMs).toISOString(),
        };
        const result = await deps.replayer.replay(subscription, request);
        if (result.dryRun) {
          return { status: 200, body: { matched: result.matched, scanned: result.scanned, ...window } };
        }
        deps.logger.info(
          {
            subscriptionId: subscription.id,
            by: key.producerId,
            replayId: result.replayId,
            queued: result.queued,
          },
          'subscription replay queued',
        );
        return {
          status: 202,
          body: { replayId: result.replayId, queued: result.queued, scanned: result.scanned, ...window },
        };
      },
      // A tenant key replays its own subscriptions; the selection keeps the subscription's tenant.
      { tenantKeys: true },
    ),
  );
}
