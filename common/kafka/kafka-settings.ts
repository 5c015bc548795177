import type { EnvReader } from '../config.js';

/** How to reach Kafka. `KAFKA_BROKERS` is an unprefixed alias of `SLUICE_KAFKA_BROKERS`. */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** TLS to the brokers (`SLUICE_KAFKA_TLS`, default false). */
  tls: boolean;
  /** SASL credentials, when `SLUICE_KAFKA_SASL_MECHANISM` is set. */
  sasl:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | undefined;
  /** Connect timeout per broker connection (`SLUICE_KAFKA_CONNECT_TIMEOUT_MS`, default 3s). */
  connectTimeoutMs: number;
  /** Timeout of one Kafka request (`SLUICE_KAFKA_REQUEST_TIMEOUT_MS`, default 10s). */
  requestTimeoutMs: number;
}

/** Names and shapes of the topics of docs/architecture.md#kafka-layout. */
export interface TopicSettings {
  /** `SLUICE_EVENTS_TOPIC`, default `sluice.events`. */
  eventsTopic: string;
  /** `SLUICE_EVENTS_PARTITIONS`, default 12: sized for a delivery fleet of up to 12 workers. */
  eventsPartitions: number;
  /** `SLUICE_RETRY_TOPIC_PREFIX`, default `sluice.retry.`; one topic per delay tier. */
  retryTopicPrefix: string;
  /** `SLUICE_RETRY_PARTITIONS`, default 6. */
  retryPartitions: number;
  /** `SLUICE_DLQ_TOPIC`, default `sluice.dlq`. */
  dlqTopic: string;
  /** `SLUICE_SUBSCRIPTIONS_TOPIC`, default `sluice.subscriptions` (compacted, one partition). */
  subscriptionsTopic: string;
  /** `SLUICE_SCHEMAS_TOPIC`, default `sluice.schemas`: the schema registry (compacted, one partition). */
  schemasTopic: string;
  /** `SLUICE_SOURCES_TOPIC`, default `sluice.sources`: inbound webhook sources (compacted, one partition). */
  sourcesTopic: string;
  /** `SLUICE_ATTEMPTS_TOPIC`, default `sluice.attempts`: one record per delivery attempt, for the delivery log. */
  attemptsTopic: string;
  /** `SLUICE_ATTEMPTS_RETENTION_MS`, default 3 days: how long the log process may be down and still catch up. */
  attemptsRetentionMs: number;
  /** `SLUICE_TOPIC_REPLICATION_FACTOR`, default 1 (a single dev broker); 3 in production. */
  replicationFactor: number;
  /** `SLUICE_TOPIC_MIN_INSYNC_REPLICAS`, default 1; 2 in production with acks=all. */
  minInsyncReplicas: number;
  /** `SLUICE_EVENTS_RETENTION_MS`, default 7 days. */
  eventsRetentionMs: number;
}

export function readKafkaSettings(reader: EnvReader, clientId: string): KafkaSettings {
  const mechanism = reader.oneOf(
    'SLUICE_KAFKA_SASL_MECHANISM',
    ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const,
    'none',
  );
  const username = reader.optionalString('SLUICE_KAFKA_SASL_USERNAME');
  const password = reader.optionalString('SLUICE_KAFKA_SASL_PASSWORD');
  if (mechanism !== 'none' && (username === undefined || password === undefined)) {
    reader.problem(
      `SLUICE_KAFKA_SASL_MECHANISM=${mechanism} needs SLUICE_KAFKA_SASL_USERNAME and SLUICE_KAFKA_SASL_PASSWORD`,
    );
  }
  const brokers = reader.list(['SLUICE_KAFKA_BROKERS', 'KAFKA_BROKERS'], ['127.0.0.1:9092']);
  if (brokers.length === 0) reader.problem('SLUICE_KAFKA_BROKERS must name at least one host:port');
  for (const broker of brokers) {
    if (!/^[^:\s]+:\d+$/.test(broker))
      reader.problem(`SLUICE_KAFKA_BROKERS entries must be host:port, got ${broker}`);
  }
  return {
    brokers,
    clientId: reader.string('SLUICE_KAFKA_CLIENT_ID', clientId),
    tls: reader.boolean('SLUICE_KAFKA_TLS', false),
    sasl:
      mechanism === 'none' || username === undefined || password === undefined
        ? undefined
        : { mechanism, username, password },
    connectTimeoutMs: reader.durationMs('SLUICE_KAFKA_CONNECT_TIMEOUT_MS', 3_000, { min: 100 }),
    requestTimeoutMs: reader.durationMs('SLUICE_KAFKA_REQUEST_TIMEOUT_MS', 10_000, { min: 100 }),
  };
}

export function readTopicSettings(reader: EnvReader): TopicSettings {
  const replicationFactor = reader.integer('SLUICE_TOPIC_REPLICATION_FACTOR', 1, { min: 1, max: 7 });
  const minInsyncReplicas = reader.integer('SLUICE_TOPIC_MIN_INSYNC_REPLICAS', 1, { min: 1, max: 7 });
  if (minInsyncReplicas > replicationFactor) {
    reader.problem(
      `SLUICE_TOPIC_MIN_INSYNC_REPLICAS (${minInsyncReplicas}) cannot exceed SLUICE_TOPIC_REPLICATION_FACTOR (${replicationFactor})`,
    );
  }
  return {
    eventsTopic: reader.string('SLUICE_EVENTS_TOPIC', 'sluice.events'),
    eventsPartitions: reader.integer('SLUICE_EVENTS_PARTITIONS', 12, { min: 1, max: 10_000 }),
    retryTopicPrefix: reader.string('SLUICE_RETRY_TOPIC_PREFIX', 'sluice.retry.'),
    retryPartitions: reader.integer('SLUICE_RETRY_PARTITIONS', 6, { min: 1, max: 10_000 }),
    dlqTopic: reader.string('SLUICE_DLQ_TOPIC', 'sluice.dlq'),
    subscriptionsTopic: reader.string('SLUICE_SUBSCRIPTIONS_TOPIC', 'sluice.subscriptions'),
    schemasTopic: reader.string('SLUICE_SCHEMAS_TOPIC', 'sluice.schemas'),
    sourcesTopic: reader.string('SLUICE_SOURCES_TOPIC', 'sluice.sources'),
    attemptsTopic: reader.string('SLUICE_ATTEMPTS_TOPIC', 'sluice.attempts'),
    attemptsRetentionMs: reader.durationMs('SLUICE_ATTEMPTS_RETENTION_MS', 3 * 86_400_000, { min: 60_000 }),
    replicationFactor,
    minInsyncReplicas,
    eventsRetentionMs: reader.durationMs('SLUICE_EVENTS_RETENTION_MS', 7 * 86_400_000, { min: 60_000 }),
  };
}
