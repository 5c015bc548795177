import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/logger.js';
import {
  createSubscriptionEventMetrics,
  createSubscriptionEventPublisher,
} from '../common/ops-events/subscription-event-publisher.js';
import { disabledEvent, type DisableFacts } from '../common/ops-events/subscription-event-record.js';
import type { SubscriptionView } from '../common/subscriptions/subscription.js';
import type { SchemaRegistry } from '../schemas/registry/schema-registry.js';
import { subscriptionRecoveredType, subscriptionUnhealthyType } from '../schemas/subscription-events.js';
import type { DeliveryConfig } from './delivery-config.js';
import type { DeliveryWorkerDeps } from './delivery-worker.js';
import { createBreakerWatch } from './delivery/breaker-watch.js';
import type { BreakerState } from './delivery/endpoint-breakers.js';
import {
  createEndpointHealth,
  createEndpointHealthMetrics,
  type EndpointHealth,
} from './delivery/endpoint-health.js';
import type { RetryWriter } from './delivery/retry-writer.js';

export interface SubscriptionHealthOptions {
  config: Pick<DeliveryConfig, 'health' | 'breaker' | 'topics'>;
  redis: Redis;
  registry: Registry;
  schemaRegistry: Pick<SchemaRegistry, 'state' | 'register'>;
  /** Operational events go through the retry writer's group commit (a plain write, not retried). */
  writer: Pick<RetryWriter, 'write'>;
  subscriptions: SubscriptionView;
  disable: DeliveryWorkerDeps['disable'];
  onGone: DeliveryWorkerDeps['onGone'];
  logger: Logger;
}

export interface SubscriptionHealth {
  /** What the delivery service reports each attempt's verdict to. */
  tracker: EndpointHealth;
  /** A receiver answered 410: disable, count, log, publish. */
  onGone(subscriptionId: string): Promise<void>;
  /** Every state change of a breaker of this worker. */
  breakerStateChanged(subscriptionId: string, state: BreakerState): void;
  /** A subscription was deleted: forget its breaker opening. */
  forget(subscriptionId: string): void;
  /** Waits for health updates and operational events in flight; stops the breaker timers. */
  shutdown(): Promise<void>;
}

/**
 * The worker's side of endpoint health (README, "Endpoint health"): the failure streaks that
 * auto-disable a subscription, the watch that reports a breaker open too long, and the
 * operational events of every change they make. Nothing here is on a delivery's path: the
 * tracker's calls return at once and events are published in the background.
 */
export function createSubscriptionHealth(options: SubscriptionHealthOptions): SubscriptionHealth {
  const { config, logger, subscriptions } = options;
  const events = createSubscriptionEventPublisher({
    registry: options.schemaRegistry,
    topic: config.topics.eventsTopic,
    write: (records) => options.writer.write(records),
    metrics: createSubscriptionEventMetrics(options.registry),
    logger,
  });
  const worker = `${hostname()}/${process.pid}`;
  const breakerWatch = createBreakerWatch({
    openEventAfterMs: config.breaker.openEventAfterMs,
    onUnhealthy: (subscriptionId, openedAtMs) => {
      logger.warn({ subscriptionId, openedAtMs }, 'circuit breaker open too long: subscription unhealthy');
      events.publish({
        type: subscriptionUnhealthyType,
        tenant: subscriptions.get(subscriptionId)?.tenant,
        data: { subscriptionId, worker, openedAt: new Date(openedAtMs).toISOString() },
      });
    },
    onRecovered: (subscriptionId, openedAtMs, closedAtMs) => {
      logger.info({ subscriptionId, openedAtMs }, 'circuit breaker closed: subscription recovered');
      events.publish({
        type: subscriptionRecoveredType,
        tenant: subscriptions.get(subscriptionId)?.tenant,
        data: {
          subscriptionId,
          worker,
          openedAt: new Date(openedAtMs).toISOString(),
          closedAt: new Date(closedAtMs).toISOString(),
        },
      });
    },
  });
  const metrics = createEndpointHealthMetrics(options.registry);

  /** Disables through the store; a change (not a repeat) is counted, logged and published. */
  async function disable(
    subscriptionId: string,
    reason: 'gone' | 'failing',
    facts: DisableFacts & { failingSinceMs?: number },
  ): Promise<void> {
    if (options.disable === undefined) {
      if (reason === 'gone') await options.onGone?.(subscriptionId);
      else logger.warn({ subscriptionId }, 'endpoint failing past the threshold; no store to disable it in');
      return;
    }
    const result = await options.disable(subscriptionId, reason, { failingSinceMs: facts.failingSinceMs });
    if (result === undefined || !result.changed) return;
    metrics.autoDisabled.inc({ reason });
    logger.warn(
      {
        subscriptionId,
        reason,
        disabledAt: result.subscription.disabledAt,
        failingSince: result.subscription.failingSince,
        deadLetters: facts.deadLetters,
        lastStatus: facts.lastStatus,
      },
      'subscription disabled',
    );
    events.publish(disabledEvent(result.subscription, facts));
  }

  let lastUnavailableLogMs = 0;
  const tracker = createEndpointHealth({
    redis: options.redis,
    settings: config.health,
    metrics,
    onFailing: (verdict) =>
      disable(verdict.subscriptionId, 'failing', {
        failingSinceMs: verdict.failingSinceMs,
        deadLetters: verdict.deadLetters,
        lastStatus: verdict.lastStatus,
        lastError: verdict.lastError,
      }).catch((error: unknown) =>
        logger.error(
          { err: error, subscriptionId: verdict.subscriptionId },
          'could not disable a failing subscription',
        ),
      ),
    onUnavailable: (error) => {
      if (Date.now() - lastUnavailableLogMs > 10_000) {
        lastUnavailableLogMs = Date.now();
        logger.warn({ err: error }, 'Redis unavailable: endpoint health updates skipped');
      }
    },
  });

  return {
    tracker,
    onGone: (subscriptionId) => disable(subscriptionId, 'gone', { lastStatus: 410 }),
    breakerStateChanged: (subscriptionId, state) => breakerWatch.stateChanged(subscriptionId, state),
    forget: (subscriptionId) => breakerWatch.forget(subscriptionId),
    async shutdown() {
      breakerWatch.shutdown();
      await tracker.settled();
      await events.flush();
    },
  };
}
