import type { Admin } from '../common/kafka/index.js';
import type { Logger } from '../common/logger.js';
import type { LogMetrics } from './log-metrics.js';

/**
 * Lag of the log's group behind Kafka, per partition: the topic's end offset minus the group's
 * committed offset (minus the start offset when nothing is committed yet). Read from the broker,
 * not from the consumer's last batch, so it keeps growing while the log is paused by an outage.
 */
export async function readConsumerLag(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<Map<number, number>> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const committedByPartition = new Map(
    (committed.find((entry) => entry.topic === topic)?.partitions ?? []).map((entry) => [
      entry.partition,
      BigInt(entry.offset),
    ]),
  );
  const lag = new Map<number, number>();
  for (const { partition, high, low } of ends) {
    const done = committedByPartition.get(partition) ?? -1n;
    const from = done < 0n ? BigInt(low) : done;
    const behind = BigInt(high) - from;
    lag.set(partition, Number(behind > 0n ? behind : 0n));
  }
  return lag;
}

/** Sets `sluice_log_lag_records` every `intervalMs`; a failed read keeps the last values. */
export function reportConsumerLag(options: {
  admin: Admin;
  groupId: string;
  topic: string;
  intervalMs: number;
  metrics: LogMetrics;
  logger: Logger;
}): { stop(): void } {
  let running = false;
  const update = async () => {
    if (running) return;
    running = true;
    try {
      const lag = await readConsumerLag(options.admin, options.groupId, options.topic);
      for (const [partition, records] of lag)
        options.metrics.lag.set({ partition: String(partition) }, records);
    } catch (error) {
      options.logger.debug({ err: error }, 'reading the consumer lag failed');
    } finally {
      running = false;
    }
  };
  void update();
  const timer = setInterval(() => void update(), options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
