import { EnvReader, type Env } from '../common/config.js';
import {
  readSchemaRegistrySettings,
  type SchemaRegistrySettings,
} from '../schemas/registry/registry-settings.js';
import {
  readKafkaSettings,
  readTopicSettings,
  type KafkaSettings,
  type TopicSettings,
} from '../common/kafka/index.js';
import { readDeliveryBounds } from '../common/retry/delivery-bounds.js';
import { readSsrfPolicy } from '../common/ssrf-guard.js';
import { readAttemptRecordSettings, type AttemptRecordSettings } from '../common/attempts/attempt-record.js';

/** What one `sluice deliver` process runs: the events consumer, the retry-tier consumer, or both. */
export type DeliveryRole = 'events' | 'retry';
export const deliveryRoles: readonly DeliveryRole[] = ['events', 'retry'];

/** What happens to a delivery when Redis (deduplication) does not answer. */
export type DedupFailureMode = 'open' | 'closed';

export interface DedupConfig {
  /** `SLUICE_DEDUP_FAILURE_MODE`: `open` (default: deliver, count the risk of a duplicate) or `closed` (park the delivery in the next retry tier, attempt not spent). */
  readonly failureMode: DedupFailureMode;
  /** `SLUICE_DEDUP_LEASE_MS`, default 60 s: the in-flight lease; must exceed the attempt timeout. */
  readonly leaseMs: number;
  /** `SLUICE_DEDUP_TTL_MS`, default 8 d: life of a completion marker; at least the events topic's retention. */
  readonly markerTtlMs: number;
  /** `SLUICE_DEDUP_KEY_PREFIX`, default `sluice:dedup:`. */
  readonly keyPrefix: string;
}

export interface BreakerConfig {
  /** `SLUICE_BREAKER_ERROR_PERCENT`, default 50: failure rate (%) in the window that opens the breaker. */
  readonly errorThresholdPercentage: number;
  /** `SLUICE_BREAKER_MIN_ATTEMPTS`, default 10: attempts in the window before the rate is judged. */
  readonly volumeThreshold: number;
  /** `SLUICE_BREAKER_WINDOW_MS`, default 30 s: the rolling window. */
  readonly rollingWindowMs: number;
  /** `SLUICE_BREAKER_RESET_MS`, default 30 s: how long it stays open before a half-open probe. */
  readonly resetTimeoutMs: number;
  /**
   * `SLUICE_BREAKER_OPEN_EVENT_AFTER_MS`, default 5 min: a worker's breaker open this long publishes
   * `sluice.subscription.unhealthy` (and `recovered` once it closes); 0 = never.
   */
  readonly openEventAfterMs: number;
}

export interface HealthConfig {
  /**
   * `SLUICE_AUTO_DISABLE_AFTER_MS`, default 5 d: a subscription whose every attempt failed for this
   * long (across all workers) is disabled with reason `failing`; 0 = never.
   */
  readonly autoDisableAfterMs: number;
  /** `SLUICE_AUTO_DISABLE_AFTER_DEAD_LETTERS`, default 0 (off): this many dead letters in a row disable it too. */
  readonly autoDisableAfterDeadLetters: number;
  /** `SLUICE_HEALTH_KEY_PREFIX`, default `sluice:health:`: the Redis hash of each subscription's failure streak. */
  readonly keyPrefix: string;
}

