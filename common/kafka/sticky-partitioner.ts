import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

/** Records sent to one partition before the next is taken. */
const recordsPerPartition = 1000;
/** Time one partition is kept at most, so a slow writer still spreads over every partition. */
const msPerPartition = 1000;

/**
 * For records whose order across partitions does not matter (attempt records: the log orders
 * them by time and attempt number, not by offset): ignores the key and keeps one partition with a
 * leader for up to 1000 records or 1 s, then takes the next. A produce request then carries one
 * partition's batch instead of a few records for every partition, which is most of what the broker
 * spends on small keyed records (Kafka's Java producer does the same for keyless records).
 */
export const StickyPartitioner: ICustomPartitioner = () => {
  const current = new Map<string, { partition: number; records: number; sinceMs: number }>();
  return ({ topic, partitionMetadata }: PartitionerArgs) => {
    const nowMs = Date.now();
    const held = current.get(topic);
    if (
      held !== undefined &&
      held.records < recordsPerPartition &&
      nowMs - held.sinceMs < msPerPartition &&
      held.partition < partitionMetadata.length
    ) {
      held.records += 1;
      return held.partition;
    }
    const available = partitionMetadata.filter((partition) => partition.leader >= 0);
    const choices = available.length > 0 ? available : partitionMetadata;
    const previous = held?.partition ?? Math.floor(Math.random() * choices.length);
    // The next partition after the one held (in the list's order), so every one gets its turn.
    const index = choices.findIndex((partition) => partition.partitionId > previous);
    const partition = choices[index === -1 ? 0 : index]!.partitionId;
    current.set(topic, { partition, records: 1, sinceMs: nowMs });
    return partition;
  };
};
