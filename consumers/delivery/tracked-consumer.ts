import { setMaxListeners } from 'node:events';
import type { ConsumedRecord, Consumer } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import { sleepMs } from './abortable.js';
import { createBatchDispatcher } from './batch-dispatcher.js';
import { createCommitLoop } from './commit-loop.js';
import { reportConsumerGauges } from './consumer-gauges.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import type { DispatchSignals } from './record-task.js';
import { watchGroupMembership } from './group-membership.js';
import { createPartitionFlow, type InFlightBudget } from './partition-flow.js';
import { createRecordTask } from './record-task.js';

export type { InFlightBudget } from './partition-flow.js';

export interface TrackedConsumerOptions {
  /** `events` or `retry`: labels metrics and logs. */
  name: string;
  consumer: Consumer;
  topics: readonly string[];
  maxInFlightPerPartition: number;
  budget: InFlightBudget;
  commitIntervalMs: number;
  /** How often the dispatch loop calls `heartbeat()` while walking a large batch. */
  heartbeatEveryMs: number;
  /** Retry tiers: when a record may be handled; a record not yet due holds its partition until then. */
  dueAtMs?: (record: ConsumedRecord) => number | undefined;
  /** Handles one record to resolution; rejects only when aborted (or on a fault, which is retried). */
  handle: (record: ConsumedRecord, signals: DispatchSignals) => Promise<void>;
  /** A crash kafkajs will not recover from: the process should exit so it is restarted. */
  onFatal: (error: Error) => void;
  metrics: DeliveryMetrics;
  logger: Logger;
  nowMs?: () => number;
}

export interface TrackedConsumer {
  /** Connects, subscribes and starts consuming; resolves once the consumer runs (not yet joined). */
  start(): Promise<void>;
  /** Whether the consumer is a member of its group and consuming. */
  ready(): boolean;
  inFlight(): number;
  /** Commits resolved offsets now. */
  commit(): Promise<void>;
  /**
   * Stops fetching, lets in-flight deliveries finish for up to `graceMs` (then aborts them: they
   * are read again by the next owner), commits what is resolved, and leaves the group.
   */
  stop(graceMs: number): Promise<void>;
}

const maintenanceIntervalMs = 250;

/**
 * A kafkajs consumer whose records are handled by asynchronous tasks, off the consume loop. Its
 * parts, one job each:
 *
 * - `createBatchDispatcher`: `eachBatch` only dispatches, heartbeating as it goes; kafkajs
 *   heartbeats between fetches even while every partition is paused, so a slow receiver never
 *   costs the group membership.
 * - `createPartitionFlow`: per-partition state and backpressure. A partition (or the process) with
 *   too many unresolved records is paused and the rest of the batch waits in memory (its backlog),
 *   dispatched one record per record resolved; fetching resumes once the backlog is empty and the
 *   partition is at half its bound. (Leaving the rest to be fetched again had the worker decode
 *   most records several times: a fetch brings up to 1 MB per partition, a resume dispatched a few
 *   hundred records, and decoding was 14 % of its CPU.) A retry tier keeps no backlog: the rest is
 *   left unresolved and fetched again after `resume`. A retry-tier record not yet due pauses its
 *   partition until its due time (a timer, not a sleep in the loop).
 * - `createRecordTask`: one record's task, tried again after a fault until handled or aborted.
 * - `createCommitLoop`: every `commitIntervalMs`, on rebalance and on stop, each partition's
 *   committable offset (below the lowest unresolved record) is committed.
 * - `watchGroupMembership`: on a new assignment revoked partitions stop (waiting work is aborted;
 *   the new owner reads them again), partitions kept keep their trackers; a crash revokes all.
 */
export function createTrackedConsumer(options: TrackedConsumerOptions): TrackedConsumer {
  const { consumer, metrics, logger } = options;
  const nowMs = options.nowMs ?? Date.now;
  const hardStop = new AbortController();
  // Every delivery in flight listens on this long-lived signal (and removes its listener when
  // done), so hundreds of listeners are normal, not a leak.
  setMaxListeners(0, hardStop.signal);
  let maintenanceTimer: NodeJS.Timeout | undefined;

  const runRecordTask = createRecordTask({
    handle: options.handle,
    hardStop: hardStop.signal,
    onHandled: (state, offset) => flow.settle(state, offset),
    logger,
  });
  const flow = createPartitionFlow({
    consumer,
    name: options.name,
    maxInFlightPerPartition: options.maxInFlightPerPartition,
    budget: options.budget,
    hardStop: hardStop.signal,
    startTask: (state, record) => void runRecordTask(state, record),
    metrics,
    logger,
    nowMs,
  });
  const commits = createCommitLoop({
    consumer,
    name: options.name,
    states: flow.states,
    commitIntervalMs: options.commitIntervalMs,
    metrics,
    logger,
  });
  const membership = watchGroupMembership({
    consumer,
    name: options.name,
    flow,
    commit: commits.commit,
    onFatal: options.onFatal,
    metrics,
    logger,
  });
  const eachBatch = createBatchDispatcher({
    name: options.name,
    flow,
    heartbeatEveryMs: options.heartbeatEveryMs,
    dueAtMs: options.dueAtMs,
    metrics,
    nowMs,
  });

  function maintain(): void {
    flow.sweep();
    reportConsumerGauges(options.name, flow.states, metrics, nowMs);
  }

  async function drain(timeoutMs: number): Promise<boolean> {
    // Real time, not the injected clock: this waits for real tasks.
    const deadline = performance.now() + timeoutMs;
    while (flow.totalInFlight() > 0 && performance.now() < deadline) await sleepMs(50);
    return flow.totalInFlight() === 0;
  }

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch,
      });
      commits.start();
      maintenanceTimer = setInterval(maintain, maintenanceIntervalMs);
    },
    ready: () => membership.joined() && !flow.stopping(),
    inFlight: flow.totalInFlight,
    commit: commits.commit,
    async stop(graceMs) {
      if (flow.stopping()) return;
      flow.stop();
      try {
        consumer.pause(options.topics.map((topic) => ({ topic })));
      } catch {
        // Not running: nothing to pause.
      }
      if (!(await drain(graceMs))) {
        logger.warn(
          { consumer: options.name, inFlight: flow.totalInFlight() },
          'shutdown grace period over; aborting in-flight deliveries',
        );
        hardStop.abort(new Error('shutting down'));
        await drain(2000);
      }
      commits.stop();
      clearInterval(maintenanceTimer);
      await commits.commit();
      await consumer.disconnect();
    },
  };
}
