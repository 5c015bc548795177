import { Kafka, logLevel } from '../../common/kafka/index.js';
import { EnvReader, type Env } from '../../common/config.js';
import { SluiceError } from '../../common/errors.js';
import { kafkaPid, kafkaVersion, startKafka, stopKafka, type KafkaBrokerOptions } from './kafka-broker.js';
import {
  redisPid,
  startRedis,
  stopRedis,
  waitForRedisReady,
  type RedisServerOptions,
} from './redis-server.js';
import { stackPaths } from './paths.js';
import {
  postgresHome,
  postgresPid,
  startPostgres,
  stopPostgres,
  type PostgresServerOptions,
} from './postgres-server.js';
import { redactDatabaseUrl, waitForPostgres } from '../../common/postgres/index.js';

/** Settings of `sluice stack`. */
export interface StackConfig {
  /** `KAFKA_BROKERS`: when set, that cluster is used and no broker is started. */
  externalKafkaBrokers: string[] | undefined;
  /** `REDIS_URL`: when set, that server is used and no redis-server is started. */
  externalRedisUrl: string | undefined;
  /** `SLUICE_LOG_DATABASE_URL`: when set, that PostgreSQL server is used and none is started. */
  externalDatabaseUrl: string | undefined;
  /** `SLUICE_STACK_KAFKA_PORT`, default 9092. */
  kafkaPort: number;
  /** `SLUICE_STACK_KAFKA_CONTROLLER_PORT`, default 9093. */
  kafkaControllerPort: number;
  /** `SLUICE_STACK_REDIS_PORT`, default 6379. */
  redisPort: number;
  /** `SLUICE_STACK_POSTGRES_PORT`, default 5433 (beside a system PostgreSQL on 5432). */
  postgresPort: number;
  /** `SLUICE_STACK_KAFKA_HEAP_MAX_BYTES`, default 1GiB. */
  kafkaHeapMaxBytes: number;
  /** `SLUICE_STACK_READY_TIMEOUT_MS`, default 90s: a cold JVM on a busy 2-core box is slow. */
  readyTimeoutMs: number;
}

export function loadStackConfig(env: Env): Readonly<StackConfig> {
  const reader = new EnvReader(env);
  const brokers = reader.list(['SLUICE_KAFKA_BROKERS', 'KAFKA_BROKERS'], []);
  return reader.finish({
    externalKafkaBrokers: brokers.length > 0 ? brokers : undefined,
    externalRedisUrl: reader.optionalString(['SLUICE_REDIS_URL', 'REDIS_URL']),
    externalDatabaseUrl: reader.optionalString('SLUICE_LOG_DATABASE_URL'),
    kafkaPort: reader.integer('SLUICE_STACK_KAFKA_PORT', 9092, { min: 1, max: 65535 }),
    kafkaControllerPort: reader.integer('SLUICE_STACK_KAFKA_CONTROLLER_PORT', 9093, { min: 1, max: 65535 }),
    redisPort: reader.integer('SLUICE_STACK_REDIS_PORT', 6379, { min: 1, max: 65535 }),
    postgresPort: reader.integer('SLUICE_STACK_POSTGRES_PORT', 5433, { min: 1, max: 65535 }),
    kafkaHeapMaxBytes: reader.bytes('SLUICE_STACK_KAFKA_HEAP_MAX_BYTES', 1024 ** 3, { min: 256 * 1024 ** 2 }),
    readyTimeoutMs: reader.durationMs('SLUICE_STACK_READY_TIMEOUT_MS', 90_000, { min: 1000 }),
  });
}

function options(config: StackConfig, env: Env, log: (line: string) => void) {
  const paths = stackPaths(env as NodeJS.ProcessEnv);
  const kafka: KafkaBrokerOptions = {
    paths,
    port: config.kafkaPort,
    controllerPort: config.kafkaControllerPort,
    heapMaxBytes: config.kafkaHeapMaxBytes,
    readyTimeoutMs: config.readyTimeoutMs,
    log,
  };
  const redis: RedisServerOptions = {
    paths,
    port: config.redisPort,
    readyTimeoutMs: config.readyTimeoutMs,
    log,
  };
  const postgres: PostgresServerOptions = {
    home: postgresHome(paths),
    port: config.postgresPort,
    readyTimeoutMs: config.readyTimeoutMs,
    log,
  };
  return { kafka, redis, postgres };
}