/** Everything `sluice deliver` reads from its environment, fully defaulted, in ms and bytes. */
export interface DeliveryConfig {
  /** `SLUICE_HOST`, default `0.0.0.0`: where the admin server listens. */
  readonly host: string;
  /** `SLUICE_ADMIN_PORT`, default 8082: /metrics, /healthz, /readyz. */
  readonly adminPort: number;
  /** `SLUICE_DELIVERY_ROLES`, default `events,retry`. */
  readonly roles: readonly DeliveryRole[];
  /** `SLUICE_DELIVERY_GROUP_ID`, default `sluice-delivery`: consumer group of the events topic. */
  readonly groupId: string;
  /** `SLUICE_RETRY_GROUP_ID`, default `<groupId>-retry`: consumer group of the retry tiers. */
  readonly retryGroupId: string;
  /** `SLUICE_DELIVERY_MAX_IN_FLIGHT_PER_PARTITION`, default 500 records: above it the partition is paused. */
  readonly maxInFlightPerPartition: number;
  /** `SLUICE_DELIVERY_MAX_IN_FLIGHT`, default 5000 records: the same bound over the whole process. */
  readonly maxInFlightTotal: number;
  /**
   * `SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS`, default 15 s: connect, headers and body of one attempt;
   * a subscription's own `timeoutMs` may only shorten it.
   */
  readonly attemptTimeoutMs: number;
  /**
   * `SLUICE_DELIVERY_MAX_SLOT_WAIT_MS`, default 2 s: a delivery waiting longer for a slot of its
   * subscription (maxConcurrency, rate limit) is parked in the next retry tier without an attempt.
   */
  readonly maxSlotWaitMs: number;
  /** `SLUICE_DELIVERY_MAX_RESPONSE_BYTES`, default 64 KiB: response body read before dropping the connection. */
  readonly maxResponseBodyBytes: number;
  /** `SLUICE_DELIVERY_CONNECTIONS_PER_ORIGIN`, default 64: pooled sockets per receiver origin. */
  readonly connectionsPerOrigin: number;
  /**
   * `SLUICE_RETRY_SCHEDULE`, default `5s,30s,2m,10m,30m,1h,3h,6h,12h`: one delay per retry tier; a
   * subscription's own `retry` picks among these tiers.
   */
  readonly retryDelaysMs: readonly number[];
  /**
   * `SLUICE_DELIVERY_MAX_AGE_MS`, default 48 h: a delivery parked (breaker open, Redis down) for
   * longer than this since its first attempt is dead-lettered with reason `expired`.
   */
  readonly maxDeliveryAgeMs: number;
  /** `SLUICE_SSRF_ALLOWED_CIDRS`, default none: CIDRs webhooks may reach although the SSRF policy refuses them. */
  readonly ssrfAllowedCidrs: readonly string[];
  /** `SLUICE_DELIVERY_COMMIT_INTERVAL_MS`, default 1 s: how often resolved offsets are committed. */
  readonly commitIntervalMs: number;
  /** `SLUICE_KAFKA_SESSION_TIMEOUT_MS`, default 30 s. */
  readonly sessionTimeoutMs: number;
  /** `SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS`, default 3 s. */
  readonly heartbeatIntervalMs: number;
  /** `SLUICE_RETRY_WRITE_TIMEOUT_MS`, default 10 s: deadline of one write to a retry tier or the DLQ. */
  readonly produceTimeoutMs: number;
  /** `SLUICE_SHUTDOWN_GRACE_MS`, default 30 s: how long in-flight deliveries may finish on SIGTERM. */
  readonly shutdownGraceMs: number;
  /** `SLUICE_REDIS_URL` / `REDIS_URL`, default `redis://127.0.0.1:6379`. */
  readonly redisUrl: string;
  /** `SLUICE_REDIS_TIMEOUT_MS`, default 250 ms: a Redis call slower than this counts as Redis unavailable. */
  readonly redisCommandTimeoutMs: number;
  readonly dedup: DedupConfig;
  readonly breaker: BreakerConfig;
  readonly health: HealthConfig;
  /** Attempt records (the delivery log): body sample size, pending bound. */
  readonly attempts: AttemptRecordSettings;
  readonly kafka: KafkaSettings;
  readonly topics: TopicSettings;
  readonly schemaRegistry: SchemaRegistrySettings;
}

const dayMs = 86_400_000;

