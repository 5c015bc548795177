import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { latencyBucketsSeconds } from '../../common/metrics.js';
import type { BreakerState } from './endpoint-breakers.js';

/** What became of one (event, subscription) step; labels `sluice_deliveries_total`. */
export type DeliveryStepOutcome =
  | 'delivered'
  /** Failed; a retry record is in the next tier. */
  | 'retry-scheduled'
  /** Not attempted (breaker open, Redis down with fail-closed); moved to the next tier, attempt not spent. */
  | 'parked'
  | 'dead-lettered'
  /** 410: the subscription was disabled. */
  | 'disabled'
  /** A completion marker said it was already delivered. */
  | 'duplicate'
  /** The subscription was deleted or disabled meanwhile. */
  | 'dropped'
  /** The subscription's payload filter turned the event away: resolved at once, never retried. */
  | 'filtered';

export interface DeliveryMetrics {
  deliveries: Counter<'subscription_id' | 'outcome'>;
  attempts: Counter<'result'>;
  attemptDuration: Histogram<'status_class'>;
  endToEnd: Histogram;
  retries: Counter<'tier'>;
  parked: Counter<'tier' | 'reason'>;
  deadLetters: Counter<'reason'>;
  breakerState: Gauge<'subscription_id'>;
  dedupHits: Counter<'subscription_id'>;
  dedupUnavailable: Counter;
  dedupMarkerFailures: Counter;
  keyQueueUnavailable: Counter;
  records: Counter<'consumer' | 'result'>;
  consumerLag: Gauge<'topic' | 'partition'>;
  inFlightRecords: Gauge<'consumer'>;
  pausedPartitions: Gauge<'consumer' | 'reason'>;
  partitionPauses: Counter<'consumer' | 'reason'>;
  oldestUndeliveredAge: Gauge<'consumer'>;
  commitFailures: Counter<'consumer'>;
  groupJoins: Counter<'consumer'>;
  setBreakerState(subscriptionId: string, state: BreakerState): void;
}

/** End-to-end latency spans milliseconds (healthy) to a day (the retry schedule). */
const endToEndBucketsSeconds = [...latencyBucketsSeconds, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600];

const breakerStateValue: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export function createDeliveryMetrics(registry: Registry): DeliveryMetrics {
  const registers = [registry];
  const breakerState = new Gauge({
    name: 'sluice_delivery_breaker_state',
    help: 'Circuit breaker per subscription: 0 closed, 1 half-open, 2 open.',
    labelNames: ['subscription_id'],
    registers,
  });
  return {
    deliveries: new Counter({
      name: 'sluice_deliveries_total',
      help: 'Delivery steps of one event to one subscription, by outcome (delivered, retry-scheduled, parked, dead-lettered, disabled, duplicate, dropped, filtered).',
      labelNames: ['subscription_id', 'outcome'],
      registers,
    }),
    attempts: new Counter({
      name: 'sluice_delivery_attempts_total',
      help: 'HTTP attempts made, by result (delivered, gone, or the retry reason: server-error, timeout, connect…).',
      labelNames: ['result'],
      registers,
    }),
    attemptDuration: new Histogram({
      name: 'sluice_delivery_attempt_duration_seconds',
      help: 'Duration of one HTTP attempt, by status class (2xx, 3xx, 4xx, 5xx, error).',
      labelNames: ['status_class'],
      buckets: latencyBucketsSeconds,
      registers,
    }),
    endToEnd: new Histogram({
      name: 'sluice_delivery_end_to_end_seconds',
      help: 'From the event time (ce_time) to the 2xx answer of its webhook.',
      buckets: endToEndBucketsSeconds,
      registers,
    }),
    retries: new Counter({
      name: 'sluice_delivery_retries_total',
      help: 'Failed attempts written to a retry tier, by tier.',
      labelNames: ['tier'],
      registers,
    }),
    parked: new Counter({
      name: 'sluice_delivery_parked_total',
      help: 'Deliveries moved to a retry tier without an attempt, by tier and reason (breaker-open, dedup-unavailable, key-queue-unavailable, slot-wait, key-blocked).',
      labelNames: ['tier', 'reason'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'sluice_dead_letters_total',
      help: 'Records written to the dead-letter topic, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    breakerState,
    dedupHits: new Counter({
      name: 'sluice_dedup_hits_total',
      help: 'Deliveries not sent because a completion marker showed an earlier 2xx, by subscription.',
      labelNames: ['subscription_id'],
      registers,
    }),
    dedupUnavailable: new Counter({
      name: 'sluice_dedup_unavailable_total',
      help: 'Deliveries whose deduplication check Redis could not answer (sent anyway when fail-open).',
      registers,
    }),
    dedupMarkerFailures: new Counter({
      name: 'sluice_dedup_marker_failures_total',
      help: 'Delivered webhooks whose completion marker Redis did not take: reading them again would send them again.',
      registers,
    }),
    keyQueueUnavailable: new Counter({
      name: 'sluice_delivery_key_queue_unavailable_total',
      help: 'Deliveries of ordering: key subscriptions whose key queue Redis could not answer (sent anyway, maybe out of order, when fail-open).',
      registers,
    }),
    records: new Counter({
      name: 'sluice_delivery_records_total',
      help: 'Records consumed, by consumer (events, retry) and result (matched, unmatched, poison, held).',
      labelNames: ['consumer', 'result'],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'sluice_delivery_consumer_lag_records',
      help: 'Per partition owned here: records between the committable offset and the high watermark.',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    inFlightRecords: new Gauge({
      name: 'sluice_delivery_in_flight_records',
      help: 'Records dispatched whose deliveries are not all resolved yet.',
      labelNames: ['consumer'],
      registers,
    }),
    pausedPartitions: new Gauge({
      name: 'sluice_delivery_paused_partitions',
      help: 'Partitions paused, by reason (backpressure, or held until a retry record is due).',
      labelNames: ['consumer', 'reason'],
      registers,
    }),
    partitionPauses: new Counter({
      name: 'sluice_delivery_partition_pauses_total',
      help: 'Times a partition was paused, by reason (backpressure, hold until a retry record is due).',
      labelNames: ['consumer', 'reason'],
      registers,
    }),
    oldestUndeliveredAge: new Gauge({
      name: 'sluice_delivery_oldest_undelivered_age_seconds',
      help: 'Age (from its event time) of the oldest record whose deliveries are not all resolved.',
      labelNames: ['consumer'],
      registers,
    }),
    commitFailures: new Counter({
      name: 'sluice_delivery_commit_failures_total',
      help: 'Offset commits that failed (retried at the next interval).',
      labelNames: ['consumer'],
      registers,
    }),
    groupJoins: new Counter({
      name: 'sluice_delivery_group_joins_total',
      help: 'Consumer group (re)joins, by consumer: each one follows a rebalance or a restart.',
      labelNames: ['consumer'],
      registers,
    }),
    setBreakerState(subscriptionId, state) {
      breakerState.set({ subscription_id: subscriptionId }, breakerStateValue[state]);
    },
  };
}