export interface StackEndpoints {
  kafkaBrokers: string[];
  redisUrl: string;
  /** The delivery log's database (`SLUICE_LOG_DATABASE_URL`). */
  databaseUrl: string;
}

/** Brings up Kafka, Redis and PostgreSQL (or checks the external ones); idempotent. */
export async function stackUp(env: Env, log: (line: string) => void): Promise<StackEndpoints> {
  const config = loadStackConfig(env);
  const opts = options(config, env, log);
  let kafkaBrokers: string[];
  if (config.externalKafkaBrokers) {
    kafkaBrokers = config.externalKafkaBrokers;
    await checkExternalKafka(kafkaBrokers, config.readyTimeoutMs);
    log(`using the Kafka cluster at ${kafkaBrokers.join(',')} (KAFKA_BROKERS)`);
  } else {
    const started = await startKafka(opts.kafka);
    if (started.alreadyRunning) log(`Apache Kafka ${kafkaVersion} already running (pid ${started.pid})`);
    kafkaBrokers = [`127.0.0.1:${config.kafkaPort}`];
  }
  let redisUrl: string;
  if (config.externalRedisUrl) {
    redisUrl = config.externalRedisUrl;
    await waitForRedisReady(redisUrl, config.readyTimeoutMs, undefined);
    log(`using the Redis server at ${redactUrl(redisUrl)} (REDIS_URL)`);
  } else {
    const started = await startRedis(opts.redis);
    if (started.alreadyRunning) log(`redis-server already running (pid ${started.pid})`);
    redisUrl = `redis://127.0.0.1:${config.redisPort}`;
  }
  let databaseUrl: string;
  if (config.externalDatabaseUrl) {
    databaseUrl = config.externalDatabaseUrl;
    if (!(await waitForPostgres(databaseUrl, config.readyTimeoutMs))) {
      throw new SluiceError(
        'SLUICE_STACK_FAILED',
        `cannot reach the PostgreSQL server at ${redactDatabaseUrl(databaseUrl)} (SLUICE_LOG_DATABASE_URL)`,
      );
    }
    log(`using the PostgreSQL server at ${redactDatabaseUrl(databaseUrl)} (SLUICE_LOG_DATABASE_URL)`);
  } else {
    const started = await startPostgres(opts.postgres);
    if (started.alreadyRunning) log(`PostgreSQL already running (pid ${started.pid})`);
    databaseUrl = started.url;
  }
  return { kafkaBrokers, redisUrl, databaseUrl };
}

/** Stops only what this stack started. */
export async function stackDown(env: Env, log: (line: string) => void): Promise<void> {
  const config = loadStackConfig(env);
  const opts = options(config, env, log);
  const stoppedPostgres = await stopPostgres(opts.postgres);
  const stoppedRedis = await stopRedis(opts.redis);
  const stoppedKafka = await stopKafka(opts.kafka);
  if (!stoppedPostgres && !stoppedRedis && !stoppedKafka)
    log('nothing to stop: the local stack is not running');
}

export function stackStatus(env: Env): {
  kafka: number | undefined;
  redis: number | undefined;
  postgres: number | undefined;
  kafkaVersion: string;
} {
  const config = loadStackConfig(env);
  const opts = options(config, env, () => undefined);
  return {
    kafka: kafkaPid(opts.kafka),
    redis: redisPid(opts.redis.paths, config.redisPort),
    postgres: postgresPid(opts.postgres.home),
    kafkaVersion,
  };
}

async function checkExternalKafka(brokers: string[], timeoutMs: number): Promise<void> {
  const admin = new Kafka({
    brokers,
    clientId: 'sluice-stack',
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 5000),
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (error) {
    throw new SluiceError('SLUICE_STACK_FAILED', `cannot reach the Kafka cluster at ${brokers.join(',')}`, {
      cause: error,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
