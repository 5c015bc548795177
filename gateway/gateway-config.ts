import { EnvReader, type Env } from '../common/config.js';
import {
  readKafkaSettings,
  readTopicSettings,
  type KafkaSettings,
  type TopicSettings,
  eventsTopicMaxMessageBytes,
} from '../common/kafka/index.js';
import { readLogDatabasePool, type PostgresPoolOptions } from '../common/postgres/index.js';
import { readSsrfPolicy, type SsrfPolicy } from '../common/ssrf-guard.js';
import { readSecretsKeyring, type SecretsKeyring } from '../common/subscriptions/secrets-keyring.js';
import { readAdmissionConfig, type AdmissionConfig } from './admission/admission-config.js';
import { readReplayConfig, type ReplayConfig } from './replay/replay-config.js';
import { readDeliveryBounds, type DeliveryBounds } from '../common/retry/delivery-bounds.js';
import {
  readSchemaRegistrySettings,
  type SchemaRegistrySettings,
} from '../schemas/registry/registry-settings.js';

/** Everything `sluice gateway` reads from its environment, fully defaulted, in ms and bytes. */
export interface GatewayConfig {
  /** `SLUICE_HOST`, default `0.0.0.0`. */
  host: string;
  /** `SLUICE_PORT`, default 8080: the public ingest API. */
  port: number;
  /** `SLUICE_ADMIN_PORT`, default 8081: /metrics, /healthz, /readyz. */
  adminPort: number;
  /** `SLUICE_API_KEYS_FILE`: JSON lines of hashed API keys (see `sluice keys create`). Required. */
  apiKeysFile: string;
  /** `SLUICE_MAX_EVENT_BYTES`, default 256 KiB: one encoded event. */
  maxEventBytes: number;
  /** `SLUICE_MAX_REQUEST_BYTES`, default 1 MiB: the body of `POST /v1/events`. */
  maxRequestBytes: number;
  /** `SLUICE_MAX_BATCH_BYTES`, default 5 MiB: the body of `POST /v1/events/batch`. */
  maxBatchBytes: number;
  /** `SLUICE_MAX_BATCH_EVENTS`, default 1000. */
  maxBatchEvents: number;
  /** `SLUICE_MAX_HEADER_BYTES`, default 8 KiB: header names and values together. */
  maxHeaderBytes: number;
  /** `SLUICE_PRODUCE_TIMEOUT_MS`, default 5 s: a request not acknowledged by then gets 503. */
  produceTimeoutMs: number;
  /** `SLUICE_PRODUCE_MAX_BATCH_BYTES`, default 4 MiB: one produce request (below the topic's max.message.bytes). */
  produceMaxBatchBytes: number;
  /** `SLUICE_PRODUCE_MAX_BATCH_EVENTS`, default 10 000. */
  produceMaxBatchEvents: number;
  /** `SLUICE_PRODUCER_COUNT`, default 2: idempotent producers, i.e. produce requests in flight at once. */
  producerCount: number;
  /** `SLUICE_IDEMPOTENCY_WINDOW_MS`, default 24 h: how long an event id is remembered per producer. */
  idempotencyWindowMs: number;
  /** `SLUICE_IDEMPOTENCY_KEY_PREFIX`, default `sluice:idem:`. */
  idempotencyKeyPrefix: string;
  /** `SLUICE_REDIS_TIMEOUT_MS`, default 100 ms: a Redis call on the request path fails open after this. */
  redisCommandTimeoutMs: number;
  /** `SLUICE_REDIS_URL` / `REDIS_URL`, default `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** `SLUICE_SHUTDOWN_GRACE_MS`, default 20 s: how long in-flight requests may take to finish on SIGTERM. */
  shutdownGraceMs: number;
  kafka: KafkaSettings;
  topics: TopicSettings;
  admission: AdmissionConfig;
  /** `SLUICE_SECRETS_KEYS` (required): `<id>:<base64 of 32 bytes>[,…]`; the first encrypts subscription secrets, all decrypt. */
  secretsKeyring: SecretsKeyring;
  /** `SLUICE_SSRF_ALLOWED_CIDRS`, default none: refused ranges a subscription URL may still use. */
  ssrfPolicy: SsrfPolicy;
  replay: ReplayConfig;
  /**
   * `SLUICE_RETRY_SCHEDULE` and `SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS`, the workers' values: a
   * subscription's own retry schedule and timeout are refused outside them when saved.
   */
  deliveryBounds: DeliveryBounds;
  schemaRegistry: SchemaRegistrySettings;
  /**
   * `SLUICE_LOG_DATABASE_URL`, optional: the delivery log's PostgreSQL, read by the log API
   * (`/v1/events/{id}`, `/v1/dead-letters`, …); unset, those routes answer 501. Pool settings as
   * `sluice log`'s, but `SLUICE_LOG_DATABASE_STATEMENT_TIMEOUT_MS` defaults to 5 s here.
   */
  logDatabase: PostgresPoolOptions | undefined;
}

