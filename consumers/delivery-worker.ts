import { createFailFastRedis } from '../common/fail-fast-redis.js';
import { startAdminServer } from '../common/admin-server.js';
import {
  createKafkaClient,
  type KafkaClient,
  KeyPartitioner,
  StickyPartitioner,
} from '../common/kafka/index.js';
import { SluiceError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { createMetricsRegistry } from '../common/metrics.js';
import { retryTopicName } from '../common/retry/retry-schedule.js';
import { createSsrfPolicy, type ResolveAll } from '../common/ssrf-guard.js';
import type { DisableDetails } from '../common/subscriptions/subscription-rules.js';
import type { Subscription, SubscriptionView } from '../common/subscriptions/subscription.js';
import type { SchemaCatalog } from '../schemas/index.js';
import { createSchemaRegistry } from '../schemas/registry/create-schema-registry.js';
import { createRegistryMetrics } from '../schemas/registry/registry-metrics.js';
import type { DeliveryConfig } from './delivery-config.js';
import { createDedupStore } from './delivery/dedup-store.js';
import { DeliveryLimiters } from './delivery/delivery-limiter.js';
import { createDeliveryMetrics } from './delivery/delivery-metrics.js';
import { retryDueAtMs } from '../common/retry/retry-records.js';
import { createDeliveryService } from './delivery/delivery-service.js';
import { createRetryRouter } from './delivery/retry-router.js';
import { createSubscriptionHealth } from './subscription-health.js';
import { createAttemptWriter, createAttemptWriterMetrics } from './delivery/attempt-writer.js';
import { createEndpointBreakers } from './delivery/endpoint-breakers.js';
import { createKeyQueue } from './delivery/key-queue.js';
import { KeySequencer } from './delivery/key-sequencer.js';
import { createRetryWriter } from './delivery/retry-writer.js';
import {
  createTrackedConsumer,
  type InFlightBudget,
  type TrackedConsumer,
} from './delivery/tracked-consumer.js';
import { createWebhookSender } from './delivery/webhook-sender.js';

export interface DeliveryWorkerDeps {
  /** The subscriptions, kept current (the Kafka-backed store in production, an in-memory view in tests). */
  subscriptions: SubscriptionView;
  /** Whether the subscriptions view is usable (caught up); part of readiness. */
  subscriptionsReady?: () => boolean;
  /**
   * Disables a subscription (the store's write API): on a 410 (`gone`) and when its endpoint failed
   * for too long (`failing`). Returns it as stored and whether this call changed it (only a change
   * publishes `sluice.subscription.disabled`). Absent (tests on an in-memory view): `onGone` is
   * called on a 410 and auto-disable only logs.
   */
  disable?: (
    subscriptionId: string,
    reason: 'gone' | 'failing',
    details: DisableDetails,
  ) => Promise<{ subscription: Subscription; changed: boolean } | undefined>;
  /** A receiver answered 410, when `disable` is not given. */
  onGone?: (subscriptionId: string) => Promise<void> | void;
  /** A consumer crashed for good: the caller exits the process non-zero so it is restarted. */
  onFatal: (error: Error) => void;
  catalog?: SchemaCatalog;
  /** Replaces DNS behind the SSRF guard (tests). */
  resolveAll?: ResolveAll;
  /** Shares a Kafka client (tests); by default one is created from the config. */
  kafka?: KafkaClient;
}

export interface RunningDeliveryWorker {
  adminPort: number;
  ready(): boolean;
  /** Graceful stop: stop fetching, finish in-flight deliveries within the grace period, commit, disconnect. */
  shutdown(): Promise<void>;
}

/**
 * Builds and starts the delivery worker (docs/architecture.md#delivery-from-record-to-outcome): the
 * one place that wires its parts together.
 */
export async function startDeliveryWorker(
  config: DeliveryConfig,
  logger: Logger,
  deps: DeliveryWorkerDeps,
): Promise<RunningDeliveryWorker> {
  const kafkaClient = deps.kafka ?? createKafkaClient(config.kafka, logger);
  await requireTopics(kafkaClient, config);
  const registry = createMetricsRegistry('delivery');
  const metrics = createDeliveryMetrics(registry);
  const kafka = kafkaClient;
  // Event types are data: read the registry to its end, then follow it (new types show in seconds).
  const schemaRegistry = createSchemaRegistry({
    kafka,
    settings: config.schemaRegistry,
    topic: config.topics.schemasTopic,
    metrics: createRegistryMetrics(registry),
    logger,
  });
  await schemaRegistry.start();
  const catalog = deps.catalog ?? schemaRegistry.state;

  // Not idempotent: kafkajs then allows several requests in flight and gives up after a few
  // retries, and a duplicate retry record is harmless (deduplication stops a second success).
  const producer = kafka.producer({
    createPartitioner: KeyPartitioner,
    retry: { retries: 3 },
  });
  await producer.connect();
  let producerConnected = true;
  producer.on(producer.events.DISCONNECT, () => (producerConnected = false));
  producer.on(producer.events.CONNECT, () => (producerConnected = true));

  // The attempt records' own producer: a slow attempts topic never queues ahead of a retry record.
  const attemptsProducer = config.attempts.enabled
    ? kafka.producer({ createPartitioner: StickyPartitioner, retry: { retries: 3 } })
    : undefined;
  await attemptsProducer?.connect();
  if (!attemptsProducer) logger.warn('SLUICE_ATTEMPT_RECORDS is off: no attempt reaches the delivery log');
  const attemptWriter =
    attemptsProducer &&
    createAttemptWriter({
      producer: attemptsProducer,
      topic: config.topics.attemptsTopic,
      maxPendingRecords: config.attempts.maxPendingRecords,
      timeoutMs: config.produceTimeoutMs,
      metrics: createAttemptWriterMetrics(registry),
      logger,
    });

  const redis = createFailFastRedis(config.redisUrl, config.redisCommandTimeoutMs);
  let lastRedisErrorLogMs = 0;
  redis.on('error', (error) => {
    if (Date.now() - lastRedisErrorLogMs > 10_000) {
      lastRedisErrorLogMs = Date.now();
      logger.warn(
        { err: error, failureMode: config.dedup.failureMode },
        'Redis unavailable: deduplication falls back to its failure mode',
      );
    }
  });
  await redis
    .connect()
    .catch((error: unknown) => logger.warn({ err: error }, 'Redis unreachable at start-up'));

  const sender = createWebhookSender({
    attemptTimeoutMs: config.attemptTimeoutMs,
    maxResponseBodyBytes: config.maxResponseBodyBytes,
    ...(attemptWriter ? { responseSampleBytes: config.attempts.responseBodyMaxBytes } : {}),
    connectionsPerOrigin: config.connectionsPerOrigin,
    ssrfPolicy: createSsrfPolicy({ allowedCidrs: config.ssrfAllowedCidrs }),
    ...(deps.resolveAll ? { resolveAll: deps.resolveAll } : {}),
  });
  const writer = createRetryWriter({ producer, timeoutMs: config.produceTimeoutMs, logger });
  // Endpoint health: the failure streaks, auto-disable, breaker watch and operational events.
  const health = createSubscriptionHealth({
    config,
    redis,
    registry,
    schemaRegistry,
    writer,
    subscriptions: deps.subscriptions,
    disable: deps.disable,
    onGone: deps.onGone,
    logger,
  });
  const breakers = createEndpointBreakers(config.breaker, (subscriptionId, state) => {
    metrics.setBreakerState(subscriptionId, state);
    const log = state === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log({ subscriptionId, state }, `circuit breaker ${state}`);
    health.breakerStateChanged(subscriptionId, state);
  });

  const service = createDeliveryService({
    view: deps.subscriptions,
    catalog,
    resolveSchemaId: (id) => schemaRegistry.resolveId(id),
    sender,
    dedup: createDedupStore({
      redis,
      keyPrefix: config.dedup.keyPrefix,
      leaseMs: config.dedup.leaseMs,
      markerTtlMs: config.dedup.markerTtlMs,
    }),
    breakers,
    limiters: new DeliveryLimiters(),
    sequencer: new KeySequencer(),
    keyQueue: createKeyQueue({
      redis,
      keyPrefix: config.dedup.keyPrefix,
      // Attempts of one delivery are at most a tier's delay apart, doubled by a Retry-After, plus
      // the wait behind due records of the same tier partition; parked ones expire after the max age.
      headTimeoutMs: Math.max(config.maxDeliveryAgeMs, 3 * Math.max(...config.retryDelaysMs)),
    }),
    router: createRetryRouter({
      settings: {
        retryDelaysMs: config.retryDelaysMs,
        retryTopicPrefix: config.topics.retryTopicPrefix,
        dlqTopic: config.topics.dlqTopic,
        maxDeliveryAgeMs: config.maxDeliveryAgeMs,
      },
      writer,
      metrics,
      logger,
      nowMs: Date.now,
      random: Math.random,
    }),
    ...(attemptWriter
      ? { attempts: { writer: attemptWriter, responseBodyMaxBytes: config.attempts.responseBodyMaxBytes } }
      : {}),
    metrics,
    logger,
    onGone: health.onGone,
    health: health.tracker,
    settings: {
      dedupFailureMode: config.dedup.failureMode,
      maxSlotWaitMs: config.maxSlotWaitMs,
      busyRecheckMs: Math.min(1000, Math.ceil(config.dedup.leaseMs / 10)),
    },
  });

  const budget: InFlightBudget = { inFlight: 0, max: config.maxInFlightTotal };
  const consumerSettings = {
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: config.heartbeatIntervalMs,
    rebalanceTimeout: Math.max(config.sessionTimeoutMs, 60_000),
    // kafkajs also sleeps this long, without fetching, whenever every partition it holds is paused,
    // and a resume does not wake it. The backpressure pause of a busy worker hits exactly that: at
    // 500 ms the in-flight records ran dry in the sleep and a drain stalled every half second (6.8k
    // webhooks/s on the benchmark, 7.7–8k at 100 ms). The broker still answers a fetch as soon as a
    // record arrives, so this costs latency nothing; an idle consumer fetches 10 times a second.
    maxWaitTimeInMs: 100,
  };
  const common = {
    maxInFlightPerPartition: config.maxInFlightPerPartition,
    budget,
    commitIntervalMs: config.commitIntervalMs,
    heartbeatEveryMs: config.heartbeatIntervalMs,
    onFatal: deps.onFatal,
    metrics,
    logger,
  };
  const consumers: TrackedConsumer[] = [];
  if (config.roles.includes('events')) {
    consumers.push(
      createTrackedConsumer({
        ...common,
        name: 'events',
        consumer: kafka.consumer({ groupId: config.groupId, ...consumerSettings }),
        topics: [config.topics.eventsTopic],
        handle: (record, signals) => service.handleEventRecord(record, signals),
      }),
    );
  }
  if (config.roles.includes('retry')) {
    const tierTopics = [
      ...new Set(
        config.retryDelaysMs.map((delayMs) => retryTopicName(config.topics.retryTopicPrefix, delayMs)),
      ),
    ];
    consumers.push(
      createTrackedConsumer({
        ...common,
        name: 'retry',
        consumer: kafka.consumer({ groupId: config.retryGroupId, ...consumerSettings }),
        topics: tierTopics,
        dueAtMs: retryDueAtMs,
        handle: (record, signals) => service.handleRetryRecord(record, signals),
      }),
    );
  }
  for (const consumer of consumers) await consumer.start();

  const pruneTimer = setInterval(() => {
    const keep = (id: string) => {
      const kept = deps.subscriptions.get(id) !== undefined;
      if (!kept) health.forget(id);
      return kept;
    };
    breakers.prune(keep);
    health.tracker.prune(keep);
  }, 60_000);
  pruneTimer.unref();

  let stopping = false;
  const ready = () =>
    !stopping &&
    producerConnected &&
    schemaRegistry.isCaughtUp() &&
    consumers.every((consumer) => consumer.ready()) &&
    (deps.subscriptionsReady?.() ?? true);
  const admin = await startAdminServer({
    host: config.host,
    port: config.adminPort,
    registry,
    isReady: () => {
      const reasons: string[] = [];
      if (stopping) reasons.push('shutting down');
      if (!producerConnected) reasons.push('Kafka producer disconnected');
      if (!consumers.every((consumer) => consumer.ready()))
        reasons.push('not a member of its consumer groups');
      if (!(deps.subscriptionsReady?.() ?? true)) reasons.push('subscriptions not loaded');
      if (!schemaRegistry.isCaughtUp()) reasons.push('schema registry not loaded');
      if (config.dedup.failureMode === 'closed' && redis.status !== 'ready')
        reasons.push('Redis unavailable');
      return { ready: reasons.length === 0, reasons };
    },
  });
  logger.info(
    {
      adminPort: admin.port,
      roles: config.roles,
      groupId: config.groupId,
      eventsTopic: config.topics.eventsTopic,
      retryDelaysMs: config.retryDelaysMs,
    },
    'delivery worker running',
  );

  return {
    adminPort: admin.port,
    ready,
    async shutdown() {
      if (stopping) return;
      stopping = true;
      logger.info({ graceMs: config.shutdownGraceMs }, 'delivery worker stopping');
      await Promise.all(consumers.map((consumer) => consumer.stop(config.shutdownGraceMs)));
      clearInterval(pruneTimer);
      await health.shutdown();
      await writer.close();
      await producer.disconnect();
      await attemptWriter?.close();
      await attemptsProducer?.disconnect();
      await schemaRegistry.stop();
      breakers.shutdown();
      await sender.close();
      redis.disconnect();
      await admin.close();
      logger.info('delivery worker stopped');
    },
  };
}

/** Fails start-up with one clear message when topics are missing, rather than a kafkajs metadata error. */
async function requireTopics(kafka: KafkaClient, config: DeliveryConfig): Promise<void> {
  const needed = [
    config.topics.eventsTopic,
    config.topics.dlqTopic,
    ...(config.attempts.enabled ? [config.topics.attemptsTopic] : []),
    ...(config.schemaRegistry.url === undefined ? [config.topics.schemasTopic] : []),
    ...config.retryDelaysMs.map((delayMs) => retryTopicName(config.topics.retryTopicPrefix, delayMs)),
  ];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(needed)].filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `topics missing: ${missing.join(', ')}; create them with \`sluice topics ensure\` (same SLUICE_RETRY_SCHEDULE)`,
        { details: { missing } },
      );
    }
  } finally {
    await admin.disconnect();
  }
}
