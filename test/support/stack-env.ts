import { randomBytes } from 'node:crypto';

/** Where the suite's Kafka and Redis are: the local stack's defaults unless the environment says otherwise. */
export const testKafkaBrokers = (
  process.env.KAFKA_BROKERS ??
  process.env.SLUICE_KAFKA_BROKERS ??
  '127.0.0.1:9092'
).split(',');
export const testRedisUrl = process.env.REDIS_URL ?? process.env.SLUICE_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The delivery log's PostgreSQL: the stack's own (port 5433, database and role `sluice`) unless set. */
export const testDatabaseUrl =
  process.env.SLUICE_LOG_DATABASE_URL ?? 'postgres://sluice@127.0.0.1:5433/sluice';

/** A name no other test (or earlier run) uses: tests never share topics, groups or keys. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