export function loadGatewayConfig(env: Env): Readonly<GatewayConfig> {
  const reader = new EnvReader(env);
  const apiKeysFile = reader.optionalString('SLUICE_API_KEYS_FILE');
  if (apiKeysFile === undefined) {
    reader.problem(
      'SLUICE_API_KEYS_FILE must name the API keys file (create keys with `sluice keys create`)',
    );
  }
  const topics = readTopicSettings(reader);
  const deliveryBounds = readDeliveryBounds(reader);
  const config: GatewayConfig = {
    host: reader.string('SLUICE_HOST', '0.0.0.0'),
    port: reader.integer('SLUICE_PORT', 8080, { min: 0, max: 65535 }),
    adminPort: reader.integer('SLUICE_ADMIN_PORT', 8081, { min: 0, max: 65535 }),
    apiKeysFile: apiKeysFile ?? '',
    maxEventBytes: reader.bytes('SLUICE_MAX_EVENT_BYTES', 256 * 1024, { min: 1024 }),
    maxRequestBytes: reader.bytes('SLUICE_MAX_REQUEST_BYTES', 1024 * 1024, { min: 1024 }),
    maxBatchBytes: reader.bytes('SLUICE_MAX_BATCH_BYTES', 5 * 1024 * 1024, { min: 1024 }),
    maxBatchEvents: reader.integer('SLUICE_MAX_BATCH_EVENTS', 1000, { min: 1, max: 100_000 }),
    maxHeaderBytes: reader.bytes('SLUICE_MAX_HEADER_BYTES', 8 * 1024, { min: 1024 }),
    produceTimeoutMs: reader.durationMs('SLUICE_PRODUCE_TIMEOUT_MS', 5000, { min: 100 }),
    produceMaxBatchBytes: reader.bytes('SLUICE_PRODUCE_MAX_BATCH_BYTES', 4 * 1024 * 1024, { min: 64 * 1024 }),
    produceMaxBatchEvents: reader.integer('SLUICE_PRODUCE_MAX_BATCH_EVENTS', 10_000, { min: 1 }),
    producerCount: reader.integer('SLUICE_PRODUCER_COUNT', 2, { min: 1, max: 16 }),
    idempotencyWindowMs: reader.durationMs('SLUICE_IDEMPOTENCY_WINDOW_MS', 86_400_000, { min: 1000 }),
    idempotencyKeyPrefix: reader.string('SLUICE_IDEMPOTENCY_KEY_PREFIX', 'sluice:idem:'),
    redisCommandTimeoutMs: reader.durationMs('SLUICE_REDIS_TIMEOUT_MS', 100, { min: 1 }),
    redisUrl: reader.string(['SLUICE_REDIS_URL', 'REDIS_URL'], 'redis://127.0.0.1:6379'),
    shutdownGraceMs: reader.durationMs('SLUICE_SHUTDOWN_GRACE_MS', 20_000, { min: 0 }),
    kafka: readKafkaSettings(reader, 'sluice-gateway'),
    topics,
    admission: readAdmissionConfig(reader),
    secretsKeyring: readSecretsKeyring(reader),
    ssrfPolicy: readSsrfPolicy(reader),
    replay: readReplayConfig(reader, topics, deliveryBounds.retryDelaysMs),
    deliveryBounds,
    schemaRegistry: readSchemaRegistrySettings(reader),
    logDatabase: readLogDatabasePool(reader, { applicationName: 'sluice-gateway', statementTimeoutMs: 5000 }),
  };
  // Every limit must sit below what Kafka accepts, or an accepted event could never be written.
  if (config.maxEventBytes > config.maxBatchBytes) {
    reader.problem(
      `SLUICE_MAX_EVENT_BYTES (${config.maxEventBytes}) cannot exceed SLUICE_MAX_BATCH_BYTES (${config.maxBatchBytes})`,
    );
  }
  if (config.produceMaxBatchBytes > eventsTopicMaxMessageBytes) {
    reader.problem(
      `SLUICE_PRODUCE_MAX_BATCH_BYTES (${config.produceMaxBatchBytes}) must stay below the topic's max.message.bytes (${eventsTopicMaxMessageBytes})`,
    );
  }
  if (config.maxEventBytes > config.produceMaxBatchBytes) {
    reader.problem(
      `SLUICE_MAX_EVENT_BYTES (${config.maxEventBytes}) cannot exceed SLUICE_PRODUCE_MAX_BATCH_BYTES`,
    );
  }
  return reader.finish(config);
}
