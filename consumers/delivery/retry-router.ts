import type { ConsumedRecord } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import { nextParking, nextRetry } from '../../common/retry/retry-policy.js';
import {
  buildDeadLetter,
  buildRetryRecord,
  type DeadLetterReason,
} from '../../common/retry/retry-records.js';
import { retryTopicName, tierName } from '../../common/retry/retry-schedule.js';
import { effectiveRetryDelays, type RetryOverride } from '../../common/subscriptions/delivery-overrides.js';
import type { DeliveryOutcome } from './classify-outcome.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import type { RetryWriter } from './retry-writer.js';
import type { AttemptResult } from './webhook-sender.js';

/**
 * Where a delivery step left the delivery: done with for good (delivered, dead-lettered, dropped,
 * disabled, found delivered before), or waiting in a retry tier for another go.
 */
export type Resolution = 'resolved' | 'pending';

/** What the router did with a delivery, for its attempt record: a retry due at a time, or a dead letter. */
export type Routed =
  { resolution: 'pending'; nextAttemptAtMs: number } | { resolution: 'resolved'; deadLettered: true };

/** Why a delivery was moved on without an attempt; labels `sluice_parked_total`. */
export type ParkReason =
  'breaker-open' | 'dedup-unavailable' | 'key-queue-unavailable' | 'slot-wait' | 'key-blocked';

export interface RetrySettings {
  retryDelaysMs: readonly number[];
  retryTopicPrefix: string;
  dlqTopic: string;
  /** A parked delivery older than this (since its first attempt) is dead-lettered as `expired`. */
  maxDeliveryAgeMs: number;
}

/** What the router needs to know of a delivery that was not delivered. */
export interface RoutedDelivery {
  /** The record a retry or dead letter is built from (carries the event's value, key and headers). */
  source: ConsumedRecord;
  /** `retry`: the subscription's own schedule, which decides the next tier after a failure. */
  subscription: { id: string; retry?: RetryOverride | undefined };
  event: { id: string };
  /** The number of the attempt about to be made, or just made (1 = first). */
  attempt: number;
  firstAttemptAtMs: number;
  origin: string;
  /** Index in the schedule of the tier the delivery came from; -1 for the events topic. */
  fromTierIndex: number;
  lastStatus: number | undefined;
  lastError: string | undefined;
}

export interface DeadLetterDetails {
  subscriptionId: string | undefined;
  attempts: number;
  lastStatus: number | undefined;
  lastError: string | undefined;
  origin: string;
}

export interface RetryRouterDeps {
  settings: RetrySettings;
  writer: Pick<RetryWriter, 'writeDurably'>;
  metrics: DeliveryMetrics;
  logger: Logger;
  nowMs: () => number;
  random: () => number;
}

export interface RetryRouter {
  /** The schedule index of the tier a retry record was read from. */
  tierIndexOf(record: ConsumedRecord, attempt: number): number;
  /** After a failed attempt: the next tier, or the dead-letter topic once the schedule is spent. */
  afterFailure(
    delivery: RoutedDelivery,
    outcome: Extract<DeliveryOutcome, { kind: 'retry' }>,
    result: AttemptResult,
    signal: AbortSignal,
  ): Promise<Routed>;
  /** Moves a delivery on without spending an attempt, or dead-letters it once it is too old. */
  park(delivery: RoutedDelivery, reason: ParkReason, signal: AbortSignal): Promise<Routed>;
  /** Writes a dead letter; also for poison records, which no subscription ever saw. */
  deadLetter(
    source: ConsumedRecord,
    reason: DeadLetterReason,
    details: DeadLetterDetails,
    signal: AbortSignal,
  ): Promise<void>;
}

const deadLettered = { resolution: 'resolved', deadLettered: true } as const;

/**
 * Carries out what the retry policy (`common/retry/retry-policy.ts`) decides for a delivery that
 * was not delivered: writes its retry record or dead letter, durably, then counts and logs it.
 * The write comes first: a delivery counts as resolved or pending only once Kafka holds it.
 */
