import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../common/errors.js';
import { createFailFastRedis } from '../common/fail-fast-redis.js';
import { startAdminServer } from '../common/admin-server.js';
import { createKafkaClient, planTopics } from '../common/kafka/index.js';
import type { Logger } from '../common/logger.js';
import { createMetricsRegistry } from '../common/metrics.js';
import {
  createSubscriptionEventMetrics,
  createSubscriptionEventPublisher,
} from '../common/ops-events/subscription-event-publisher.js';
import { createSubscriptionStore } from '../common/subscriptions/subscription-store.js';
import { createEventEncoder } from '../schemas/index.js';
import { createFilterFieldTypes } from '../schemas/avro-field-path.js';
import { createSchemaRegistry } from '../schemas/registry/create-schema-registry.js';
import { createRegistryMetrics } from '../schemas/registry/registry-metrics.js';
import { createAdmission } from './admission/admission.js';
import { createAdmissionMetrics } from './admission/admission-metrics.js';
import { createLoadShedder } from './admission/load-shedder.js';
import { createRateLimiterFromConfig } from './admission/rate-limiter.js';
import { createRuntimeSignals } from './admission/runtime-signals.js';
import { loadApiKeyStore } from './auth/api-key-store.js';
import type { GatewayConfig } from './gateway-config.js';
import { createGatewayMetrics } from './gateway-metrics.js';
import { createGatewayRouter } from './gateway-routes.js';
import { startHttpServer } from './http/http-server.js';
import { createSubscriptionReplayer } from './replay/subscription-replayer.js';
import { createDeliveryLog, createDisabledLog } from './delivery-log/delivery-log.js';
import { createLogResender } from './delivery-log/log-resender.js';
import { createIdempotencyStore } from './ingest/idempotency-store.js';
import { createInboundMetrics } from './inbound/inbound-metrics.js';
import { inboundWebhookSubject, inboundWebhookType } from './inbound/inbound-record.js';
import { sourceBodyLimit } from './sources/source-input.js';
import { createSourceStore } from './sources/source-store.js';
import { startEventProducers } from './publish/event-producers.js';
import { createEventPublisher } from './publish/event-publisher.js';
import { createPublisherMetrics } from './publish/publisher-metrics.js';

export interface RunningGateway {
  port: number;
  adminPort: number;
  /** Graceful stop: not ready, refuse new requests, finish in-flight ones, flush, disconnect. */
  shutdown(): Promise<void>;
}

