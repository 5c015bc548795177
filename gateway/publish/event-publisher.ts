import type { Message, Producer, TopicMessages } from '../../common/kafka/index.js';
import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { PublisherMetrics } from './publisher-metrics.js';
import { createStandingQueue } from './standing-queue.js';

/** One Kafka record, ready to send. */
export interface OutgoingRecord {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** What finally happened to a request's records, reported once, possibly after the caller's deadline. */
export type PublishOutcome = 'acked' | 'failed' | 'expired-unsent';

export interface EventPublisherOptions {
  /**
   * One or more idempotent producers. kafkajs keeps one produce request in flight per producer and
   * broker, so N producers let N group-commit batches travel at once (each its own idempotent
   * sequence). A request's records always go together in one batch, so per-request order holds.
   */
  producers: ReadonlyArray<Pick<Producer, 'sendBatch'>>;
  /** A send groups queued requests up to this many bytes (kept under the topic's max.message.bytes). */
  maxBatchBytes: number;
  /** …and up to this many records. */
  maxBatchRecords: number;
  /** A request not acknowledged within this time is answered 503; unsent ones are never written. */
  sendTimeoutMs: number;
  /** Window of the queueing-delay signal: its smallest sojourn sample over this long (see standing-queue.ts). */
  queueDelayIntervalMs: number;
  metrics: PublisherMetrics;
  logger: Logger;
  nowMs?: () => number;
}

interface QueuedRequest {
  records: OutgoingRecord[];
  bytes: number;
  enqueuedMs: number;
  deadlineMs: number;
  /** Settles the caller's promise; a no-op after the first call. */
  answer: (error?: SluiceError) => void;
  onOutcome: ((outcome: PublishOutcome) => void) | undefined;
  answered: boolean;
}

export interface EventPublisher {
  /**
   * Resolves when Kafka acknowledged every record (acks=all), rejects with
   * SLUICE_KAFKA_UNAVAILABLE when that did not happen before the deadline. `onOutcome` learns
   * the final truth even when it arrives after the deadline (for the idempotency record).
   */
  publish(records: OutgoingRecord[], onOutcome?: (outcome: PublishOutcome) => void): Promise<void>;
  /** Events and bytes accepted for publishing and not yet acknowledged (load-shedding signals). */
  pendingEvents(): number;
  pendingBytes(): number;
  /**
   * Queueing delay in ms: the smallest wait, over the last interval, of requests before their
   * records were handed to Kafka (0 unless a backlog stands). A produce's own duration is not in it.
   */
  queueDelayMs(): number;
  /** Acknowledged events per second, smoothed: how fast the backlog drains. */
  ackedEventsPerSecond(): number;
  /**
   * False while a produce request has been waiting longer than the send deadline: Kafka is not
   * acknowledging, so readiness should steer traffic elsewhere until it does.
   */
  kafkaAcknowledging(): boolean;
  /** Waits until everything queued so far is settled. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

function recordBytes(record: OutgoingRecord): number {
  let bytes = record.value.length + Buffer.byteLength(record.key) + 64;
  const headers = record.headers;
  for (const name in headers) bytes += name.length + Buffer.byteLength(headers[name]!);
  return bytes;
}

/**
 * Group commit: every HTTP request enqueues its records; whenever a producer is idle it ships
 * everything queued so far in one produce request. While sends are in flight the next batch
 * gathers, so batches grow with load and latency stays about one round trip at low load.
 */
export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const nowMs = options.nowMs ?? Date.now;
  const queue: QueuedRequest[] = [];
  const inFlight = new Set<QueuedRequest>();
  let pendingEvents = 0;
  let pendingBytes = 0;
  const idleProducers = [...options.producers];
  /** When each send in flight started, to tell a stalled broker from a busy one. */
  const sendStartedMs = new Set<{ startedMs: number }>();
  const standingQueue = createStandingQueue(options.queueDelayIntervalMs);
  let sendsInFlight = 0;
  let closed = false;
  let ackRatePerSecond = 0;
  let ackWindowStartMs = nowMs();
  let ackWindowEvents = 0;
  const idleWaiters: Array<() => void> = [];

  const sweepIntervalMs = Math.max(10, Math.min(100, Math.floor(options.sendTimeoutMs / 10)));
  const sweeper = setInterval(expireOverdue, sweepIntervalMs);
  sweeper.unref();

  function updateGauges(): void {
    options.metrics.pendingEvents.set(pendingEvents);
    options.metrics.pendingBytes.set(pendingBytes);
  }

  function release(request: QueuedRequest): void {
    pendingEvents -= request.records.length;
    pendingBytes -= request.bytes;
    updateGauges();
    if (pendingEvents === 0 && sendsInFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
  }

  function timeoutError(): SluiceError {
    return new SluiceError(
      'SLUICE_KAFKA_UNAVAILABLE',
      `Kafka did not acknowledge within ${options.sendTimeoutMs} ms`,
      {
        retryAfterSeconds: Math.max(1, Math.ceil(options.sendTimeoutMs / 1000)),
      },
    );
  }

  /** Answers 503 to requests past their deadline; those not yet sent are dropped, never written. */
  function expireOverdue(): void {
    const now = nowMs();
    while (queue.length > 0 && queue[0]!.deadlineMs <= now) {
      const request = queue.shift()!;
      request.answer(timeoutError());
      request.onOutcome?.('expired-unsent');
      options.metrics.produceErrors.inc({ reason: 'deadline-unsent' });
      release(request);
    }
    for (const request of inFlight) {
      if (!request.answered && request.deadlineMs <= now) {
        request.answer(timeoutError());
        options.metrics.produceErrors.inc({ reason: 'deadline-in-flight' });
      }
    }
  }

  function takeBatch(): QueuedRequest[] {
    const batch: QueuedRequest[] = [];
    let bytes = 0;
    let records = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      const fits =
        bytes + next.bytes <= options.maxBatchBytes &&
        records + next.records.length <= options.maxBatchRecords;
      if (batch.length > 0 && !fits) break;
      batch.push(queue.shift()!);
      bytes += next.bytes;
      records += next.records.length;
    }
    return batch;
  }

