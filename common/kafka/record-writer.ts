import type { Message, Producer, TopicMessages } from 'kafkajs';
import { SluiceError } from '../errors.js';

/** One record to write: an event, a retry-tier record, a dead letter or a replayed event. */
export interface OutgoingRecord {
  readonly topic: string;
  /** The partition key (KeyPartitioner hashes it); an event's is a string, a copied record's the bytes read. */
  readonly key: string | Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/** Why a write was not acknowledged. A closed list, so it can label a metric. */
export type WriteFailureReason =
  /** The produce request failed. */
  | 'send-failed'
  /** Still queued at its deadline: dropped, never written. */
  | 'deadline-unsent'
  /** Sent, not acknowledged by its deadline: it may still be written; its settled outcome follows. */
  | 'deadline-in-flight'
  /** Still queued when the writer was closed with `dropQueued`: never written. */
  | 'dropped-unsent';

/** What happened to a write; every record of a write shares it (they travel in one produce request). */
export type WriteOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: WriteFailureReason; readonly error?: unknown };

/** Told what happened to one write. Methods, so one object can serve many writes. */
export interface WriteListener {
  /** Called once, with the first of: acknowledged, failed, past its deadline, dropped. */
  answered(outcome: WriteOutcome): void;
  /**
   * Called once, after `answered`, with the final outcome: the same one, except for a write answered
   * `deadline-in-flight`, whose produce request's own result (acknowledged or `send-failed`) arrives
   * when Kafka answers it.
   */
  settled?(outcome: WriteOutcome): void;
}

/** Metrics hooks; the caller owns the metrics and their names. */
export interface RecordWriterHooks {
  /** Records and bytes written and not yet settled, after every change. */
  pendingChanged?(records: number, bytes: number): void;
  /**
   * A batch was handed to a producer: when its youngest write was queued, and whether the queue is
   * empty after it (the queueing-delay signal of the gateway's load shedding).
   */
  handedOff?(youngestEnqueuedMs: number, queueEmptyAfter: boolean, nowMs: number): void;
  /** A produce request was acknowledged. */
  sendAcked?(records: number, durationMs: number): void;
  /** A produce request failed. */
  sendFailed?(records: number, error: unknown): void;
  /** A write passed its deadline, still queued or in flight. */
  deadlinePassed?(reason: 'deadline-unsent' | 'deadline-in-flight', records: number): void;
}

export interface RecordWriterOptions {
  /** The producers to send with. */
  producers: ReadonlyArray<Pick<Producer, 'sendBatch'>>;
  /**
   * Produce requests one producer carries at once: 1 for an idempotent producer (kafkajs keeps one
   * request in flight per idempotent producer and broker anyway), more to pipeline on one that is not.
   */
  sendsPerProducer: number;
  /** A produce request takes queued writes up to this many records… */
  maxBatchRecords: number;
  /** …and this many bytes (estimated, see `outgoingRecordBytes`), below the topics' max.message.bytes. */
  maxBatchBytes: number;
  /**
   * Deadline of a write, from the moment it is queued: still queued then, it is dropped and never
   * written; in flight, it is answered `deadline-in-flight`. Also the broker's acknowledgement timeout.
   */
  deadlineMs: number;
  /**
   * Default 0: a write leaves as soon as a slot is idle. Above 0, a batch that is not full waits up
   * to this long for more writes: for a log written one small record at a time, where fewer, larger
   * requests cost the process and the broker far less than one request per record.
   */
  lingerMs?: number;
  hooks?: RecordWriterHooks;
  nowMs?: () => number;
}

export interface RecordWriter {
  /**
   * Queues records that travel together in one produce request (acks=all), in order; `listener`
   * learns the outcome. Throws SLUICE_SHUTTING_DOWN once the writer is closing.
   */
  write(records: readonly OutgoingRecord[], listener: WriteListener): void;
  /** Records written and not yet settled. */
  pendingRecords(): number;
  /** Their estimated bytes. */
  pendingBytes(): number;
  /** When the oldest produce request still in flight was sent; undefined when none is. */
  oldestSendStartedMs(): number | undefined;
  /**
   * Resolves once less than a full batch waits in the queue: a caller that writes a stream of
   * records awaits it, so the queue holds at most one batch while every producer is busy.
   */
  whenQueueHasRoom(): Promise<void>;
  /** Resolves once every write is settled and no produce request is in flight. */
  flush(): Promise<void>;
  /**
   * Refuses new writes, sends what is queued (or, with `dropQueued`, drops it: never written) and
   * resolves once every write is answered. Produce requests still in flight then settle later.
   */
  close(options?: { dropQueued?: boolean }): Promise<void>;
}

