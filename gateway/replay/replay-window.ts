import type { Admin, ConsumedRecord } from '../../common/kafka/index.js';
import { compileSubscriptionMatcher } from '../../common/subscriptions/subscription-matcher.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import { tenantHeader } from '../../common/tenant-id.js';
import type { ReplayRequest } from './replay-request.js';

/** Offsets of one partition inside the window: `start` inclusive, `end` exclusive. */
export interface PartitionRange {
  partition: number;
  start: bigint;
  end: bigint;
}

/**
 * The window's offsets per partition, from Kafka's time index (`fetchTopicOffsetsByTimestamp`:
 * the first offset at or after `from`, and the first at or after `to`); empty partitions left out.
 */
export async function windowRanges(
  admin: Admin,
  topic: string,
  request: ReplayRequest,
): Promise<PartitionRange[]> {
  const [starts, ends] = await Promise.all([
    admin.fetchTopicOffsetsByTimestamp(topic, request.fromMs),
    admin.fetchTopicOffsetsByTimestamp(topic, request.toMs),
  ]);
  const endByPartition = new Map(ends.map(({ partition, offset }) => [partition, BigInt(offset)]));
  return starts
    .map(({ partition, offset }) => ({
      partition,
      start: BigInt(offset),
      end: endByPartition.get(partition) ?? BigInt(offset),
    }))
    .filter((range) => range.end > range.start);
}

/** Records in the ranges: an upper bound of the events the window holds. */
export function offsetsIn(ranges: readonly PartitionRange[]): number {
  return ranges.reduce((sum, range) => sum + Number(range.end - range.start), 0);
}

/**
 * Which records of the ranges a replay queues: stamped inside the window (the time index only
 * bounds offsets) and matched by the subscription's event types, producer filter and tenant.
 */
export function replaySelector(
  subscription: Pick<Subscription, 'eventTypes' | 'producerIds' | 'tenant'>,
  request: ReplayRequest,
): (record: ConsumedRecord) => boolean {
  const matches = compileSubscriptionMatcher(subscription);
  return (record) => {
    if (record.timestampMs < request.fromMs || record.timestampMs >= request.toMs) return false;
    const type = record.headers.ce_type;
    // Records without an id, a type or a value were dead-lettered as poison: nothing to deliver.
    if (!type || !record.headers.ce_id || record.value === null) return false;
    return matches(type, record.headers.sluice_producer ?? '', record.headers[tenantHeader] || undefined);
  };
}
