import type { ConsumedRecord } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import { sleepMs } from './abortable.js';
import type { PartitionState } from './partition-flow.js';

/**
 * Two signals per dispatched record. `wait` aborts the waiting (for a turn, a slot, a lease, a
 * retry write) when the partition is revoked or the process stops for good; `send` aborts an HTTP
 * attempt in flight, only once the shutdown grace period is over. Aborted work stays unresolved,
 * so its offset is not committed and the record is read again.
 */
export interface DispatchSignals {
  wait: AbortSignal;
  send: AbortSignal;
}

export interface RecordTaskOptions {
  /** Handles one record to resolution; rejects only when aborted (or on a fault, which is retried). */
  handle: (record: ConsumedRecord, signals: DispatchSignals) => Promise<void>;
  /** Aborts sends in flight (shutdown after the grace period). */
  hardStop: AbortSignal;
  /** Called once the record is handled; never when its partition's work was aborted. */
  onHandled: (state: PartitionState, offset: string) => void;
  logger: Logger;
}

const firstBackoffMs = 1000;
const maxBackoffMs = 30_000;

/**
 * Returns the task that runs one dispatched record off the consume loop. A fault (not an abort) is
 * logged and the record handled again after a backoff, since handling is idempotent; an abort (the
 * partition was revoked, or shutdown) gives the record up to whoever reads the partition next.
 */
export function createRecordTask(options: RecordTaskOptions) {
  const { handle, hardStop, onHandled, logger } = options;
  return async function runRecordTask(state: PartitionState, record: ConsumedRecord): Promise<void> {
    const signals: DispatchSignals = { wait: state.waitSignal, send: hardStop };
    let backoffMs = firstBackoffMs;
    for (;;) {
      try {
        await handle(record, signals);
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
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      }
    }
    onHandled(state, record.offset);
  };
}
