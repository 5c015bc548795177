import { setMaxListeners } from 'node:events';
import type { Consumer, EachBatchPayload, KafkaMessage } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import { sleepMs } from './abortable.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import { fromKafkaMessage, type ConsumedRecord } from '../../common/kafka/index.js';
import type { DispatchSignals } from './delivery-service.js';
import { OffsetTracker } from './offset-tracker.js';

/** Records in flight across every consumer of the process; each consumer pauses when it is spent. */
export interface InFlightBudget {
  inFlight: number;
  readonly max: number;
}

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

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly tracker: OffsetTracker;
  /** Aborted when the partition is revoked: waiting work gives up, the new owner re-reads it. */
  readonly revoke: AbortController;
  readonly waitSignal: AbortSignal;
  revoked: boolean;
  pausedFor: 'backpressure' | 'hold' | undefined;
  holdTimer: NodeJS.Timeout | undefined;
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

const maxTimerMs = 2 ** 31 - 1;
const maintenanceIntervalMs = 250;
/**
 * Records a batch dispatches before it yields to the event loop. A worker's first fetch can bring
 * thousands; without a yield its event loop stalled for 340–380 ms at start (max
 * `nodejs_eventloop_lag`), with one every 200 records for 170–220 ms.
 */
const dispatchesPerTurn = 200;

function eventTimeOf(record: ConsumedRecord): number {
  const parsed = record.headers.ce_time === undefined ? Number.NaN : Date.parse(record.headers.ce_time);
  return Number.isFinite(parsed) ? parsed : record.timestampMs;
}

/**
 * A kafkajs consumer whose records are handled by asynchronous tasks, off the consume loop:
 *
 * - `eachBatch` only dispatches. Each dispatched record's offset is resolved at once in kafkajs
 *   (that only moves the fetch position: autoCommit is off), tracked in an OffsetTracker, and
 *   the task runs on its own. The loop calls `heartbeat()` as it goes, and kafkajs heartbeats
 *   between fetches even while every partition is paused, so a slow receiver never costs the
 *   group membership.
 * - Backpressure: when a partition (or the process) has too many unresolved records, the
 *   partition is paused and the rest of the batch waits in memory (its backlog), dispatched one
 *   record per record resolved. Fetching resumes once the backlog is empty and the partition is
 *   at half its bound. (Leaving the rest to be fetched again had the worker decode most records
 *   several times: a fetch brings up to 1 MB per partition, a resume dispatched a few hundred
 *   records, and decoding was 14 % of its CPU.) A retry tier keeps no backlog: the rest is left
 *   unresolved and fetched again after `resume`.
 * - Retry tiers: a record that is not due pauses its partition until its due time (a timer, not a
 *   sleep in the loop), and is fetched again then.
 * - Commits: every `commitIntervalMs`, on rebalance and on stop, each partition's committable
 *   offset (below the lowest unresolved record) is committed.
 * - Rebalance: on a new assignment, revoked partitions stop (waiting work is aborted; their
 *   records go to the new owner, where deduplication prevents a second success); partitions kept
 *   keep their trackers, and records kafkajs re-fetches below what was already dispatched are skipped.
 */