  function toTopicMessages(batch: QueuedRequest[]): TopicMessages[] {
    const byTopic = new Map<string, Message[]>();
    for (const request of batch) {
      for (const record of request.records) {
        let messages = byTopic.get(record.topic);
        if (!messages) byTopic.set(record.topic, (messages = []));
        messages.push({ key: record.key, value: record.value, headers: record.headers });
      }
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  function noteAcked(events: number): void {
    ackWindowEvents += events;
    const now = nowMs();
    const elapsedMs = now - ackWindowStartMs;
    if (elapsedMs >= 250) {
      const rate = (ackWindowEvents * 1000) / elapsedMs;
      // EWMA over ~1 s of 250 ms windows: reacts to a drain within a second, ignores one slow send.
      ackRatePerSecond = ackRatePerSecond === 0 ? rate : 0.7 * ackRatePerSecond + 0.3 * rate;
      ackWindowStartMs = now;
      ackWindowEvents = 0;
    }
  }

  /** Starts as many sends as there are idle producers and queued requests. */
  function pump(): void {
    while (queue.length > 0 && idleProducers.length > 0) {
      const producer = idleProducers.pop()!;
      const batch = takeBatch();
      standingQueue.handOff(batch.at(-1)!.enqueuedMs, queue.length === 0, nowMs());
      sendsInFlight++;
      void send(producer, batch).finally(() => {
        sendsInFlight--;
        idleProducers.push(producer);
        pump();
        if (pendingEvents === 0 && sendsInFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
      });
    }
  }

  async function send(producer: Pick<Producer, 'sendBatch'>, batch: QueuedRequest[]): Promise<void> {
    for (const request of batch) inFlight.add(request);
    const events = batch.reduce((sum, request) => sum + request.records.length, 0);
    const startedMs = nowMs();
    const started = { startedMs };
    sendStartedMs.add(started);
    let outcome: PublishOutcome;
    try {
      await producer.sendBatch({
        topicMessages: toTopicMessages(batch),
        acks: -1,
        timeout: options.sendTimeoutMs,
      });
      outcome = 'acked';
      options.metrics.batchEvents.observe(events);
      options.metrics.produceDuration.observe((nowMs() - startedMs) / 1000);
      noteAcked(events);
    } catch (error) {
      outcome = 'failed';
      options.metrics.produceErrors.inc({ reason: 'send-failed' });
      options.logger.error({ err: error, events }, 'produce request failed');
    }
    sendStartedMs.delete(started);
    for (const request of batch) {
      inFlight.delete(request);
      if (outcome === 'acked') request.answer();
      else
        request.answer(
          new SluiceError('SLUICE_KAFKA_UNAVAILABLE', 'Kafka did not accept the events', {
            retryAfterSeconds: 1,
          }),
        );
      request.onOutcome?.(outcome);
      release(request);
    }
  }

  return {
    publish(records, onOutcome) {
      if (closed) {
        return Promise.reject(
          new SluiceError('SLUICE_SHUTTING_DOWN', 'the gateway is shutting down', { retryAfterSeconds: 1 }),
        );
      }
      return new Promise<void>((resolve, reject) => {
        const enqueuedMs = nowMs();
        const request: QueuedRequest = {
          records,
          bytes: records.reduce((sum, record) => sum + recordBytes(record), 0),
          enqueuedMs,
          deadlineMs: enqueuedMs + options.sendTimeoutMs,
          answered: false,
          onOutcome,
          answer: (error) => {
            if (request.answered) return;
            request.answered = true;
            if (error) reject(error);
            else resolve();
          },
        };
        queue.push(request);
        pendingEvents += records.length;
        pendingBytes += request.bytes;
        updateGauges();
        pump();
      });
    },
    pendingEvents: () => pendingEvents,
    pendingBytes: () => pendingBytes,
    queueDelayMs: () => standingQueue.delayMs(nowMs()),
    ackedEventsPerSecond() {
      // Without acks the EWMA is never updated; decay it per silent window so a stalled broker
      // reads as a falling drain rate (and a longer Retry-After), not as the last healthy one.
      const silentWindows = Math.floor((nowMs() - ackWindowStartMs) / 250) - 1;
      return silentWindows > 0 ? ackRatePerSecond * 0.7 ** silentWindows : ackRatePerSecond;
    },
    kafkaAcknowledging() {
      const now = nowMs();
      for (const send of sendStartedMs) if (now - send.startedMs > options.sendTimeoutMs) return false;
      return true;
    },
    flush() {
      if (pendingEvents === 0 && sendsInFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      await this.flush();
      clearInterval(sweeper);
    },
  };
}