export function loadDeliveryConfig(env: Env): Readonly<DeliveryConfig> {
  const reader = new EnvReader(env);
  // Read as the gateway reads them, which refuses a subscription's own schedule or timeout outside them.
  const bounds = readDeliveryBounds(reader);
  const roleNames = reader.list('SLUICE_DELIVERY_ROLES', deliveryRoles);
  const roles = roleNames.filter((role): role is DeliveryRole =>
    (deliveryRoles as readonly string[]).includes(role),
  );
  if (roles.length !== roleNames.length || roles.length === 0) {
    reader.problem(
      `SLUICE_DELIVERY_ROLES must list one or more of ${deliveryRoles.join(', ')}, got ${roleNames.join(',')}`,
    );
  }
  // Read as the gateway reads it, so both processes accept and refuse the same lists.
  const ssrfAllowedCidrs = readSsrfPolicy(reader).allowedCidrs;
  const groupId = reader.string('SLUICE_DELIVERY_GROUP_ID', 'sluice-delivery');
  const topics = readTopicSettings(reader);
  const config: DeliveryConfig = {
    host: reader.string('SLUICE_HOST', '0.0.0.0'),
    adminPort: reader.integer('SLUICE_ADMIN_PORT', 8082, { min: 0, max: 65535 }),
    roles: [...new Set(roles)],
    groupId,
    retryGroupId: reader.string('SLUICE_RETRY_GROUP_ID', `${groupId}-retry`),
    maxInFlightPerPartition: reader.integer('SLUICE_DELIVERY_MAX_IN_FLIGHT_PER_PARTITION', 500, {
      min: 1,
      max: 100_000,
    }),
    maxInFlightTotal: reader.integer('SLUICE_DELIVERY_MAX_IN_FLIGHT', 5000, { min: 1, max: 1_000_000 }),
    attemptTimeoutMs: bounds.attemptTimeoutMs,
    maxSlotWaitMs: reader.durationMs('SLUICE_DELIVERY_MAX_SLOT_WAIT_MS', 2000, { min: 10 }),
    maxResponseBodyBytes: reader.bytes('SLUICE_DELIVERY_MAX_RESPONSE_BYTES', 64 * 1024, { min: 0 }),
    connectionsPerOrigin: reader.integer('SLUICE_DELIVERY_CONNECTIONS_PER_ORIGIN', 64, {
      min: 1,
      max: 10_000,
    }),
    retryDelaysMs: bounds.retryDelaysMs,
    maxDeliveryAgeMs: reader.durationMs('SLUICE_DELIVERY_MAX_AGE_MS', 2 * dayMs, { min: 1000 }),
    ssrfAllowedCidrs,
    commitIntervalMs: reader.durationMs('SLUICE_DELIVERY_COMMIT_INTERVAL_MS', 1000, {
      min: 10,
      max: 60_000,
    }),
    sessionTimeoutMs: reader.durationMs('SLUICE_KAFKA_SESSION_TIMEOUT_MS', 30_000, { min: 6000 }),
    heartbeatIntervalMs: reader.durationMs('SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS', 3000, { min: 100 }),
    produceTimeoutMs: reader.durationMs('SLUICE_RETRY_WRITE_TIMEOUT_MS', 10_000, { min: 100 }),
    shutdownGraceMs: reader.durationMs('SLUICE_SHUTDOWN_GRACE_MS', 30_000, { min: 0 }),
    redisUrl: reader.string(['SLUICE_REDIS_URL', 'REDIS_URL'], 'redis://127.0.0.1:6379'),
    redisCommandTimeoutMs: reader.durationMs('SLUICE_REDIS_TIMEOUT_MS', 250, { min: 1 }),
    dedup: {
      failureMode: reader.oneOf('SLUICE_DEDUP_FAILURE_MODE', ['open', 'closed'] as const, 'open'),
      leaseMs: reader.durationMs('SLUICE_DEDUP_LEASE_MS', 60_000, { min: 1000 }),
      markerTtlMs: reader.durationMs('SLUICE_DEDUP_TTL_MS', 8 * dayMs, { min: 60_000 }),
      keyPrefix: reader.string('SLUICE_DEDUP_KEY_PREFIX', 'sluice:dedup:'),
    },
    breaker: {
      errorThresholdPercentage: reader.number('SLUICE_BREAKER_ERROR_PERCENT', 50, { min: 1, max: 100 }),
      volumeThreshold: reader.integer('SLUICE_BREAKER_MIN_ATTEMPTS', 10, { min: 1 }),
      rollingWindowMs: reader.durationMs('SLUICE_BREAKER_WINDOW_MS', 30_000, { min: 1000 }),
      resetTimeoutMs: reader.durationMs('SLUICE_BREAKER_RESET_MS', 30_000, { min: 100 }),
      openEventAfterMs: reader.durationMs('SLUICE_BREAKER_OPEN_EVENT_AFTER_MS', 5 * 60_000, { min: 0 }),
    },
    health: {
      autoDisableAfterMs: reader.durationMs('SLUICE_AUTO_DISABLE_AFTER_MS', 5 * dayMs, { min: 0 }),
      autoDisableAfterDeadLetters: reader.integer('SLUICE_AUTO_DISABLE_AFTER_DEAD_LETTERS', 0, { min: 0 }),
      keyPrefix: reader.string('SLUICE_HEALTH_KEY_PREFIX', 'sluice:health:'),
    },
    attempts: readAttemptRecordSettings(reader),
    kafka: readKafkaSettings(reader, 'sluice-delivery'),
    topics,
    schemaRegistry: readSchemaRegistrySettings(reader),
  };
  crossCheck(reader, config);
  return reader.finish(config);
}

function crossCheck(reader: EnvReader, config: DeliveryConfig): void {
  if (config.dedup.leaseMs <= config.attemptTimeoutMs) {
    reader.problem(
      `SLUICE_DEDUP_LEASE_MS (${config.dedup.leaseMs}) must exceed SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS (${config.attemptTimeoutMs}), or a slow attempt loses its lease and a duplicate can start`,
    );
  }
  // A record redelivered after the marker expired would be delivered twice.
  if (config.dedup.markerTtlMs < config.topics.eventsRetentionMs) {
    reader.problem(
      `SLUICE_DEDUP_TTL_MS (${config.dedup.markerTtlMs}) must be at least SLUICE_EVENTS_RETENTION_MS (${config.topics.eventsRetentionMs})`,
    );
  }
  if (config.heartbeatIntervalMs * 3 > config.sessionTimeoutMs) {
    reader.problem(
      `SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS (${config.heartbeatIntervalMs}) must be at most a third of SLUICE_KAFKA_SESSION_TIMEOUT_MS (${config.sessionTimeoutMs})`,
    );
  }
  if (config.maxInFlightPerPartition > config.maxInFlightTotal) {
    reader.problem(
      `SLUICE_DELIVERY_MAX_IN_FLIGHT_PER_PARTITION (${config.maxInFlightPerPartition}) cannot exceed SLUICE_DELIVERY_MAX_IN_FLIGHT (${config.maxInFlightTotal})`,
    );
  }
}