/** Per-record overhead of the Kafka record format and the produce request, for sizing batches. */
const recordOverheadBytes = 64;

/** A record's size in a produce request, estimated from its parts (the pending-bytes signal uses it). */
export function outgoingRecordBytes(record: OutgoingRecord): number {
  const key = record.key;
  let bytes = recordOverheadBytes + (record.value?.length ?? 0) + (key === null ? 0 : Buffer.byteLength(key));
  const headers = record.headers;
  for (const name in headers) bytes += name.length + Buffer.byteLength(headers[name]!);
  return bytes;
}

interface QueuedWrite {
  records: readonly OutgoingRecord[];
  bytes: number;
  enqueuedMs: number;
  deadlineMs: number;
  listener: WriteListener;
  answered: boolean;
}

interface Send {
  startedMs: number;
}

// Outcomes without a cause are shared: nothing is allocated per write to report one.
const acknowledged: WriteOutcome = Object.freeze({ ok: true });
const deadlineUnsent: WriteOutcome = Object.freeze({ ok: false, reason: 'deadline-unsent' });
const deadlineInFlight: WriteOutcome = Object.freeze({ ok: false, reason: 'deadline-in-flight' });
const droppedUnsent: WriteOutcome = Object.freeze({ ok: false, reason: 'dropped-unsent' });

/**
 * Group commit, the one way Sluice batches writes to Kafka: writes queue, and whenever a producer
 * has room it takes everything queued so far (up to the batch limits) into one produce request.
 * While requests are in flight the next batch gathers, so batches grow with load and latency stays
 * about one round trip at low load. A write's records are never split between requests, so their
 * order holds.
 */
