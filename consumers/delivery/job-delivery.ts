import type { Logger } from '../../common/logger.js';
import type { Subscription, SubscriptionView } from '../../common/subscriptions/subscription.js';
import { sleepMs } from './abortable.js';
import { buildAttemptRecord, type AttemptFollowUp, type AttemptHappening } from './attempt-facts.js';
import type { AttemptWriter } from './attempt-writer.js';
import { classifyOutcome, type DeliveryOutcome } from './classify-outcome.js';
import type { DedupStore, DeliveryIdentity } from './dedup-store.js';
import type { DeliveryLimiters } from './delivery-limiter.js';
import type { DeliveryMetrics, DeliveryStepOutcome } from './delivery-metrics.js';
import type { BreakerRun, EndpointBreakers } from './endpoint-breakers.js';
import type { EndpointHealth } from './endpoint-health.js';
import { createEventFilter } from './event-filter.js';
import type { KeyQueue } from './key-queue.js';
import type { KeySequencer } from './key-sequencer.js';
import type { DispatchSignals } from './record-task.js';
import type { ParkReason, Resolution, RetryRouter, RoutedDelivery } from './retry-router.js';
import { buildAttemptHeaders } from './webhook-payload.js';
import type { AttemptResult, WebhookSender } from './webhook-sender.js';

export interface DeliverySettings {
  dedupFailureMode: 'open' | 'closed';
  /** How long to wait before looking again when another worker holds a delivery's lease. */
  busyRecheckMs: number;
  /**
   * A delivery that waited this long for one of its subscription's slots is parked in the next
   * retry tier instead: it stops holding its source record, so a saturated or dead endpoint can
   * never fill a partition's in-flight bound and pause it for every other subscription.
   */
  maxSlotWaitMs: number;
}

export interface JobDeliveryDeps {
  view: SubscriptionView;
  sender: Pick<WebhookSender, 'send'>;
  dedup: DedupStore;
  breakers: EndpointBreakers;
  limiters: DeliveryLimiters;
  sequencer: KeySequencer;
  /** `ordering: key` across retries (Redis): who of a key's unresolved deliveries may go. */
  keyQueue: KeyQueue;
  /** Where a delivery that was not delivered goes: a retry tier or the dead-letter topic (retry-router.ts). */
  router: RetryRouter;
  /**
   * Where each attempt's record goes (the attempts topic); never awaited. Absent: no records
   * (unit tests of other parts).
   */
  attempts?: { writer: Pick<AttemptWriter, 'record'>; responseBodyMaxBytes: number };
  metrics: DeliveryMetrics;
  logger: Logger;
  /** A receiver answered 410: disable the subscription (the subscription store's write API). */
  onGone: (subscriptionId: string) => Promise<void> | void;
  /**
   * Each attempt's verdict on the endpoint, for auto-disable (endpoint-health.ts); never awaited.
   * Absent: no health tracking (unit tests of other parts).
   */
  health?: Pick<EndpointHealth, 'succeeded' | 'failed'>;
  settings: DeliverySettings;
  nowMs?: () => number;
}

/** One event decoded once, shared by all its deliveries. */
export interface DecodedEvent {
  id: string;
  type: string;
  producerId: string;
  /** The event's tenant (`ce_tenantid`), undefined when it names none. */
  tenant: string | undefined;
  eventTimeMs: number;
  body: Buffer;
  contentType: string;
  provenance: Readonly<Record<string, string>>;
  /** The partition key, for `ordering: key`. */
  key: string;
  /** The decoded data, for payload filters. */
  data: unknown;
  /** Set when the record comes from a subscription replay: part of the dedup identity. */
  replayId: string | undefined;
}

/** One event on its way to one subscription; what the retry router needs travels with it. */
export interface DeliveryJob extends RoutedDelivery {
  event: DecodedEvent;
  subscription: Subscription;
}

type AttemptValue = { outcome: DeliveryOutcome; result: AttemptResult };

