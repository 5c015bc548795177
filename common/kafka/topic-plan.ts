import { retryTopicName } from '../retry/retry-schedule.js';
import type { TopicSettings } from './kafka-settings.js';

export interface TopicSpec {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

const dayMs = 86_400_000;

/**
 * Largest record batch the events topic accepts. The publisher groups many events into one
 * produce request, so a partition's batch can exceed the broker default of 1 MiB even though
 * each event is at most 256 KiB; the publisher keeps each send below this.
 */
export const eventsTopicMaxMessageBytes = 8 * 1024 * 1024;

/** Every topic of docs/architecture.md#kafka-layout, derived from settings and the retry schedule. */
export function planTopics(settings: TopicSettings, retryDelaysMs: readonly number[]): TopicSpec[] {
  const base = {
    replicationFactor: settings.replicationFactor,
  };
  const minIsr = String(settings.minInsyncReplicas);
  const topics: TopicSpec[] = [
    {
      ...base,
      name: settings.eventsTopic,
      numPartitions: settings.eventsPartitions,
      configs: {
        'cleanup.policy': 'delete',
        'retention.ms': String(settings.eventsRetentionMs),
        'min.insync.replicas': minIsr,
        'max.message.bytes': String(eventsTopicMaxMessageBytes),
      },
    },
  ];
  for (const delayMs of new Set(retryDelaysMs)) {
    topics.push({
      ...base,
      name: retryTopicName(settings.retryTopicPrefix, delayMs),
      numPartitions: settings.retryPartitions,
      configs: {
        'cleanup.policy': 'delete',
        // A record must outlive its delay with room for a stalled worker to catch up.
        'retention.ms': String(Math.max(7 * dayMs, 2 * delayMs)),
        'min.insync.replicas': minIsr,
        'max.message.bytes': String(eventsTopicMaxMessageBytes),
      },
    });
  }
  topics.push(
    {
      ...base,
      name: settings.dlqTopic,
      numPartitions: settings.retryPartitions,
      configs: {
        'cleanup.policy': 'delete',
        'retention.ms': String(30 * dayMs),
        'min.insync.replicas': minIsr,
        'max.message.bytes': String(eventsTopicMaxMessageBytes),
      },
    },
    {
      ...base,
      name: settings.subscriptionsTopic,
      // One partition keeps every change in one total order, read in full by every process.
      numPartitions: 1,
      configs: {
        'cleanup.policy': 'compact',
        'min.insync.replicas': minIsr,
        'min.compaction.lag.ms': String(60_000),
      },
    },
    {
      ...base,
      name: settings.schemasTopic,
      // One partition orders every registry change: all replicas derive the same ids from it.
      numPartitions: 1,
      configs: {
        'cleanup.policy': 'compact',
        'min.insync.replicas': minIsr,
        'min.compaction.lag.ms': String(60_000),
      },
    },
    {
      ...base,
      name: settings.sourcesTopic,
      // Like subscriptions: one total order of changes, read in full by every gateway.
      numPartitions: 1,
      configs: {
        'cleanup.policy': 'compact',
        'min.insync.replicas': minIsr,
        'min.compaction.lag.ms': String(60_000),
      },
    },
    {
      ...base,
      name: settings.attemptsTopic,
      // Keyed by event id, written by as many workers as read the events topic.
      numPartitions: settings.eventsPartitions,
      configs: {
        'cleanup.policy': 'delete',
        'retention.ms': String(settings.attemptsRetentionMs),
        'min.insync.replicas': minIsr,
      },
    },
  );
  return topics;
}