export function createTrackedConsumer(options: TrackedConsumerOptions): TrackedConsumer {
  const { consumer, metrics, logger, budget } = options;
  const nowMs = options.nowMs ?? Date.now;
  const states = new Map<string, PartitionState>();
  const hardStop = new AbortController();
  // Every delivery in flight listens on these long-lived signals (and removes its listener when
  // done), so hundreds of listeners are normal, not a leak.
  setMaxListeners(0, hardStop.signal);
  let joined = false;
  let stopping = false;
  let committing: Promise<void> | undefined;
  let commitTimer: NodeJS.Timeout | undefined;
  let maintenanceTimer: NodeJS.Timeout | undefined;
  const consumerLabel = { consumer: options.name };

  const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

  function stateFor(topic: string, partition: number): PartitionState {
    const key = keyOf(topic, partition);
    let state = states.get(key);
    if (state === undefined) {
      const revoke = new AbortController();
      const waitSignal = AbortSignal.any([revoke.signal, hardStop.signal]);
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

  function revokeState(state: PartitionState, why: string): void {
    state.revoked = true;
    dropBacklog(state);
    budget.inFlight -= state.tracker.inFlight();
    if (state.holdTimer !== undefined) clearTimeout(state.holdTimer);
    state.revoke.abort(new Error(why));
    states.delete(keyOf(state.topic, state.partition));
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

  /** Runs one record's task; a fault (not an abort) is logged and tried again, since work is idempotent. */
  async function runTask(state: PartitionState, record: ConsumedRecord): Promise<void> {
    const signals: DispatchSignals = { wait: state.waitSignal, send: hardStop.signal };
    let backoffMs = 1000;
    for (;;) {
      try {
        await options.handle(record, signals);
        break;
      } catch (error) {
        if (state.waitSignal.aborted) return;
        logger.error(
          { err: error, topic: record.topic, partition: record.partition, offset: record.offset, backoffMs },
          'handling a record failed unexpectedly; trying it again',
        );
        try {
          await sleepMs(backoffMs, state.waitSignal);
        } catch {
          return;
        }
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
    if (state.revoked) return;
    state.tracker.resolve(record.offset);
    budget.inFlight--;
    // The freed place goes to this partition's backlog first, then to any other's.
    dispatchBacklog(state);
    if (budget.inFlight < budget.max) for (const other of backlogged) dispatchBacklog(other);
    if (state.pausedFor === 'backpressure' && mayResume(state)) resumePartition(state);
  }

  function dispatch(state: PartitionState, record: ConsumedRecord): void {
    state.tracker.track(record.offset, eventTimeOf(record));
    budget.inFlight++;
    void runTask(state, record);
  }

  /** Partitions with a backlog, so a place freed anywhere in the process can serve them. */
  const backlogged = new Set<PartitionState>();

  function keepBacklog(state: PartitionState, messages: KafkaMessage[], from: number): void {
    state.backlog = messages;
    state.backlogNext = from;
    backlogged.add(state);
  }

  function dropBacklog(state: PartitionState): void {
    state.backlog = undefined;
    backlogged.delete(state);
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

  /** Records dispatched from fetched batches since the event loop last had a turn. */
  let dispatchedInTurn = 0;

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const state = stateFor(batch.topic, batch.partition);
    state.highWatermark = BigInt(batch.highWatermark);
    // kafkajs fetches a partition with a backlog only from the committed offset, after a rebalance
    // that kept it here: the batch holds the backlog's records again.
    dropBacklog(state);
    let lastBeatMs = nowMs();
    const { messages } = batch;
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      if (!isRunning() || isStale() || stopping || state.revoked) break;
      const next = state.tracker.nextOffset();
      if (next !== undefined && BigInt(message.offset) < next) {
        // Re-fetched after a rebalance kept this partition here: already dispatched.
        resolveOffset(message.offset);
        continue;
      }
      if (overBudget(state)) {
        pausePartition(state, 'backpressure');
        // Events: the rest waits here, fetched and decoded once. A retry tier leaves it unresolved,
        // to be fetched again, since its records may have to wait for their due time.
        if (options.dueAtMs === undefined) {
          keepBacklog(state, messages, index);
          resolveOffset(messages.at(-1)!.offset);
        }
        break;
      }
      const record = fromKafkaMessage(batch.topic, batch.partition, message);
      const dueAtMs = options.dueAtMs?.(record);
      if (dueAtMs !== undefined && dueAtMs > nowMs()) {
        metrics.records.inc({ consumer: options.name, result: 'held' });
        hold(state, dueAtMs);
        break;
      }
      dispatch(state, record);
      resolveOffset(message.offset);
      if (nowMs() - lastBeatMs >= options.heartbeatEveryMs) {
        await heartbeat();
        lastBeatMs = nowMs();
      }
      // kafkajs hands over a fetch's batches one after another without letting I/O in, and a
      // record costs tens of µs to dispatch: give the answers waiting in sockets a turn now and then.
      if (++dispatchedInTurn >= dispatchesPerTurn) {
        dispatchedInTurn = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

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

  function maintain(): void {
    let paused = { backpressure: 0, hold: 0 };
    let oldestEventTimeMs = Number.POSITIVE_INFINITY;
    let inFlight = 0;
    for (const state of states.values()) {
      // Places freed by the other consumer of the process (they share the budget) are seen here.
      dispatchBacklog(state);
      if (state.pausedFor === 'backpressure' && mayResume(state)) resumePartition(state);
      if (state.pausedFor !== undefined)
        paused = { ...paused, [state.pausedFor]: paused[state.pausedFor] + 1 };
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

  function totalInFlight(): number {
    let total = 0;
    for (const state of states.values()) total += state.tracker.inFlight();
    return total;
  }

  async function drain(timeoutMs: number): Promise<boolean> {
    // Real time, not the injected clock: this waits for real tasks.
    const deadline = performance.now() + timeoutMs;
    while (totalInFlight() > 0 && performance.now() < deadline) await sleepMs(50);
    return totalInFlight() === 0;
  }

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    metrics.groupJoins.inc(consumerLabel);
    const assigned = new Set<string>();
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      for (const partition of partitions) assigned.add(keyOf(topic, partition));
    }
    for (const [key, state] of states) if (!assigned.has(key)) revokeState(state, 'partition revoked');
    logger.info(
      { consumer: options.name, groupId: payload.groupId, assignment: payload.memberAssignment },
      'joined the consumer group',
    );
  });
  consumer.on(consumer.events.REBALANCING, () => {
    // Commit what is resolved while this member still owns its partitions (best effort).
    void commit();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    for (const state of [...states.values()]) revokeState(state, 'consumer crashed');
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
      commitTimer = setInterval(() => void commit(), options.commitIntervalMs);
      maintenanceTimer = setInterval(maintain, maintenanceIntervalMs);
    },
    ready: () => joined && !stopping,
    inFlight: totalInFlight,
    commit,
    async stop(graceMs) {
      if (stopping) return;
      stopping = true;
      try {
        consumer.pause(options.topics.map((topic) => ({ topic })));
      } catch {
        // Not running: nothing to pause.
      }
      for (const state of states.values()) if (state.holdTimer !== undefined) clearTimeout(state.holdTimer);
      if (!(await drain(graceMs))) {
        logger.warn(
          { consumer: options.name, inFlight: totalInFlight() },
          'shutdown grace period over; aborting in-flight deliveries',
        );
        hardStop.abort(new Error('shutting down'));
        await drain(2000);
      }
      clearInterval(commitTimer);
      clearInterval(maintenanceTimer);
      await commit();
      await consumer.disconnect();
    },
  };
}
