import { randomBytes } from 'node:crypto';
import {
  type Admin,
  type Message,
  type Producer,
  type KafkaClient,
  KeyPartitioner,
} from '../../common/kafka/index.js';
import { fromKafkaMessage, type ConsumedRecord, type OutgoingRecord } from '../../common/kafka/index.js';
import { buildReplayRecord } from '../../common/retry/retry-records.js';
import { isSluiceError, SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { compileSubscriptionMatcher } from '../../common/subscriptions/subscription-matcher.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import type { ReplayRequest } from './replay-request.js';
import { withTimeout } from '../../common/with-timeout.js';

export interface SubscriptionReplayerOptions {
  kafka: KafkaClient;
  eventsTopic: string;
  /** The first retry tier: replayed deliveries join the worker's retry path there. */
  retryTopic: string;
  /** Most events one replay may queue; a window holding more is refused before anything is written. */
  maxEvents: number;
  /** Deadline of one replay, reading and writing together. */
  timeoutMs: number;
  /** Replays running at once in this process; more are refused with 503. */
  maxConcurrent: number;
  /** Deadline of one produce request. */
  produceTimeoutMs: number;
  /** Bytes per produce request, below the retry topics' max.message.bytes. */
  maxBatchBytes: number;
  /** Records per produce request. Default 1000. */
  maxBatchRecords?: number;
  logger: Logger;
  nowMs?: () => number;
}

export type ReplayResult =
  | { dryRun: true; matched: number; scanned: number }
  | { dryRun: false; replayId: string; queued: number; scanned: number };

export interface SubscriptionReplayer {
  /**
   * Reads the window from the events topic and, unless it is a dry run, queues every event the
   * subscription matches in the first retry tier. Throws SluiceError: SLUICE_REPLAY_TOO_LARGE (422),
   * SLUICE_OVERLOADED (503, too many replays at once), SLUICE_REPLAY_TIMED_OUT or
   * SLUICE_SHUTTING_DOWN (503, with what was already queued), SLUICE_KAFKA_UNAVAILABLE (503).
   */
  replay(subscription: Subscription, request: ReplayRequest): Promise<ReplayResult>;
  /** Aborts running replays (they answer 503 with what they had queued) and waits until they stopped. */
  close(): Promise<void>;
}

/** Offsets of one partition inside the window: `start` inclusive, `end` exclusive. */
interface PartitionRange {
  partition: number;
  start: bigint;
  end: bigint;
}

interface Progress {
  scanned: number;
  matched: number;
  /** Records Kafka acknowledged in the retry tier. */
  queued: number;
  /** Records sent without an acknowledgement (deadline or failure): they may be in Kafka. */
  unconfirmed: number;
}

type AbortCause = 'deadline' | 'shutdown';

const maxSendsInFlight = 4;
/**
 * The replay shares the gateway's event loop with ingest: it yields after this many records so a
 * large fetch (megabytes of records) never holds the loop for long.
 */
const recordsBetweenYields = 256;
/** Per-record overhead of the Kafka record format, for sizing produce requests. */
const recordOverheadBytes = 70;

/**
 * Subscription replay (docs/architecture.md#subscriptions). The window is located with Kafka's time index
 * (`fetchTopicOffsetsByTimestamp`: per partition, the first offset at or after `from`, and the
 * first at or after `to`), read with a consumer of a throwaway group that seeks each partition and
 * commits nothing, and filtered by record timestamp and by the subscription's event types and
 * producer filter. Each selected event becomes a retry record due now, attempt 1, carrying a replay
 * id, written in chunks: the delivery worker then delivers it through its normal path (signing,
 * breaker, rate limit, maxConcurrency), and the replay id gives it a deduplication key of its own.
 *
 * The cap is checked before anything is written: when the window's offsets alone exceed it, a
 * counting pass runs first. A replay that reaches its deadline stops reading, waits for the writes
 * in flight, and reports what it queued; those records are delivered.
 */
export function createSubscriptionReplayer(options: SubscriptionReplayerOptions): SubscriptionReplayer {
  const nowMs = options.nowMs ?? Date.now;
  const maxBatchRecords = options.maxBatchRecords ?? 1000;
  const logger = options.logger.child({ component: 'replay' });
  const running = new Set<{ controller: AbortController; done: Promise<unknown> }>();
  let closed = false;

  async function replay(subscription: Subscription, request: ReplayRequest): Promise<ReplayResult> {
    if (closed) throw new SluiceError('SLUICE_SHUTTING_DOWN', 'the gateway is shutting down');
    if (running.size >= options.maxConcurrent) {
      throw new SluiceError(
        'SLUICE_OVERLOADED',
        `${running.size} replays are running in this gateway, the most it runs at once (SLUICE_REPLAY_MAX_CONCURRENT)`,
        { retryAfterSeconds: 10 },
      );
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort('deadline' satisfies AbortCause), options.timeoutMs);
    const done = run(subscription, request, controller.signal);
    const entry = { controller, done };
    running.add(entry);
    try {
      return await done;
    } finally {
      clearTimeout(timer);
      running.delete(entry);
    }
  }

  async function run(
    subscription: Subscription,
    request: ReplayRequest,
    signal: AbortSignal,
  ): Promise<ReplayResult> {
    const replayId = newReplayId();
    const startedMs = nowMs();
    const progress: Progress = { scanned: 0, matched: 0, queued: 0, unconfirmed: 0 };
    const context = {
      replayId,
      subscriptionId: subscription.id,
      from: new Date(request.fromMs).toISOString(),
      to: new Date(request.toMs).toISOString(),
      dryRun: request.dryRun,
    };
    const matches = compileSubscriptionMatcher(subscription);
    const selects = (record: ConsumedRecord): boolean => {
      if (record.timestampMs < request.fromMs || record.timestampMs >= request.toMs) return false;
      const type = record.headers.ce_type;
      // Records without an id, a type or a value were dead-lettered as poison: nothing to deliver.
      if (!type || !record.headers.ce_id || record.value === null) return false;
      return matches(type, record.headers.sluice_producer ?? '');
    };

    const admin = options.kafka.admin();
    try {
      await admin.connect();
      const ranges = await windowRanges(admin, request);
      const offsetsInWindow = ranges.reduce((sum, range) => sum + Number(range.end - range.start), 0);
      logger.info({ ...context, partitions: ranges.length, offsetsInWindow }, 'replay started');
      if (!request.dryRun) await requireTopic(admin, options.retryTopic);
      throwIfAborted(signal);

      if (request.dryRun || offsetsInWindow > options.maxEvents) {
        await scan(admin, ranges, `${replayId}-count`, signal, (record) => {
          progress.scanned++;
          if (selects(record)) progress.matched++;
        });
        if (request.dryRun) {
          logger.info({ ...context, ...progress, durationMs: nowMs() - startedMs }, 'replay dry run counted');
          return { dryRun: true, matched: progress.matched, scanned: progress.scanned };
        }
        if (progress.matched > options.maxEvents) {
          throw new SluiceError(
            'SLUICE_REPLAY_TOO_LARGE',
            `the window holds ${progress.matched} events for this subscription, more than the ${options.maxEvents} one replay may queue (SLUICE_REPLAY_MAX_EVENTS): split it into smaller windows`,
            {
              details: { matched: progress.matched, scanned: progress.scanned, maxEvents: options.maxEvents },
            },
          );
        }
        if (progress.matched === 0) return finished();
        progress.scanned = 0;
        progress.matched = 0;
      }
      if (offsetsInWindow === 0) return finished();

      const producer = options.kafka.producer({
        createPartitioner: KeyPartitioner,
        allowAutoTopicCreation: false,
        // Not idempotent, so chunks pipeline; a duplicate record is harmless (its replay id
        // shares one dedup key, which stops a second success).
        retry: { retries: 3 },
      });
      await producer.connect();
      const writer = createChunkWriter(producer, progress);
      try {
        await scan(admin, ranges, `${replayId}-write`, signal, async (record) => {
          progress.scanned++;
          if (!selects(record)) return;
          progress.matched++;
          await writer.add(
            buildReplayRecord(options.retryTopic, record, {
              subscriptionId: subscription.id,
              replayId,
              nowMs: nowMs(),
            }),
          );
        });
        await writer.finish();
      } finally {
        await writer.settle();
        await producer.disconnect().catch(() => undefined);
      }
      return finished();
    } catch (error) {
      throw failure(error);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }

    function finished(): ReplayResult {
      logger.info({ ...context, ...progress, durationMs: nowMs() - startedMs }, 'replay queued');
      return { dryRun: false, replayId, queued: progress.queued, scanned: progress.scanned };
    }

    /** What the caller is told; partial writes are logged and reported, never hidden. */
    function failure(error: unknown): unknown {
      const queuedDetails = { replayId, queued: progress.queued, unconfirmed: progress.unconfirmed };
      const cause = signal.aborted ? (signal.reason as AbortCause) : undefined;
      const partially = progress.queued + progress.unconfirmed > 0;
      if (cause === undefined && isSluiceError(error) && error.code === 'SLUICE_REPLAY_TOO_LARGE')
        return error;
      const fields = { ...context, ...progress, durationMs: nowMs() - startedMs };
      if (cause === 'deadline') {
        logger.warn(fields, 'replay deadline expired; the events queued so far will be delivered');
        return new SluiceError(
          'SLUICE_REPLAY_TIMED_OUT',
          `the replay did not finish within ${options.timeoutMs} ms after reading ${progress.scanned} events; ` +
            (partially
              ? `${progress.queued} events were queued for delivery under replay ${replayId} (${progress.unconfirmed} more may have been); replaying the same window again delivers those twice, so replay smaller windows`
              : 'nothing was queued; replay smaller windows'),
          { details: { ...queuedDetails, scanned: progress.scanned }, retryAfterSeconds: 1 },
        );
      }
      if (cause === 'shutdown') {
        logger.warn(fields, 'replay stopped by shutdown; the events queued so far will be delivered');
        return new SluiceError(
          'SLUICE_SHUTTING_DOWN',
          `the gateway is shutting down; ${progress.queued} events were queued under replay ${replayId}`,
          { details: queuedDetails },
        );
      }
      logger.error({ ...fields, err: error }, 'replay failed');
      if (isSluiceError(error)) return error;
      return new SluiceError(
        'SLUICE_KAFKA_UNAVAILABLE',
        `Kafka failed during the replay; ${progress.queued} events were queued under replay ${replayId}`,
        { cause: error, details: queuedDetails },
      );
    }
  }

  /** The window's offsets per partition, from Kafka's time index; empty partitions left out. */
  async function windowRanges(admin: Admin, request: ReplayRequest): Promise<PartitionRange[]> {
    const [starts, ends] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(options.eventsTopic, request.fromMs),
      admin.fetchTopicOffsetsByTimestamp(options.eventsTopic, request.toMs),
    ]);
    const endByPartition = new Map(ends.map(({ partition, offset }) => [partition, BigInt(offset)]));
    return starts
      .map(({ partition, offset }) => ({
        partition,
        start: BigInt(offset),
        end: endByPartition.get(partition) ?? BigInt(offset),
      }))
      .filter((range) => range.end > range.start);
  }

  /**
   * Reads each range once with a consumer of its own group: `fromBeginning: false` keeps partitions
   * outside the window at their end, the window's partitions are sought to their start, and each is
   * paused once its end is reached. Nothing is committed; the group is deleted afterwards.
   */
  async function scan(
    admin: Admin,
    ranges: readonly PartitionRange[],
    name: string,
    signal: AbortSignal,
    onRecord: (record: ConsumedRecord) => void | Promise<void>,
  ): Promise<void> {
    if (ranges.length === 0) return;
    throwIfAborted(signal);
    const groupId = `sluice-replay-${name}`;
    const consumer = options.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    const remaining = new Map(ranges.map((range) => [range.partition, range]));
    let sinceYield = 0;
    let finish!: () => void;
    let fail!: (error: unknown) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    // It may fail before it is awaited (an abort while connecting); it is awaited below.
    done.catch(() => undefined);
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await consumer.connect();
      consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
      await consumer.subscribe({ topics: [options.eventsTopic], fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat, pause, isRunning, isStale }) => {
          const range = remaining.get(batch.partition);
          if (range === undefined) {
            pause();
            return;
          }
          let reachedEnd = BigInt(batch.lastOffset()) >= range.end - 1n;
          for (const message of batch.messages) {
            if (signal.aborted || !isRunning() || isStale()) return;
            const offset = BigInt(message.offset);
            if (offset >= range.end) {
              reachedEnd = true;
              break;
            }
            if (offset < range.start) continue;
            if (++sinceYield >= recordsBetweenYields) {
              sinceYield = 0;
              await new Promise<void>((resolve) => setImmediate(resolve));
              await heartbeat();
            }
            try {
              await onRecord(fromKafkaMessage(batch.topic, batch.partition, message));
            } catch (error) {
              // Not thrown to kafkajs: it would retry the batch and write its records again.
              fail(error);
              return;
            }
          }
          await heartbeat();
          if (reachedEnd) {
            remaining.delete(batch.partition);
            pause();
            if (remaining.size === 0) finish();
          }
        },
      });
      // Kept until the partition is assigned (kafkajs applies seeks on assignment).
      for (const range of ranges) {
        consumer.seek({
          topic: options.eventsTopic,
          partition: range.partition,
          offset: String(range.start),
        });
      }
      await done;
    } finally {
      signal.removeEventListener('abort', onAbort);
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  }

  async function requireTopic(admin: Admin, topic: string): Promise<void> {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new SluiceError(
        'SLUICE_KAFKA_UNAVAILABLE',
        `the retry topic ${topic} does not exist: run \`sluice topics ensure\` with the workers' SLUICE_RETRY_SCHEDULE`,
      );
    }
  }

  /** Chunks of at most `maxBatchRecords` records and `maxBatchBytes`, a few produce requests in flight. */
  function createChunkWriter(producer: Producer, progress: Progress) {
    let chunk: Message[] = [];
    let chunkBytes = 0;
    const inFlight = new Set<Promise<void>>();
    let sendFailure: unknown;

    async function sendChunk(): Promise<void> {
      if (chunk.length === 0) return;
      while (inFlight.size >= maxSendsInFlight) await Promise.race(inFlight);
      if (sendFailure !== undefined) throw sendFailure;
      const messages = chunk;
      chunk = [];
      chunkBytes = 0;
      progress.unconfirmed += messages.length;
      const sending: Promise<void> = sendWithDeadline(messages)
        .then(
          () => {
            progress.unconfirmed -= messages.length;
            progress.queued += messages.length;
          },
          (error: unknown) => {
            sendFailure ??= error;
          },
        )
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }

    function sendWithDeadline(messages: Message[]): Promise<unknown> {
      return withTimeout(
        producer.sendBatch({
          topicMessages: [{ topic: options.retryTopic, messages }],
          acks: -1,
          timeout: options.produceTimeoutMs,
        }),
        options.produceTimeoutMs,
        () =>
          new SluiceError(
            'SLUICE_KAFKA_UNAVAILABLE',
            `Kafka did not acknowledge replay records within ${options.produceTimeoutMs} ms`,
          ),
      );
    }

    return {
      async add(record: OutgoingRecord): Promise<void> {
        if (sendFailure !== undefined) throw sendFailure;
        const bytes = recordBytes(record);
        if (chunk.length > 0 && chunkBytes + bytes > options.maxBatchBytes) await sendChunk();
        chunk.push({ key: record.key, value: record.value, headers: record.headers });
        chunkBytes += bytes;
        if (chunk.length >= maxBatchRecords) await sendChunk();
      },
      /** Sends the last chunk and waits for every acknowledgement; throws the first send failure. */
      async finish(): Promise<void> {
        await sendChunk();
        await Promise.all(inFlight);
        if (sendFailure !== undefined) throw sendFailure;
      },
      /** Waits for the sends in flight to settle, so the counts reported are final. */
      async settle(): Promise<void> {
        await Promise.allSettled(inFlight);
      },
    };
  }

  return {
    replay,
    async close() {
      closed = true;
      for (const { controller } of running) controller.abort('shutdown' satisfies AbortCause);
      await Promise.allSettled([...running].map(({ done }) => done));
    },
  };
}

function throwIfAborted(signal: AbortSignal): void {
  // The reason is an AbortCause; `failure` turns it into the answer.
  if (signal.aborted) throw new Error(`replay aborted: ${String(signal.reason)}`);
}

function recordBytes(record: OutgoingRecord): number {
  let bytes = recordOverheadBytes + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers)) bytes += name.length + value.length;
  return bytes;
}

/** `rpl_` and 26 base-32 characters (130 random bits). */
function newReplayId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let id = 'rpl_';
  for (const byte of randomBytes(26)) id += alphabet[byte & 31];
  return id;
}