/** Builds and starts the gateway: the one place that wires its parts together. */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  const registry = createMetricsRegistry('gateway');
  const apiKeys = await loadApiKeyStore(config.apiKeysFile);
  logger.info({ keys: apiKeys.size }, 'loaded API keys');

  const kafka = createKafkaClient(config.kafka, logger);
  const registryMetrics = createRegistryMetrics(registry);
  // Read to the end of the registry topic before listening: event types are data (created when missing).
  const schemaRegistry = createSchemaRegistry({
    kafka,
    settings: config.schemaRegistry,
    topic: config.topics.schemasTopic,
    createTopic: planTopics(config.topics, []).find((t) => t.name === config.topics.schemasTopic),
    metrics: registryMetrics,
    logger,
  });
  await schemaRegistry.start();
  const catalog = schemaRegistry.state;
  logger.info({ eventTypes: catalog.types().length }, 'loaded event types');
  // Read to the end of the compacted topic before listening; created (compacted) when missing.
  const subscriptions = createSubscriptionStore({
    kafka,
    topic: config.topics.subscriptionsTopic,
    createTopic: planTopics(config.topics, []).find((t) => t.name === config.topics.subscriptionsTopic),
    keyring: config.secretsKeyring,
    ssrfPolicy: config.ssrfPolicy,
    inputRules: { deliveryBounds: config.deliveryBounds, filterFields: createFilterFieldTypes(catalog) },
    logger,
  });
  await subscriptions.start();
  const sources = createSourceStore({
    kafka,
    topic: config.topics.sourcesTopic,
    createTopic: planTopics(config.topics, []).find((t) => t.name === config.topics.sourcesTopic),
    keyring: config.secretsKeyring,
    logger,
  });
  await sources.start();
  // Sluice's own record type for inbound webhooks, registered on first need (inbound-record.ts).
  const registeredInboundType = inboundWebhookType(schemaRegistry);
  const inboundType = {
    // A registry that cannot take the write is an unavailable dependency (503), not a fault.
    ensure: () =>
      registeredInboundType.ensure().catch((cause: unknown) => {
        throw new SluiceError('SLUICE_KAFKA_UNAVAILABLE', 'the inbound record type could not be registered', {
          cause,
          retryAfterSeconds: 1,
        });
      }),
  };
  if (sources.all().length > 0) await inboundType.ensure();
  const eventProducers = await startEventProducers({
    kafka,
    count: config.producerCount,
    eventsTopic: config.topics.eventsTopic,
    warmUpWaitMs: config.produceTimeoutMs,
    logger,
  });
  const redis = createFailFastRedis(config.redisUrl, config.redisCommandTimeoutMs);
  redis.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  await redis
    .connect()
    .catch((error) =>
      logger.warn({ err: error }, 'Redis unreachable at start-up; idempotency fails open until it answers'),
    );

  const metrics = createGatewayMetrics(registry);
  const publisher = createEventPublisher({
    producers: eventProducers.producers,
    maxBatchBytes: config.produceMaxBatchBytes,
    maxBatchRecords: config.produceMaxBatchEvents,
    sendTimeoutMs: config.produceTimeoutMs,
    queueDelayIntervalMs: config.admission.loadShedding.queueDelayIntervalMs,
    metrics: createPublisherMetrics(registry),
    logger,
  });
  // Operational events of changes made through the API, written by the same batching publisher.
  const subscriptionEvents = createSubscriptionEventPublisher({
    registry: schemaRegistry,
    topic: config.topics.eventsTopic,
    write: (records) => publisher.publish(records),
    metrics: createSubscriptionEventMetrics(registry),
    logger,
  });
  let lastUnavailableLogMs = 0;
  const idempotency = createIdempotencyStore({
    redis,
    windowMs: config.idempotencyWindowMs,
    leaseMs: config.produceTimeoutMs + 30_000,
    keyPrefix: config.idempotencyKeyPrefix,
    logger,
    onUnavailable: (error) => {
      metrics.idempotencyUnavailable.inc();
      // One line per 10 s, not one per event, during an outage.
      if (Date.now() - lastUnavailableLogMs > 10_000) {
        lastUnavailableLogMs = Date.now();
        logger.warn(
          { err: error },
          'Redis unavailable: events are accepted without idempotency checks (fail-open)',
        );
      }
    },
  });

  const runtimeSignals = createRuntimeSignals(config.admission.runtimeSignals);
  const shedder = createLoadShedder(config.admission.loadShedding, {
    signals: () => ({
      pendingEvents: publisher.pendingEvents(),
      pendingBytes: publisher.pendingBytes(),
      queueDelayMs: publisher.queueDelayMs(),
      eventLoopDelayMs: runtimeSignals.eventLoopDelayMs(),
      heapUsedBytes: runtimeSignals.heapUsedBytes(),
      drainEventsPerSecond: publisher.ackedEventsPerSecond(),
    }),
    onClassChange: ({ priority, shed, pressure }) =>
      logger.warn(
        { priority, pressure: Math.round(pressure * 100) / 100 },
        shed
          ? `load shedding: ${priority} traffic is now refused`
          : `load shedding: ${priority} traffic admitted again`,
      ),
  });
  const admissionMetrics = createAdmissionMetrics(registry, {
    isShedding: (priority) => shedder.isShedding(priority),
  });
  const rateLimiter = createRateLimiterFromConfig(config.admission.rateLimit, {
    onFallbackDecision: () => admissionMetrics.rateLimitFallback(),
    onBackendChange: ({ backend, cause }) =>
      logger.warn(
        { backend, err: cause },
        backend === 'local'
          ? 'rate limiting falls back to local buckets: Redis unavailable'
          : 'rate limiting is global again: Redis answers',
      ),
  });

  // The Redis limiter has no offline queue: wait for its connection so the first requests are
  // not decided locally under a false "Redis down".
  if (config.admission.rateLimit.mode === 'redis') {
    const backend = await rateLimiter.ready();
    logger.info({ backend }, 'rate limiting ready');
  }

  let accepting = true;
  let inFlight = 0;
  const admission = createAdmission({ shedder, rateLimiter, metrics: admissionMetrics, logger });
  const ingestDeps = {
    apiKeys,
    admission,
    metrics,
    logger,
    ingest: {
      encode: createEventEncoder(catalog),
      topicFor: () => config.topics.eventsTopic,
      maxEventBytes: config.maxEventBytes,
      nowMs: Date.now,
      idempotency,
      publisher,
      onDuplicate: () => metrics.idempotencyDuplicates.inc(),
      onAccepted: (type: string, count: number) => metrics.eventsAccepted.inc({ type }, count),
      onRejected: (code: string) => metrics.eventsRejected.inc({ code }),
    },
    maxRequestBytes: config.maxRequestBytes,
    maxBatchBytes: config.maxBatchBytes,
    maxBatchEvents: config.maxBatchEvents,
    accepting: () => accepting,
    inFlight: { enter: () => void inFlight++, leave: () => void inFlight-- },
  };
  const replayer = createSubscriptionReplayer({
    kafka,
    eventsTopic: config.topics.eventsTopic,
    ...config.replay,
    produceTimeoutMs: config.produceTimeoutMs,
    maxBatchBytes: config.produceMaxBatchBytes,
    logger,
  });
  // No database: the log routes answer 501 and nothing else changes. A database that is down only
  // fails those routes, within the pool's timeouts.
  const deliveryLog =
    config.logDatabase === undefined ? createDisabledLog() : createDeliveryLog(config.logDatabase, logger);
  const resender = createLogResender(deliveryLog, {
    kafka,
    retryTopic: config.replay.retryTopic,
    timeoutMs: config.replay.timeoutMs,
    produceTimeoutMs: config.produceTimeoutMs,
    maxBatchBytes: config.produceMaxBatchBytes,
    logger,
  });
  const adminRouteDeps = {
    apiKeys,
    store: subscriptions,
    logger,
    metrics,
    accepting: ingestDeps.accepting,
    inFlight: ingestDeps.inFlight,
  };
  const bodyLimit = sourceBodyLimit(config.produceMaxBatchBytes);
  const router = createGatewayRouter({
    ingest: ingestDeps,
    schemaRegistry,
    apiKeys,
    eventTypes: adminRouteDeps,
    subscriptions: { ...adminRouteDeps, events: subscriptionEvents },
    replay: { ...adminRouteDeps, replayer, eventsRetentionMs: config.topics.eventsRetentionMs },
    enable: {
      ...adminRouteDeps,
      replayer,
      eventsRetentionMs: config.topics.eventsRetentionMs,
      events: subscriptionEvents,
    },
    log: { ...adminRouteDeps, log: deliveryLog, resender, catalog },
    sources: { ...adminRouteDeps, store: sources, beforeCreate: () => inboundType.ensure(), bodyLimit },
    inbound: {
      sources,
      admission,
      metrics,
      inboundMetrics: createInboundMetrics(registry),
      logger,
      ingest: ingestDeps.ingest,
      encode: createEventEncoder(catalog, inboundWebhookSubject),
      ensureRecordType: () => inboundType.ensure(),
      nowMs: Date.now,
      accepting: ingestDeps.accepting,
      inFlight: ingestDeps.inFlight,
      bodyLimit,
    },
    registryApi: {
      registry: schemaRegistry,
      apiKeys,
      logger,
      metrics: registryMetrics,
      requestMetrics: metrics,
      accepting: ingestDeps.accepting,
      inFlight: ingestDeps.inFlight,
    },
    onUnexpectedError: (error, head) =>
      logger.error({ err: error, method: head?.method, path: head?.path }, 'unexpected error'),
  });

  const server = await startHttpServer({
    host: config.host,
    port: config.port,
    router,
    maxHeaderBytes: config.maxHeaderBytes,
  });
  const admin = await startAdminServer({
    host: config.host,
    port: config.adminPort,
    registry,
    isReady: () => {
      const reasons: string[] = [];
      if (!accepting) reasons.push('shutting down');
      reasons.push(...eventProducers.notReadyReasons());
      if (!publisher.kafkaAcknowledging()) reasons.push('Kafka is not acknowledging produce requests');
      if (!subscriptions.isCaughtUp()) reasons.push('subscriptions not loaded from Kafka');
      if (!sources.isCaughtUp()) reasons.push('inbound sources not loaded from Kafka');
      if (!schemaRegistry.isCaughtUp()) reasons.push('schema registry not loaded');
      if (shedder.sustainedOverload()) reasons.push('sustained overload');
      return { ready: reasons.length === 0, reasons };
    },
  });
  logger.info(
    { port: server.port, adminPort: admin.port, topic: config.topics.eventsTopic },
    'gateway listening',
  );

  return {
    port: server.port,
    adminPort: admin.port,
    async shutdown() {
      accepting = false;
      server.close();
      const deadline = Date.now() + config.shutdownGraceMs;
      while (inFlight > 0 && Date.now() < deadline) await sleep(20);
      if (inFlight > 0) logger.warn({ inFlight }, 'shutdown grace period over with requests still in flight');
      // Replays still running stop here and answer 503 with what they had queued.
      await replayer.close();
      await deliveryLog.close().catch(() => undefined);
      await subscriptionEvents.flush();
      await publisher.close();
      await eventProducers.disconnect();
      await subscriptions.stop();
      await sources.stop();
      await schemaRegistry.stop();
      await rateLimiter.close();
      runtimeSignals.stop();
      redis.disconnect();
      await admin.close();
      logger.info('gateway stopped');
    },
  };
}
