import type { Logger } from '../common/logger.js';
import type { Pool } from '../common/postgres/index.js';
import type { DatabaseHealth } from './database-health.js';
import type { LogMetrics } from './log-metrics.js';
import { maintainPartitions, type PartitionPolicy } from './partitions.js';

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

/** Partition maintenance now and every `intervalMs`: days ahead created, days past retention dropped. */
export function startMaintenanceLoop(options: MaintenanceLoopOptions): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();

  const run = async () => {
    let nextMs = options.intervalMs;
    try {
      const { created, dropped } = await maintainPartitions(options.pool, options.nowMs(), options.policy);
      options.health.succeeded();
      options.metrics.partitionsCreated.inc(created.length);
      options.metrics.partitionsDropped.inc(dropped.length);
      if (created.length > 0 || dropped.length > 0) {
        options.logger.info({ created, dropped }, 'attempt partitions maintained');
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