/** Delivers one event to one subscription; the delivery service hands it each matched job. */
export interface JobDelivery {
  /**
   * Whether the subscription's payload filter turns the event away: then the delivery is resolved
   * at once (counted, logged, recorded), without a lease, a slot or an attempt, and never retried.
   */
  filteredOut(job: DeliveryJob): boolean;
  /** This process's turn for the event's key, for `ordering: key` (taken at the call: call in offset order). */
  takeOrderTurn(
    subscription: Subscription,
    event: DecodedEvent,
    signals: DispatchSignals,
  ): Promise<() => void> | undefined;
  /** Delivered, retried, parked or dead-lettered: resolves once the job is one of them. */
  deliver(
    job: DeliveryJob,
    signals: DispatchSignals,
    orderTurn: Promise<() => void> | undefined,
  ): Promise<void>;
  /** Subscriptions this process saw answer 410, until the store's change reaches the view. */
  readonly gone: ReadonlySet<string>;
}

/**
 * One delivery job to its endpoint: the liveness check, the dedup lease, a slot of the
 * subscription's limiter, the HTTP attempt inside its breaker, then what the outcome calls for
 * (completion marker, retry router, 410 disable), each attempt recorded for the delivery log and
 * reported to endpoint health.
 */
export function createJobDelivery(deps: JobDeliveryDeps): JobDelivery {
  const nowMs = deps.nowMs ?? Date.now;
  const { settings, metrics, logger, router } = deps;
  const gone = new Set<string>();
  const eventFilter = createEventFilter();

  /** Hands the attempt's record to the attempt writer; returns at once, whatever the writer does. */
  function logAttempt(
    job: DeliveryJob,
    attemptedAtMs: number,
    happening: AttemptHappening,
    followUp: AttemptFollowUp,
  ): void {
    const attempts = deps.attempts;
    if (attempts === undefined) return;
    attempts.writer.record(
      buildAttemptRecord({
        delivery: job,
        attemptedAtMs,
        happening,
        followUp,
        responseBodyMaxBytes: attempts.responseBodyMaxBytes,
      }),
    );
  }

  async function park(job: DeliveryJob, reason: ParkReason, signal: AbortSignal): Promise<Resolution> {
    return (await router.park(job, reason, signal)).resolution;
  }

  function count(subscription: Subscription, outcome: DeliveryStepOutcome): void {
    metrics.deliveries.inc({ subscription_id: subscription.id, outcome });
  }

  /**
   * Whether the subscription's payload filter turns the event away: then the delivery is resolved
   * at once, without a lease, a slot or an attempt, and never retried. Evaluated on the events
   * topic and again on a retry tier (the filter may have changed since; a replay goes this way).
   */
  function filteredOut(job: DeliveryJob): boolean {
    if (eventFilter.admits(job.subscription, job.event)) return false;
    count(job.subscription, 'filtered');
    logAttempt(job, nowMs(), { kind: 'filtered' }, 'filtered');
    logger.debug(
      {
        subscriptionId: job.subscription.id,
        eventId: job.event.id,
        attempt: job.attempt,
        replayId: job.event.replayId,
      },
      "filtered out by the subscription's payload filter",
    );
    return true;
  }

  /** One HTTP attempt, inside the subscription's breaker. */
  async function attempt(job: DeliveryJob, signals: DispatchSignals) {
    const { subscription, event } = job;
    return deps.breakers.run<AttemptValue>(subscription.id, async () => {
      const result = await deps.sender.send({
        url: subscription.url,
        timeoutMs: subscription.timeoutMs,
        headers: buildAttemptHeaders({
          eventId: event.id,
          body: event.body,
          subscription,
          nowMs: nowMs(),
          contentType: event.contentType,
          provenance: event.provenance,
        }),
        body: event.body,
        cancelSignal: signals.send,
      });
      return { outcome: classifyOutcome(result, nowMs()), result };
    });
  }

  function recordAttempt(result: AttemptResult, outcome: DeliveryOutcome): void {
    const statusClass = 'error' in result ? 'error' : `${Math.floor(result.status / 100)}xx`;
    metrics.attemptDuration.observe({ status_class: statusClass }, result.durationMs / 1000);
    metrics.attempts.inc({
      result: outcome.kind === 'retry' ? outcome.reason : outcome.kind === 'disable' ? 'gone' : 'delivered',
    });
  }

  /** Claims the (subscription, event) lease, waiting while another attempt holds it. */
  async function claim(job: DeliveryJob, identity: DeliveryIdentity, signals: DispatchSignals) {
    for (;;) {
      const claimed = await deps.dedup.claim(identity);
      if (claimed.kind !== 'busy') return claimed;
      await sleepMs(settings.busyRecheckMs, signals.wait);
      // The subscription may have been disabled or deleted while waiting.
      if (!isLive(job.subscription.id)) return { kind: 'dropped' as const };
    }
  }

  function isLive(subscriptionId: string): boolean {
    return liveness(subscriptionId) === 'live';
  }

  function liveness(subscriptionId: string): 'live' | 'deleted' | 'disabled' {
    const current = deps.view.get(subscriptionId);
    if (current === undefined) return 'deleted';
    return current.enabled && !gone.has(subscriptionId) ? 'live' : 'disabled';
  }

  /**
   * A delivery whose subscription is no longer live: dropped when it was deleted, dead-lettered
   * (`subscription-disabled`) when it is only disabled, so the event stays visible in the log and
   * can be replayed from the dead-letter topic once the subscription is enabled again.
   */
  async function notLive(job: DeliveryJob, signal: AbortSignal): Promise<Resolution> {
    if (liveness(job.subscription.id) === 'deleted') {
      count(job.subscription, 'dropped');
      return 'resolved';
    }
    await router.deadLetter(
      job.source,
      'subscription-disabled',
      {
        subscriptionId: job.subscription.id,
        attempts: job.attempt - 1,
        lastStatus: job.lastStatus,
        lastError: job.lastError,
        origin: job.origin,
      },
      signal,
    );
    count(job.subscription, 'dead-lettered');
    return 'resolved';
  }

  /** This process's turn for the event's key, for `ordering: key` (taken at the call: call in offset order). */
  function takeOrderTurn(
    subscription: Subscription,
    event: DecodedEvent,
    signals: DispatchSignals,
  ): Promise<() => void> | undefined {
    if (subscription.ordering !== 'key') return undefined;
    return deps.sequencer.acquire(`${subscription.id}\u0000${event.key}`, signals.wait);
  }

  function identityOf(job: DeliveryJob): DeliveryIdentity {
    return {
      subscriptionId: job.subscription.id,
      producerId: job.event.producerId,
      eventId: job.event.id,
      replayId: job.event.replayId,
    };
  }

  /**
   * Delivers one event to one subscription: delivered, retried, parked or dead-lettered. With
   * `ordering: key` the caller holds the key's turn in this process (`orderTurn`), and the key's
   * queue in Redis keeps a delivery behind the unresolved ones before it, wherever they are.
   */
  async function deliver(
    job: DeliveryJob,
    signals: DispatchSignals,
    orderTurn: Promise<() => void> | undefined,
  ): Promise<void> {
    const releaseTurn = orderTurn === undefined ? undefined : await orderTurn;
    try {
      if (job.subscription.ordering !== 'key') {
        await deliverToEndpoint(job, signals);
        return;
      }
      const identity = identityOf(job);
      const place = await deps.keyQueue.enter(identity, job.event.key);
      // Counted apart from the dedup claim's own check, which a fail-open delivery still makes.
      if (place === 'unavailable') metrics.keyQueueUnavailable.inc();
      let resolution: Resolution;
      if (place === 'behind') {
        resolution = await park(job, 'key-blocked', signals.wait);
      } else if (place === 'unavailable' && settings.dedupFailureMode === 'closed') {
        resolution = await park(job, 'key-queue-unavailable', signals.wait);
      } else {
        // Unavailable and fail-open: delivered now, so it may overtake an earlier event of its key.
        resolution = await deliverToEndpoint(job, signals);
      }
      // Before the turn is released, so the key's next event in this process finds the queue moved on.
      if (resolution === 'resolved') await deps.keyQueue.leave(identity, job.event.key);
    } finally {
      releaseTurn?.();
    }
  }

  /**
   * Takes the delivery's lease, then one of the subscription's slots (or parks when none comes in
   * time), and makes the attempt. The lease comes first: a slot stands for a request to the
   * endpoint, and holding one through the Redis round trip (or while another worker's lease
   * expires) left part of the endpoint's maxConcurrency unused.
   */
  async function deliverToEndpoint(job: DeliveryJob, signals: DispatchSignals): Promise<Resolution> {
    const { subscription, event } = job;
    if (!isLive(subscription.id)) return notLive(job, signals.wait);
    const identity = identityOf(job);
    const claimed = await claim(job, identity, signals);
    if (claimed.kind === 'dropped') return notLive(job, signals.wait);
    if (claimed.kind === 'done') {
      metrics.dedupHits.inc({ subscription_id: subscription.id });
      count(subscription, 'duplicate');
      logger.info(
        {
          subscriptionId: subscription.id,
          eventId: event.id,
          replayId: event.replayId,
          attempt: job.attempt,
          origin: job.origin,
        },
        'dedup hit: already delivered',
      );
      return 'resolved';
    }
    if (claimed.kind === 'unavailable') {
      metrics.dedupUnavailable.inc();
      if (settings.dedupFailureMode === 'closed') return park(job, 'dedup-unavailable', signals.wait);
    }
    const token = claimed.kind === 'acquired' ? claimed.token : undefined;
    let delivered = false;
    try {
      const limiter = deps.limiters.for(subscription.id, {
        maxConcurrency: subscription.maxConcurrency,
        ratePerSecond: subscription.rateLimitPerSecond,
      });
      const releaseSlot =
        limiter.tryAcquire() ?? (await limiter.acquire(signals.wait, settings.maxSlotWaitMs));
      if (releaseSlot === undefined) return await park(job, 'slot-wait', signals.wait);
      let run: BreakerRun<AttemptValue>;
      const attemptedAtMs = nowMs();
      try {
        run = await attempt(job, signals);
      } finally {
        // The endpoint is done with this request: what follows (the completion marker, a retry
        // record) talks to Redis and Kafka only, and should not hold one of its slots.
        releaseSlot();
      }
      if (run.kind === 'open') {
        // Not an attempt (nothing sent, the attempt number is not spent), but the log shows it.
        const routed = await router.park(job, 'breaker-open', signals.wait);
        logAttempt(job, attemptedAtMs, { kind: 'breaker-open' }, routed);
        // Parked past the maximum age: a dead letter of a failing endpoint, with no attempt of its own.
        if (routed.resolution === 'resolved') {
          deps.health?.failed(subscription, {
            deadLettered: true,
            lastStatus: job.lastStatus,
            lastError: job.lastError,
          });
        }
        return routed.resolution;
      }
      const { outcome, result } = run.value;
      recordAttempt(result, outcome);
      const sent = { kind: 'sent', result } as const;
      if (outcome.kind === 'delivered') {
        delivered = true;
        deps.health?.succeeded(subscription.id);
        logAttempt(job, attemptedAtMs, sent, 'delivered');
        if (!(await deps.dedup.complete(identity))) {
          metrics.dedupMarkerFailures.inc();
          logger.warn(
            { subscriptionId: subscription.id, eventId: event.id, replayId: event.replayId },
            'completion marker not written: this delivery would be sent again if its record is read again',
          );
        }
        count(subscription, 'delivered');
        metrics.endToEnd.observe(Math.max(0, nowMs() - event.eventTimeMs) / 1000);
        return 'resolved';
      }
      if (outcome.kind === 'disable') {
        gone.add(subscription.id);
        logAttempt(job, attemptedAtMs, sent, 'disabled');
        count(subscription, 'disabled');
        logger.warn(
          { subscriptionId: subscription.id, eventId: event.id, status: outcome.status },
          'receiver answered 410 Gone; disabling the subscription',
        );
        await Promise.resolve(deps.onGone(subscription.id)).catch((error: unknown) =>
          logger.error({ err: error, subscriptionId: subscription.id }, 'could not disable the subscription'),
        );
        return 'resolved';
      }
      // Logged once routed: the record says what became of the delivery (retry at T, dead letter).
      // An attempt whose routing is aborted (partition revoked, shutdown) is not logged; the event
      // is read again and the next attempt is.
      const routed = await router.afterFailure(job, outcome, result, signals.wait);
      logAttempt(job, attemptedAtMs, sent, routed);
      deps.health?.failed(subscription, {
        deadLettered: routed.resolution === 'resolved',
        lastStatus: outcome.status,
        lastError: outcome.reason,
      });
      return routed.resolution;
    } finally {
      if (token !== undefined && !delivered) await deps.dedup.release(identity, token);
    }
  }

  return { filteredOut, takeOrderTurn, deliver, gone };
}
