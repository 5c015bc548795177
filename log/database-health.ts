import type { Logger } from '../common/logger.js';
import { describePostgresError, isPostgresUnavailable } from '../common/postgres/index.js';
import type { LogMetrics } from './log-metrics.js';

/**
 * What the log process knows of PostgreSQL, from the outcome of its last call: readiness, the
 * `sluice_log_database_available` gauge, and one log line when an outage starts and one when it
 * ends (not one per failed try: several partitions retry at once, every few seconds).
 */
export interface DatabaseHealth {
  /** True once a call succeeded and none failed since. */
  available(): boolean;
  succeeded(): void;
  failed(error: unknown, what: string): void;
}

export function createDatabaseHealth(
  metrics: LogMetrics,
  logger: Logger,
  nowMs: () => number,
): DatabaseHealth {
  let state: 'unknown' | 'up' | 'down' = 'unknown';
  let downSinceMs = 0;
  let failures = 0;
  return {
    available: () => state === 'up',
    succeeded() {
      if (state === 'down') {
        logger.info(
          { outageMs: nowMs() - downSinceMs, failedTries: failures },
          'PostgreSQL answers again: the delivery log resumes and catches up from Kafka',
        );
      }
      state = 'up';
      failures = 0;
      metrics.databaseAvailable.set(1);
    },
    failed(error, what) {
      failures += 1;
      if (state !== 'down') {
        downSinceMs = nowMs();
        const fields = { ...describePostgresError(error), during: what };
        if (isPostgresUnavailable(error)) {
          logger.warn(
            fields,
            'PostgreSQL is unavailable: the delivery log pauses and retries, nothing is skipped',
          );
        } else {
          logger.error(
            fields,
            'PostgreSQL refused the delivery log: it pauses and retries, nothing is skipped',
          );
        }
      }
      state = 'down';
      metrics.databaseAvailable.set(0);
    },
  };
}
