import type { Logger } from '../common/logger.js';
import type { Pool } from '../common/postgres/index.js';
import type { DatabaseHealth } from './database-health.js';
import type { LogMetrics } from './log-metrics.js';
import { deleteExpiredDeadLetters } from './dead-letter-rows.js';
import { maintainPartitions, retentionCutoffMs, type PartitionPolicy } from './partitions.js';

export interface MaintenanceLoopOptions {
  pool: Pool;
  policy: PartitionPolicy;
  intervalMs: number;
  /** After a failed run, the next comes this soon rather than a whole interval later. */
  retryMs: number;
  health: DatabaseHealth;
  /** Told when partitions were dropped, so writers stop believing in them. */
  onDropped: () => void;
  metrics: LogMetrics;
  logger: Logger;
  nowMs: () => number;
}

/**
 * Retention now and every `intervalMs`: attempt partitions of the days ahead created, those past
 * retention dropped, and dead letters past retention deleted.
 */
export function startMaintenanceLoop(options: MaintenanceLoopOptions): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();

  const run = async () => {
    let nextMs = options.intervalMs;
    try {
      const nowMs = options.nowMs();
      const { created, dropped } = await maintainPartitions(options.pool, nowMs, options.policy);
      const deadLettersDeleted = await deleteExpiredDeadLetters(
        options.pool,
        retentionCutoffMs(nowMs, options.policy),
      );
      options.health.succeeded();
      options.metrics.partitionsCreated.inc(created.length);
      options.metrics.partitionsDropped.inc(dropped.length);
      if (created.length > 0 || dropped.length > 0 || deadLettersDeleted > 0) {
        options.logger.info({ created, dropped, deadLettersDeleted }, 'log retention maintained');
      }
      if (dropped.length > 0) options.onDropped();
    } catch (error) {
      options.health.failed(error, 'partition maintenance');
      nextMs = Math.min(options.intervalMs, options.retryMs);
    }
    if (!stopped) {
      timer = setTimeout(() => {
        current = run();
      }, nextMs);
    }
  };
  current = run();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
