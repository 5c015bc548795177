import type { DeliveryMetrics } from './delivery-metrics.js';
import type { PartitionState } from './partition-flow.js';

/**
 * Sets one consumer's gauges from its partitions: records in flight, partitions paused (by
 * reason), lag per partition (from the committable offset) and the age of the oldest undelivered
 * event.
 */
export function reportConsumerGauges(
  name: string,
  states: ReadonlyMap<string, PartitionState>,
  metrics: DeliveryMetrics,
  nowMs: () => number,
): void {
  const consumerLabel = { consumer: name };
  let paused = { backpressure: 0, hold: 0 };
  let oldestEventTimeMs = Number.POSITIVE_INFINITY;
  let inFlight = 0;
  for (const state of states.values()) {
    if (state.pausedFor !== undefined) paused = { ...paused, [state.pausedFor]: paused[state.pausedFor] + 1 };
    inFlight += state.tracker.inFlight();
    const eventTimeMs = state.tracker.oldestUnresolvedEventTimeMs();
    if (eventTimeMs !== undefined) oldestEventTimeMs = Math.min(oldestEventTimeMs, eventTimeMs);
    const committable = state.tracker.committable();
    if (state.highWatermark !== undefined && committable !== undefined) {
      const lag = state.highWatermark - committable;
      metrics.consumerLag.set(
        { topic: state.topic, partition: String(state.partition) },
        Number(lag > 0n ? lag : 0n),
      );
    }
  }
  metrics.inFlightRecords.set(consumerLabel, inFlight);
  metrics.pausedPartitions.set({ ...consumerLabel, reason: 'backpressure' }, paused.backpressure);
  metrics.pausedPartitions.set({ ...consumerLabel, reason: 'hold' }, paused.hold);
  metrics.oldestUndeliveredAge.set(
    consumerLabel,
    Number.isFinite(oldestEventTimeMs) ? Math.max(0, nowMs() - oldestEventTimeMs) / 1000 : 0,
  );
}