export function createRetryRouter(deps: RetryRouterDeps): RetryRouter {
  const { settings, metrics, logger, nowMs, random } = deps;
  const tierIndexByTopic = new Map(
    settings.retryDelaysMs.map((delayMs, index) => [
      retryTopicName(settings.retryTopicPrefix, delayMs),
      index,
    ]),
  );

  async function deadLetter(
    source: ConsumedRecord,
    reason: DeadLetterReason,
    details: DeadLetterDetails,
    signal: AbortSignal,
  ): Promise<void> {
    const record = buildDeadLetter(settings.dlqTopic, source, { reason, ...details, nowMs: nowMs() });
    await deps.writer.writeDurably([record], signal);
    metrics.deadLetters.inc({ reason });
    logger.warn(
      {
        reason,
        subscriptionId: details.subscriptionId,
        attempts: details.attempts,
        lastStatus: details.lastStatus,
        lastError: details.lastError,
        origin: details.origin,
        eventId: source.headers.ce_id,
      },
      'dead-lettered',
    );
  }

  async function toRetryTier(
    delivery: RoutedDelivery,
    tierDelayMs: number,
    delayMs: number,
    nextAttempt: number,
    failure: { lastStatus: number | undefined; lastError: string | undefined },
    signal: AbortSignal,
  ): Promise<number> {
    const topic = retryTopicName(settings.retryTopicPrefix, tierDelayMs);
    const dueAtMs = nowMs() + delayMs;
    const record = buildRetryRecord(topic, delivery.source, {
      subscriptionId: delivery.subscription.id,
      attempt: nextAttempt,
      dueAtMs,
      firstAttemptAtMs: delivery.firstAttemptAtMs,
      origin: delivery.origin,
      lastStatus: failure.lastStatus,
      lastError: failure.lastError,
    });
    await deps.writer.writeDurably([record], signal);
    return dueAtMs;
  }

  /** Dead-letters one subscription's delivery and counts it as resolved that way. */
  async function deadLetterDelivery(
    delivery: RoutedDelivery,
    reason: DeadLetterReason,
    attempts: number,
    last: { lastStatus: number | undefined; lastError: string | undefined },
    signal: AbortSignal,
  ): Promise<void> {
    const details = { subscriptionId: delivery.subscription.id, attempts, origin: delivery.origin, ...last };
    await deadLetter(delivery.source, reason, details, signal);
    countDelivery(delivery, 'dead-lettered');
  }

  function countDelivery(
    delivery: RoutedDelivery,
    outcome: 'dead-lettered' | 'parked' | 'retry-scheduled',
  ): void {
    metrics.deliveries.inc({ subscription_id: delivery.subscription.id, outcome });
  }

  return {
    tierIndexOf(record, attempt) {
      return tierIndexByTopic.get(record.topic) ?? Math.min(attempt - 2, settings.retryDelaysMs.length - 1);
    },

    async afterFailure(delivery, outcome, result, signal) {
      const lastError = 'error' in result ? `${outcome.reason}: ${result.message}` : outcome.reason;
      const decision = nextRetry({
        delaysMs: effectiveRetryDelays(delivery.subscription.retry, settings.retryDelaysMs),
        failedAttempt: delivery.attempt,
        retryAfterMs: outcome.retryAfterMs,
        random,
      });
      if (decision.kind === 'dead-letter') {
        const last = { lastStatus: outcome.status, lastError };
        await deadLetterDelivery(delivery, 'retries-exhausted', decision.attempts, last, signal);
        return deadLettered;
      }
      const nextAttemptAtMs = await toRetryTier(
        delivery,
        decision.tierDelayMs,
        decision.delayMs,
        decision.nextAttempt,
        { lastStatus: outcome.status, lastError },
        signal,
      );
      const tier = tierName(decision.tierDelayMs);
      metrics.retries.inc({ tier });
      countDelivery(delivery, 'retry-scheduled');
      logger.info(
        {
          subscriptionId: delivery.subscription.id,
          eventId: delivery.event.id,
          attempt: delivery.attempt,
          reason: outcome.reason,
          status: outcome.status,
          tier,
          delayMs: decision.delayMs,
        },
        'delivery failed; retry scheduled',
      );
      return { resolution: 'pending', nextAttemptAtMs };
    },

    async park(delivery, reason, signal) {
      const decision = nextParking({
        delaysMs: settings.retryDelaysMs,
        fromTierIndex: delivery.fromTierIndex,
        ageMs: nowMs() - delivery.firstAttemptAtMs,
        maxAgeMs: settings.maxDeliveryAgeMs,
        random,
      });
      if (decision.kind === 'expire') {
        const last = { lastStatus: delivery.lastStatus, lastError: delivery.lastError ?? reason };
        await deadLetterDelivery(delivery, 'expired', delivery.attempt - 1, last, signal);
        return deadLettered;
      }
      const nextAttemptAtMs = await toRetryTier(
        delivery,
        decision.tierDelayMs,
        decision.delayMs,
        delivery.attempt,
        { lastStatus: delivery.lastStatus, lastError: delivery.lastError },
        signal,
      );
      const tier = tierName(decision.tierDelayMs);
      metrics.parked.inc({ tier, reason });
      countDelivery(delivery, 'parked');
      logger.info(
        {
          subscriptionId: delivery.subscription.id,
          eventId: delivery.event.id,
          reason,
          tier,
          attempt: delivery.attempt,
        },
        'delivery parked without an attempt',
      );
      return { resolution: 'pending', nextAttemptAtMs };
    },

    deadLetter,
  };
}
