import type { ConsumedRecord, EachBatchPayload } from '../../common/kafka/index.js';
import { fromKafkaMessage } from '../../common/kafka/index.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import type { PartitionFlow } from './partition-flow.js';

export interface BatchDispatcherOptions {
  /** `events` or `retry`: labels metrics. */
  name: string;
  flow: PartitionFlow;
  /** How often the loop calls `heartbeat()` while walking a large batch. */
  heartbeatEveryMs: number;
  /** Retry tiers: when a record may be handled; a record not yet due holds its partition until then. */
  dueAtMs: ((record: ConsumedRecord) => number | undefined) | undefined;
  metrics: DeliveryMetrics;
  nowMs: () => number;
}

/**
 * Records a batch dispatches before it yields to the event loop. A worker's first fetch can bring
 * thousands; without a yield its event loop stalled for 340–380 ms at start (max
 * `nodejs_eventloop_lag`), with one every 200 records for 170–220 ms.
 */
const dispatchesPerTurn = 200;

/**
 * Returns the kafkajs `eachBatch` handler, which only dispatches: each record's offset is resolved
 * in kafkajs at once (that only moves the fetch position: autoCommit is off) and its task runs on
 * its own. It stops at the in-flight bound (the partition pauses; on the events topic the rest of
 * the batch becomes its backlog), at a retry-tier record not yet due (the partition is held), and
 * skips records re-fetched after a rebalance that kept the partition here.
 */
export function createBatchDispatcher(options: BatchDispatcherOptions) {
  const { flow, metrics, nowMs } = options;
  /** Records dispatched from fetched batches since the event loop last had a turn. */
  let dispatchedInTurn = 0;

  return async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const state = flow.stateFor(batch.topic, batch.partition);
    state.highWatermark = BigInt(batch.highWatermark);
    // kafkajs fetches a partition with a backlog only from the committed offset, after a rebalance
    // that kept it here: the batch holds the backlog's records again.
    flow.dropBacklog(state);
    let lastBeatMs = nowMs();
    const { messages } = batch;
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      if (!isRunning() || isStale() || flow.stopping() || state.revoked) break;
      const next = state.tracker.nextOffset();
      if (next !== undefined && BigInt(message.offset) < next) {
        // Re-fetched after a rebalance kept this partition here: already dispatched.
        resolveOffset(message.offset);
        continue;
      }
      if (flow.overBudget(state)) {
        flow.pauseForBackpressure(state);
        // Events: the rest waits here, fetched and decoded once. A retry tier leaves it unresolved,
        // to be fetched again, since its records may have to wait for their due time.
        if (options.dueAtMs === undefined) {
          flow.keepBacklog(state, messages, index);
          resolveOffset(messages.at(-1)!.offset);
        }
        break;
      }
      const record = fromKafkaMessage(batch.topic, batch.partition, message);
      const dueAtMs = options.dueAtMs?.(record);
      if (dueAtMs !== undefined && dueAtMs > nowMs()) {
        metrics.records.inc({ consumer: options.name, result: 'held' });
        flow.hold(state, dueAtMs);
        break;
      }
      flow.dispatch(state, record);
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
  };
}
