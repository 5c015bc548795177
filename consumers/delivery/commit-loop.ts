import type { Consumer } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import type { PartitionState } from './partition-flow.js';

export interface CommitLoopOptions {
  consumer: Consumer;
  /** `events` or `retry`: labels metrics and logs. */
  name: string;
  /** The partitions this member owns now. */
  states: ReadonlyMap<string, PartitionState>;
  commitIntervalMs: number;
  metrics: DeliveryMetrics;
  logger: Logger;
}

export interface CommitLoop {
  /** Commits each partition's committable offset that moved; joins a commit already under way. */
  commit(): Promise<void>;
  /** Commits every `commitIntervalMs` until `stop`. */
  start(): void;
  stop(): void;
}

/**
 * Commits each partition's committable offset (below its lowest unresolved record), so a crash or
 * rebalance re-reads unfinished work and never skips it. A failed commit is counted and left to the
 * next one: a later commit carries the same offsets or higher.
 */
export function createCommitLoop(options: CommitLoopOptions): CommitLoop {
  const { consumer, states, metrics, logger } = options;
  const consumerLabel = { consumer: options.name };
  let committing: Promise<void> | undefined;
  let commitTimer: NodeJS.Timeout | undefined;

  function commit(): Promise<void> {
    committing ??= commitResolved().finally(() => (committing = undefined));
    return committing;
  }

  async function commitResolved(): Promise<void> {
    const pending: Array<{ state: PartitionState; offset: bigint }> = [];
    for (const state of states.values()) {
      const offset = state.tracker.committable();
      if (offset !== undefined && offset !== state.lastCommitted) pending.push({ state, offset });
    }
    if (pending.length === 0) return;
    try {
      await consumer.commitOffsets(
        pending.map(({ state, offset }) => ({
          topic: state.topic,
          partition: state.partition,
          offset: offset.toString(),
        })),
      );
      for (const { state, offset } of pending) state.lastCommitted = offset;
    } catch (error) {
      metrics.commitFailures.inc(consumerLabel);
      logger.warn(
        { err: error, consumer: options.name },
        'offset commit failed; trying again at the next interval',
      );
    }
  }

  return {
    commit,
    start() {
      commitTimer = setInterval(() => void commit(), options.commitIntervalMs);
    },
    stop() {
      clearInterval(commitTimer);
    },
  };
}
