import { setMaxListeners } from 'node:events';
import type { Consumer, KafkaMessage } from '../../common/kafka/index.js';
import { fromKafkaMessage, type ConsumedRecord } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import { OffsetTracker } from './offset-tracker.js';

/** Records in flight across every consumer of the process; each consumer pauses when it is spent. */
export interface InFlightBudget {
  inFlight: number;
  readonly max: number;
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly tracker: OffsetTracker;
  /** Aborted when the partition is revoked: waiting work gives up, the new owner re-reads it. */
  readonly revoke: AbortController;
  readonly waitSignal: AbortSignal;
  revoked: boolean;
  pausedFor: 'backpressure' | 'hold' | undefined;
  holdTimer: NodeJS.Timeout | undefined;
  /** Written by the commit loop: what this member last committed here. */
  lastCommitted: bigint | undefined;
  highWatermark: bigint | undefined;
  /**
   * The rest of a fetched batch that met the in-flight bound, in offset order, from `backlogNext`
   * on: dispatched one by one as records resolve. Their offsets are already resolved in kafkajs,
   * which is safe because nothing at or after the first of them is ever committed before it is
   * dispatched and resolved (commits stop below the lowest unresolved record, and these come after
   * every tracked one).
   */
  backlog: KafkaMessage[] | undefined;
  backlogNext: number;
}

export interface PartitionFlowOptions {
  consumer: Consumer;
  /** `events` or `retry`: labels metrics. */
  name: string;
  maxInFlightPerPartition: number;
  budget: InFlightBudget;
  /** Aborts every partition's waiting work at once (shutdown after the grace period). */
  hardStop: AbortSignal;
  /** Starts a dispatched record's task; the task calls `settle` once the record is handled. */
  startTask: (state: PartitionState, record: ConsumedRecord) => void;
  metrics: DeliveryMetrics;
  logger: Logger;
  nowMs: () => number;
}

/**
 * The partitions this member owns, what each has in flight, and the backpressure between them and
 * kafkajs: pause above the in-flight bounds, an in-memory backlog of the rest of the batch that
 * met the bound, resume at half the bound once the backlog is empty, and retry-tier holds.
 */
export interface PartitionFlow {
  readonly states: ReadonlyMap<string, PartitionState>;
  /** The partition's state, created on its first batch. */
  stateFor(topic: string, partition: number): PartitionState;
  /** Whether the partition (or the process) is at its in-flight bound. */
  overBudget(state: PartitionState): boolean;
  /** Pauses fetching until `dueAtMs`, when the held record is fetched again. */
  hold(state: PartitionState, dueAtMs: number): void;
  /** Pauses fetching: the partition is at its in-flight bound. */
  pauseForBackpressure(state: PartitionState): void;
  /** Keeps the rest of a batch, from `from` on, to dispatch as places free up. */
  keepBacklog(state: PartitionState, messages: KafkaMessage[], from: number): void;
  dropBacklog(state: PartitionState): void;
  /** Tracks the record as in flight and starts its task. */
  dispatch(state: PartitionState, record: ConsumedRecord): void;
  /** A record's task is done: frees its place, which goes to backlogs first, and resumes when it may. */
  settle(state: PartitionState, offset: string): void;
  /** Gives the partition up: waiting work is aborted and the next owner reads it again. */
  revoke(state: PartitionState, why: string): void;
  /** Dispatches backlogs and resumes paused partitions as places freed elsewhere allow. */
  sweep(): void;
  /** No more dispatching or resuming from now on; hold timers are cleared. */
  stop(): void;
  stopping(): boolean;
  totalInFlight(): number;
}

const maxTimerMs = 2 ** 31 - 1;

export const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function eventTimeOf(record: ConsumedRecord): number {
  const parsed = record.headers.ce_time === undefined ? Number.NaN : Date.parse(record.headers.ce_time);
  return Number.isFinite(parsed) ? parsed : record.timestampMs;
}

