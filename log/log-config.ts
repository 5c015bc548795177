import { EnvReader, type Env } from '../common/config.js';
import {
  readKafkaSettings,
  readTopicSettings,
  type KafkaSettings,
  type TopicSettings,
} from '../common/kafka/index.js';
import { readLogDatabasePool, type PostgresPoolOptions } from '../common/postgres/index.js';
import type { PartitionPolicy } from './partitions.js';

const dayMs = 86_400_000;

/** The delivery log's database, as `sluice log` and `sluice log migrate` read it. */
export interface LogDatabaseConfig {
  /** `SLUICE_LOG_DATABASE_URL`, required: `postgres://user:password@host:5432/database`. */
  readonly pool: PostgresPoolOptions;
  /** `SLUICE_LOG_RETENTION_MS`, default 14 d; `SLUICE_LOG_PARTITION_DAYS_AHEAD`, default 2. */
  readonly partitions: PartitionPolicy;
}

/** Everything `sluice log` reads from its environment, fully defaulted, in ms and bytes. */
export interface LogConfig extends LogDatabaseConfig {
  /** `SLUICE_HOST`, default `0.0.0.0`: where the admin server listens. */
  readonly host: string;
  /** `SLUICE_ADMIN_PORT`, default 8083: /metrics, /healthz, /readyz. */
  readonly adminPort: number;
  /** `SLUICE_LOG_GROUP_ID`, default `sluice-log`: consumer group of the attempts topic. */
  readonly groupId: string;
  /** `SLUICE_LOG_MAINTENANCE_INTERVAL_MS`, default 1 h: partitions created ahead and dropped past retention. */
  readonly maintenanceIntervalMs: number;
  /** `SLUICE_LOG_RETRY_MAX_BACKOFF_MS`, default 5 s: longest wait between two tries of a batch PostgreSQL refused. */
  readonly retryMaxBackoffMs: number;
  /** `SLUICE_KAFKA_SESSION_TIMEOUT_MS`, default 30 s. */
  readonly sessionTimeoutMs: number;
  /** `SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS`, default 3 s. */
  readonly heartbeatIntervalMs: number;
  /** `SLUICE_SHUTDOWN_GRACE_MS`, default 30 s: how long a batch being written may finish on SIGTERM. */
  readonly shutdownGraceMs: number;
  readonly kafka: KafkaSettings;
  readonly topics: TopicSettings;
}

function readDatabase(reader: EnvReader): LogDatabaseConfig {
  const pool = readLogDatabasePool(reader, {
    applicationName: 'sluice-log',
    statementTimeoutMs: 15_000,
    requiredProblem: 'SLUICE_LOG_DATABASE_URL is required: the PostgreSQL database of the delivery log',
  });
  return {
    pool: pool ?? {
      url: '',
      maxConnections: 1,
      connectTimeoutMs: 0,
      statementTimeoutMs: 0,
      applicationName: 'sluice-log',
    },
    partitions: {
      // Whole days: retention drops daily partitions.
      retentionMs: reader.durationMs('SLUICE_LOG_RETENTION_MS', 14 * dayMs, { min: dayMs }),
      daysAhead: reader.integer('SLUICE_LOG_PARTITION_DAYS_AHEAD', 2, { min: 1, max: 30 }),
    },
  };
}

/** What `sluice log migrate` needs: the database alone. */
export function loadLogDatabaseConfig(env: Env): Readonly<LogDatabaseConfig> {
  const reader = new EnvReader(env);
  return reader.finish(readDatabase(reader));
}

export function loadLogConfig(env: Env): Readonly<LogConfig> {
  const reader = new EnvReader(env);
  const config: LogConfig = {
    ...readDatabase(reader),
    host: reader.string('SLUICE_HOST', '0.0.0.0'),
    adminPort: reader.integer('SLUICE_ADMIN_PORT', 8083, { min: 0, max: 65535 }),
    groupId: reader.string('SLUICE_LOG_GROUP_ID', 'sluice-log'),
    maintenanceIntervalMs: reader.durationMs('SLUICE_LOG_MAINTENANCE_INTERVAL_MS', 3_600_000, {
      min: 1000,
      max: dayMs,
    }),
    retryMaxBackoffMs: reader.durationMs('SLUICE_LOG_RETRY_MAX_BACKOFF_MS', 5000, { min: 100, max: 60_000 }),
    sessionTimeoutMs: reader.durationMs('SLUICE_KAFKA_SESSION_TIMEOUT_MS', 30_000, { min: 6000 }),
    heartbeatIntervalMs: reader.durationMs('SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS', 3000, { min: 100 }),
    shutdownGraceMs: reader.durationMs('SLUICE_SHUTDOWN_GRACE_MS', 30_000, { min: 0 }),
    kafka: readKafkaSettings(reader, 'sluice-log'),
    topics: readTopicSettings(reader),
  };
  if (config.heartbeatIntervalMs * 3 > config.sessionTimeoutMs) {
    reader.problem(
      `SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS (${config.heartbeatIntervalMs}) must be at most a third of SLUICE_KAFKA_SESSION_TIMEOUT_MS (${config.sessionTimeoutMs})`,
    );
  }
  return reader.finish(config);
}