export function createRecordWriter(options: RecordWriterOptions): RecordWriter {
  const nowMs = options.nowMs ?? Date.now;
  const hooks = options.hooks ?? {};
  const queue: QueuedWrite[] = [];
  const inFlight = new Set<QueuedWrite>();
  const sends = new Set<Send>();
  const idleSlots: Array<Pick<Producer, 'sendBatch'>> = [];
  for (const producer of options.producers) {
    for (let i = 0; i < options.sendsPerProducer; i++) idleSlots.push(producer);
  }
  let pendingRecords = 0;
  let pendingBytes = 0;
  let queuedRecords = 0;
  let queuedBytes = 0;
  let unanswered = 0;
  let closing = false;
  const idleWaiters: Array<() => void> = [];
  const answeredWaiters: Array<() => void> = [];
  const roomWaiters: Array<() => void> = [];

  const sweepIntervalMs = Math.max(10, Math.min(100, Math.floor(options.deadlineMs / 10)));
  const sweeper = setInterval(expireOverdue, sweepIntervalMs);
  sweeper.unref();

  const idle = () => pendingRecords === 0 && sends.size === 0;
  const hasRoom = () => queuedRecords < options.maxBatchRecords && queuedBytes < options.maxBatchBytes;

  function wake(waiters: Array<() => void>): void {
    for (const resolve of waiters.splice(0)) resolve();
  }

  function answer(write: QueuedWrite, outcome: WriteOutcome): void {
    if (write.answered) return;
    write.answered = true;
    write.listener.answered(outcome);
    if (--unanswered === 0) wake(answeredWaiters);
  }

  function settle(write: QueuedWrite, outcome: WriteOutcome): void {
    answer(write, outcome);
    write.listener.settled?.(outcome);
    pendingRecords -= write.records.length;
    pendingBytes -= write.bytes;
    hooks.pendingChanged?.(pendingRecords, pendingBytes);
    if (idle()) wake(idleWaiters);
  }

  function dequeue(): QueuedWrite {
    const write = queue.shift()!;
    queuedRecords -= write.records.length;
    queuedBytes -= write.bytes;
    return write;
  }

  /** Drops queued writes past their deadline (never written) and answers those in flight. */
  function expireOverdue(): void {
    const now = nowMs();
    while (queue.length > 0 && queue[0]!.deadlineMs <= now) {
      const write = dequeue();
      hooks.deadlinePassed?.('deadline-unsent', write.records.length);
      settle(write, deadlineUnsent);
    }
    for (const write of inFlight) {
      if (!write.answered && write.deadlineMs <= now) {
        hooks.deadlinePassed?.('deadline-in-flight', write.records.length);
        answer(write, deadlineInFlight);
      }
    }
    if (hasRoom()) wake(roomWaiters);
  }

  /** The queued writes of one produce request; the first always goes, however large. */
  function takeBatch(): QueuedWrite[] {
    const batch: QueuedWrite[] = [];
    let bytes = 0;
    let records = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      const fits =
        bytes + next.bytes <= options.maxBatchBytes &&
        records + next.records.length <= options.maxBatchRecords;
      if (batch.length > 0 && !fits) break;
      batch.push(dequeue());
      bytes += next.bytes;
      records += next.records.length;
    }
    return batch;
  }

  function toTopicMessages(batch: readonly QueuedWrite[]): TopicMessages[] {
    const byTopic = new Map<string, Message[]>();
    for (const write of batch) {
      for (const record of write.records) {
        let messages = byTopic.get(record.topic);
        if (!messages) byTopic.set(record.topic, (messages = []));
        messages.push({ key: record.key, value: record.value, headers: record.headers });
      }
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  const lingerMs = options.lingerMs ?? 0;
  let lingerTimer: NodeJS.Timeout | undefined;

  /** Pumps now, or after `lingerMs` while the queue holds less than a full batch. */
  function schedulePump(): void {
    if (lingerMs === 0 || closing || queuedRecords >= options.maxBatchRecords) {
      pump();
      return;
    }
    if (lingerTimer !== undefined || queue.length === 0) return;
    lingerTimer = setTimeout(() => {
      lingerTimer = undefined;
      pump();
    }, lingerMs);
    lingerTimer.unref();
  }

  /** Starts as many produce requests as there are idle slots and queued writes. */
  function pump(): void {
    if (lingerTimer !== undefined) {
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
    }
    while (queue.length > 0 && idleSlots.length > 0) {
      const producer = idleSlots.pop()!;
      const batch = takeBatch();
      hooks.handedOff?.(batch.at(-1)!.enqueuedMs, queue.length === 0, nowMs());
      const send: Send = { startedMs: nowMs() };
      sends.add(send);
      void sendBatch(producer, batch, send).finally(() => {
        sends.delete(send);
        idleSlots.push(producer);
        schedulePump();
        if (idle()) wake(idleWaiters);
      });
    }
    if (roomWaiters.length > 0 && hasRoom()) wake(roomWaiters);
  }

  async function sendBatch(
    producer: Pick<Producer, 'sendBatch'>,
    batch: readonly QueuedWrite[],
    send: Send,
  ): Promise<void> {
    let records = 0;
    for (const write of batch) {
      inFlight.add(write);
      records += write.records.length;
    }
    let outcome: WriteOutcome;
    try {
      await producer.sendBatch({
        topicMessages: toTopicMessages(batch),
        acks: -1,
        timeout: options.deadlineMs,
      });
      outcome = acknowledged;
      hooks.sendAcked?.(records, nowMs() - send.startedMs);
    } catch (error) {
      outcome = { ok: false, reason: 'send-failed', error };
      hooks.sendFailed?.(records, error);
    }
    for (const write of batch) {
      inFlight.delete(write);
      settle(write, outcome);
    }
  }

  return {
    write(records, listener) {
      if (closing) throw new SluiceError('SLUICE_SHUTTING_DOWN', 'the record writer is closed');
      if (records.length === 0) {
        listener.answered(acknowledged);
        listener.settled?.(acknowledged);
        return;
      }
      let bytes = 0;
      for (const record of records) bytes += outgoingRecordBytes(record);
      const enqueuedMs = nowMs();
      queue.push({
        records,
        bytes,
        enqueuedMs,
        deadlineMs: enqueuedMs + options.deadlineMs,
        listener,
        answered: false,
      });
      unanswered++;
      queuedRecords += records.length;
      queuedBytes += bytes;
      pendingRecords += records.length;
      pendingBytes += bytes;
      hooks.pendingChanged?.(pendingRecords, pendingBytes);
      schedulePump();
    },
    pendingRecords: () => pendingRecords,
    pendingBytes: () => pendingBytes,
    oldestSendStartedMs() {
      let oldest: number | undefined;
      for (const send of sends) if (oldest === undefined || send.startedMs < oldest) oldest = send.startedMs;
      return oldest;
    },
    whenQueueHasRoom() {
      if (hasRoom()) return Promise.resolve();
      return new Promise((resolve) => roomWaiters.push(resolve));
    },
    flush() {
      if (idle()) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close(closeOptions = {}) {
      closing = true;
      if (closeOptions.dropQueued) while (queue.length > 0) settle(dequeue(), droppedUnsent);
      else pump(); // What lingers leaves now.
      wake(roomWaiters);
      if (unanswered > 0) await new Promise<void>((resolve) => answeredWaiters.push(resolve));
      clearInterval(sweeper);
    },
  };
}
