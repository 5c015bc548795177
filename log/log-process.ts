import { startAdminServer } from '../common/admin-server.js';
import { createKafkaClient, type KafkaClient } from '../common/kafka/index.js';
import type { Logger } from '../common/logger.js';
import { createMetricsRegistry } from '../common/metrics.js';
import { createPostgresPool } from '../common/postgres/index.js';
import { reportConsumerLag } from './consumer-lag.js';
import { createDatabaseHealth } from './database-health.js';
import type { LogConfig } from './log-config.js';
import { attemptsSink, createLogConsumer, deadLettersSink, type LogTopicSink } from './log-consumer.js';
import { createLogMetrics } from './log-metrics.js';
import { createLogWriter, deadLettersTable } from './log-writer.js';
import { startMaintenanceLoop } from './maintenance-loop.js';
import { loadMigrations, schemaVersion } from './schema-migrations.js';

export interface LogProcess {
  adminPort: number;
  /** Stops consuming (a batch being written may finish), stops maintenance, closes the pool. */
  shutdown(): Promise<void>;
}

export interface LogProcessDeps {
  kafka?: KafkaClient;
  onFatal: (error: Error) => void;
  nowMs?: () => number;
}

/** How often the consumer lag is read from the broker. */
const lagIntervalMs = 5000;

/**
 * `sluice log`, wired: the attempts consumer writing through the log writer, partition
 * maintenance, the lag reader and the admin port. Ready while the consumer is in its group and
 * PostgreSQL answered its last call; alive regardless.
 */
export async function startLogProcess(
  config: LogConfig,
  logger: Logger,
  deps: LogProcessDeps,
): Promise<LogProcess> {
  const nowMs = deps.nowMs ?? Date.now;
  const kafka = deps.kafka ?? createKafkaClient(config.kafka, logger);
  const registry = createMetricsRegistry('log');
  const metrics = createLogMetrics(registry);
  const pool = createPostgresPool(config.pool, logger.child({ component: 'postgres' }));
  const health = createDatabaseHealth(metrics, logger, nowMs);
  const requiredVersion = loadMigrations().at(-1)?.version ?? 0;
  const checkSchema = async () => {
    const version = await schemaVersion(pool);
    if (version < requiredVersion) {
      throw new Error(
        `the log database is at schema version ${version}, this Sluice needs ${requiredVersion}: run \`sluice log migrate\``,
      );
    }
  };
  const writer = createLogWriter({ pool, policy: config.partitions, nowMs, logger, checkSchema });
  const deadLetterWriter = createLogWriter({
    table: deadLettersTable,
    pool,
    policy: config.partitions,
    nowMs,
    logger,
    checkSchema,
  });
  const maintenance = startMaintenanceLoop({
    pool,
    policy: config.partitions,
    intervalMs: config.maintenanceIntervalMs,
    retryMs: config.retryMaxBackoffMs,
    health,
    onDropped: () => writer.forgetPartitions(),
    metrics,
    logger,
    nowMs,
  });
  const admin = kafka.admin();
  const sinks = new Map<string, LogTopicSink>([
    [config.topics.attemptsTopic, attemptsSink(writer, metrics, logger)],
  ]);
  const consumer = createLogConsumer({
    consumer: kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(config.sessionTimeoutMs, 60_000),
      maxWaitTimeInMs: 500,
    }),
    sinks,
    health,
    retryMaxBackoffMs: config.retryMaxBackoffMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    // One pooled connection stays free for maintenance.
    partitionsConcurrently: Math.max(1, config.pool.maxConnections - 1),
    onFatal: deps.onFatal,
    metrics,
    logger,
    nowMs,
  });
  let stopping = false;
  const adminServer = await startAdminServer({
    host: config.host,
    port: config.adminPort,
    registry,
    isReady: () => {
      const reasons = [
        ...(stopping ? ['shutting down'] : []),
        ...(consumer.joined() ? [] : ['not a member of the consumer group']),
        ...(health.available() ? [] : ['PostgreSQL unavailable']),
      ];
      return { ready: reasons.length === 0, reasons };
    },
  });
  let lag: { stop(): void } | undefined;
  try {
    await admin.connect();
    // Subscribing to a missing topic fails the whole consumer: without the dead-letter topic the
    // log keeps the attempts and says how to get the dead letters too.
    if ((await admin.listTopics()).includes(config.topics.dlqTopic)) {
      sinks.set(config.topics.dlqTopic, deadLettersSink(deadLetterWriter));
    } else {
      logger.warn(
        { topic: config.topics.dlqTopic },
        'the dead-letter topic does not exist: dead letters are not logged (run `sluice topics ensure`, then restart the log)',
      );
    }
    lag = reportConsumerLag({
      admin,
      groupId: config.groupId,
      topic: config.topics.attemptsTopic,
      intervalMs: lagIntervalMs,
      metrics,
      logger,
    });
    await consumer.start();
  } catch (error) {
    lag?.stop();
    await maintenance.stop();
    await admin.disconnect().catch(() => undefined);
    await adminServer.close();
    await pool.end().catch(() => undefined);
    throw error;
  }
  logger.info(
    { topics: [...sinks.keys()], groupId: config.groupId, adminPort: adminServer.port },
    'delivery log started',
  );
  return {
    adminPort: adminServer.port,
    async shutdown() {
      if (stopping) return;
      stopping = true;
      await consumer.stop(config.shutdownGraceMs);
      lag?.stop();
      await maintenance.stop();
      await admin.disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await adminServer.close();
      logger.info('delivery log stopped');
    },
  };
}
