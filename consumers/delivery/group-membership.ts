import type { Consumer } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import { partitionKey, type PartitionFlow } from './partition-flow.js';

export interface GroupMembershipOptions {
  consumer: Consumer;
  /** `events` or `retry`: labels metrics and logs. */
  name: string;
  flow: PartitionFlow;
  /** Commits resolved offsets (best effort) while this member still owns its partitions. */
  commit: () => Promise<void>;
  /** A crash kafkajs will not recover from: the process should exit so it is restarted. */
  onFatal: (error: Error) => void;
  metrics: DeliveryMetrics;
  logger: Logger;
}

export interface GroupMembership {
  /** Whether the consumer is a member of its group (joined, not crashed or stopped since). */
  joined(): boolean;
}

/**
 * Follows the consumer's group events. On a new assignment, partitions no longer assigned are
 * revoked (waiting work is aborted; their records go to the new owner, where deduplication prevents
 * a second success) and partitions kept keep their state. A rebalance starting commits first; a
 * crash revokes everything, and one kafkajs will not restart from is fatal.
 */
export function watchGroupMembership(options: GroupMembershipOptions): GroupMembership {
  const { consumer, flow, metrics, logger } = options;
  const consumerLabel = { consumer: options.name };
  let joined = false;

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    metrics.groupJoins.inc(consumerLabel);
    const assigned = new Set<string>();
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      for (const partition of partitions) assigned.add(partitionKey(topic, partition));
    }
    for (const [key, state] of flow.states) if (!assigned.has(key)) flow.revoke(state, 'partition revoked');
    logger.info(
      { consumer: options.name, groupId: payload.groupId, assignment: payload.memberAssignment },
      'joined the consumer group',
    );
  });
  consumer.on(consumer.events.REBALANCING, () => {
    void options.commit();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    for (const state of [...flow.states.values()]) flow.revoke(state, 'consumer crashed');
    if (!payload.restart) {
      logger.fatal(
        { err: payload.error, consumer: options.name },
        'the Kafka consumer crashed and will not restart',
      );
      options.onFatal(payload.error);
    } else {
      logger.error(
        { err: payload.error, consumer: options.name },
        'the Kafka consumer crashed; kafkajs restarts it',
      );
    }
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });

  return { joined: () => joined };
}