export function createPartitionFlow(options: PartitionFlowOptions): PartitionFlow {
  const { consumer, metrics, logger, budget, nowMs } = options;
  const states = new Map<string, PartitionState>();
  /** Partitions with a backlog, so a place freed anywhere in the process can serve them. */
  const backlogged = new Set<PartitionState>();
  const consumerLabel = { consumer: options.name };
  let stopping = false;

  function stateFor(topic: string, partition: number): PartitionState {
    const key = partitionKey(topic, partition);
    let state = states.get(key);
    if (state === undefined) {
      const revoke = new AbortController();
      const waitSignal = AbortSignal.any([revoke.signal, options.hardStop]);
      // Every delivery in flight listens on this signal (and removes its listener when done), so
      // hundreds of listeners are normal, not a leak.
      setMaxListeners(0, waitSignal);
      state = {
        topic,
        partition,
        tracker: new OffsetTracker(),
        revoke,
        waitSignal,
        revoked: false,
        pausedFor: undefined,
        holdTimer: undefined,
        lastCommitted: undefined,
        highWatermark: undefined,
        backlog: undefined,
        backlogNext: 0,
      };
      states.set(key, state);
    }
    return state;
  }

  function pausePartition(state: PartitionState, reason: 'backpressure' | 'hold'): void {
    state.pausedFor = reason;
    metrics.partitionPauses.inc({ ...consumerLabel, reason });
    try {
      consumer.pause([{ topic: state.topic, partitions: [state.partition] }]);
    } catch (error) {
      logger.debug({ err: error }, 'pause failed: the consumer is not running');
    }
  }

  function resumePartition(state: PartitionState): void {
    state.pausedFor = undefined;
    if (state.holdTimer !== undefined) clearTimeout(state.holdTimer);
    state.holdTimer = undefined;
    if (stopping) return;
    try {
      consumer.resume([{ topic: state.topic, partitions: [state.partition] }]);
    } catch (error) {
      logger.debug({ err: error }, 'resume failed: the consumer is not running');
    }
  }

  function overBudget(state: PartitionState): boolean {
    return state.tracker.inFlight() >= options.maxInFlightPerPartition || budget.inFlight >= budget.max;
  }

  /** Never with a backlog: kafkajs would fetch from after it (its offsets are resolved there). */
  function mayResume(state: PartitionState): boolean {
    return (
      state.backlog === undefined &&
      state.tracker.inFlight() <= Math.floor(options.maxInFlightPerPartition / 2) &&
      budget.inFlight <= Math.floor(budget.max * 0.9)
    );
  }

  function hold(state: PartitionState, dueAtMs: number): void {
    pausePartition(state, 'hold');
    const delayMs = Math.min(Math.max(0, dueAtMs - nowMs()), maxTimerMs);
    state.holdTimer = setTimeout(() => {
      state.holdTimer = undefined;
      if (!state.revoked) resumePartition(state);
    }, delayMs);
  }

  function keepBacklog(state: PartitionState, messages: KafkaMessage[], from: number): void {
    state.backlog = messages;
    state.backlogNext = from;
    backlogged.add(state);
  }

  function dropBacklog(state: PartitionState): void {
    state.backlog = undefined;
    backlogged.delete(state);
  }

  function dispatch(state: PartitionState, record: ConsumedRecord): void {
    state.tracker.track(record.offset, eventTimeOf(record));
    budget.inFlight++;
    options.startTask(state, record);
  }

  /** Dispatches the partition's backlog while the in-flight bounds allow. */
  function dispatchBacklog(state: PartitionState): void {
    const backlog = state.backlog;
    if (backlog === undefined) return;
    while (state.backlogNext < backlog.length) {
      if (stopping || state.revoked || overBudget(state)) return;
      dispatch(state, fromKafkaMessage(state.topic, state.partition, backlog[state.backlogNext++]!));
    }
    dropBacklog(state);
  }

  function settle(state: PartitionState, offset: string): void {
    if (state.revoked) return;
    state.tracker.resolve(offset);
    budget.inFlight--;
    // The freed place goes to this partition's backlog first, then to any other's.
    dispatchBacklog(state);
    if (budget.inFlight < budget.max) for (const other of backlogged) dispatchBacklog(other);
    if (state.pausedFor === 'backpressure' && mayResume(state)) resumePartition(state);
  }

  function revoke(state: PartitionState, why: string): void {
    state.revoked = true;
    dropBacklog(state);
    budget.inFlight -= state.tracker.inFlight();
    if (state.holdTimer !== undefined) clearTimeout(state.holdTimer);
    state.revoke.abort(new Error(why));
    states.delete(partitionKey(state.topic, state.partition));
    metrics.consumerLag.remove({ topic: state.topic, partition: String(state.partition) });
    // kafkajs keeps pause flags across assignments; clear ours so a later reassignment is not stuck.
    if (state.pausedFor !== undefined) {
      try {
        consumer.resume([{ topic: state.topic, partitions: [state.partition] }]);
      } catch {
        // The consumer is gone (crash): its pause flags went with it.
      }
    }
  }

  function sweep(): void {
    for (const state of states.values()) {
      // Places freed by the other consumer of the process (they share the budget) are seen here.
      dispatchBacklog(state);
      if (state.pausedFor === 'backpressure' && mayResume(state)) resumePartition(state);
    }
  }

  function totalInFlight(): number {
    let total = 0;
    for (const state of states.values()) total += state.tracker.inFlight();
    return total;
  }

  return {
    states,
    stateFor,
    overBudget,
    hold,
    pauseForBackpressure: (state) => pausePartition(state, 'backpressure'),
    keepBacklog,
    dropBacklog,
    dispatch,
    settle,
    revoke,
    sweep,
    stop() {
      stopping = true;
      for (const state of states.values()) if (state.holdTimer !== undefined) clearTimeout(state.holdTimer);
    },
    stopping: () => stopping,
    totalInFlight,
  };
}
