import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, KafkaMessage, Producer } from 'kafkajs';
import { SluiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { withTimeout } from '../with-timeout.js';
import { CompactedTopicState, type DecodedTopicRecord, type TopicChange } from './compacted-topic-state.js';
import { ensureTopics } from './ensure-topics.js';
import type { KafkaClient } from './kafka-client.js';
import { KeyPartitioner } from './key-partitioner.js';
import { retryRetriable } from './retry-retriable.js';
import type { TopicSpec } from './topic-plan.js';

export type { DecodedTopicRecord, TopicChange } from './compacted-topic-state.js';

export type TopicChangeListener<V> = (change: TopicChange<V>) => void;

/** A record to produce; the view's own key is `key`. */
export interface TopicRecordToWrite {
  key: string;
  value: Buffer | null;
  headers?: Record<string, string | Buffer> | undefined;
}

export interface CompactedTopicViewOptions<V> {
  kafka: KafkaClient;
  topic: string;
  /** What the topic holds, for messages: `subscriptions` gives "the subscriptions topic …". */
  topicRole: string;
  /** What one write is, for messages: `subscription change`. */
  changeName: string;
  /** Reads one record. Must not throw: an unreadable record is a value with a `problem`. */
  decode: (message: KafkaMessage) => DecodedTopicRecord<V>;
  logger: Logger;
  /** Creates the topic from this spec when it is missing; without it, a missing topic fails `start()`. */
  createTopic?: TopicSpec | undefined;
  /** Prefix of this instance's own consumer group id. */
  groupIdPrefix: string;
  /** `start()` fails unless the topic was read to its end within this. */
  startTimeoutMs: number;
  /** A write Kafka has not acknowledged by then fails with SLUICE_KAFKA_UNAVAILABLE. */
  writeTimeoutMs: number;
  /** How long the broker holds a fetch open when nothing is new; changes by others show about this fast. */
  maxWaitTimeMs: number;
  /** Called once if the consumer stops for good. */
  onFatalError?: ((error: unknown) => void) | undefined;
  /**
   * Default true: a write is applied once Kafka acknowledged it. False: writes reach the view only
   * through the consumer, so listeners see every record, own ones included, in offset order.
   */
  applyOwnWrites?: boolean | undefined;
}

/**
 * An in-memory view of a compacted topic: the latest value per key, kept current, with writes.
 *
 * Reading: `start()` reads the topic from the beginning up to the high watermarks it finds, then
 * keeps consuming, so changes written by any process show within about `maxWaitTimeMs`. kafkajs
 * reads only through consumer groups, so each instance joins a group of its own
 * (`<groupIdPrefix>.<host>.<pid>.<random>`) and never commits offsets: every start re-reads the
 * whole topic, and the broker drops the empty group by itself after the member leaves.
 *
 * Writing: every change is produced (idempotent producer, acks=all) and, once acknowledged,
 * applied to this instance's view at once, so the writer sees it before its own consumer gets
 * there. Serialising writes is the caller's business.
 */
export class CompactedTopicView<V> {
  private readonly options: CompactedTopicViewOptions<V>;
  private readonly logger: Logger;
  readonly groupId: string;
  private readonly state = new CompactedTopicState<V>();
  private readonly listeners = new Set<TopicChangeListener<V>>();

  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private crashed = false;
  private onCaughtUp: (() => void) | undefined;
  private waiters: Array<{ partition: number; offset: bigint; resolve: () => void }> = [];
  private onStartFailure: ((error: unknown) => void) | undefined;

  constructor(options: CompactedTopicViewOptions<V>) {
    this.options = options;
    this.logger = options.logger;
    this.groupId = `${options.groupIdPrefix}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`;
  }

  get(key: string): V | undefined {
    return this.state.get(key);
  }

  entries(): IterableIterator<[string, V]> {
    return this.state.entries();
  }

  get size(): number {
    return this.state.size;
  }

  /** True once the topic was read to the end it had at start, until the consumer crashes. */
  isCaughtUp(): boolean {
    return this.state.isCaughtUp() && !this.crashed;
  }

  hasCrashed(): boolean {
    return this.crashed;
  }

  /** Calls `listener` with every change applied from now on; returns the unsubscribe. */
  onChange(listener: TopicChangeListener<V>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Connects, creates the topic if it is missing and `createTopic` was given, checks that it is
   * compacted, and resolves once the view holds everything the topic held at this moment.
   */
  async start(): Promise<void> {
    const { kafka, topic, topicRole } = this.options;
    try {
      const admin = kafka.admin();
      await admin.connect();
      let caughtUpAlready: boolean;
      try {
        await this.prepareTopic(admin);
        const offsets = await retryRetriable(() => admin.fetchTopicOffsets(topic));
        caughtUpAlready = this.state.setTargets(offsets);
      } finally {
        await admin.disconnect();
      }

      this.producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: KeyPartitioner,
      });
      await this.producer.connect();

      const caughtUp = new Promise<void>((resolve, reject) => {
        this.onCaughtUp = resolve;
        this.onStartFailure = reject;
      });
      // Awaited below; this only keeps a late failure (after a timeout) from going unhandled.
      caughtUp.catch(() => undefined);
      if (caughtUpAlready) this.onCaughtUp?.();
      await this.startConsumer();
      await withTimeout(
        caughtUp,
        this.options.startTimeoutMs,
        () =>
          new SluiceError(
            'SLUICE_KAFKA_UNAVAILABLE',
            `the ${topicRole} topic ${topic} was not read to its end within ${this.options.startTimeoutMs} ms`,
          ),
      );
    } catch (error) {
      await this.disconnect();
      throw error;
    }
  }

  /** Makes a `start()` still waiting to catch up fail with `error`. */
  failStart(error: unknown): void {
    this.onStartFailure?.(error);
  }

  /** Leaves the topic; the view stays readable, frozen as it is. */
  async stop(): Promise<void> {
    await this.disconnect();
  }

  /**
   * Produces one record and, once acknowledged, applies `value` (undefined: the key leaves the
   * view). A write that times out may still land later; the consumer then applies it like anyone
   * else's.
   */
  async write(
    record: TopicRecordToWrite,
    value: V | undefined,
  ): Promise<{ partition: number; offset: bigint } | undefined> {
    const producer = this.producer;
    const { changeName, writeTimeoutMs } = this.options;
    if (producer === undefined)
      throw new SluiceError('SLUICE_INTERNAL', `the ${this.options.topicRole} view is not started`);
    const send = producer.send({
      topic: this.options.topic,
      acks: -1,
      messages: [{ key: record.key, value: record.value, headers: record.headers }],
    });
    const metadata = await withTimeout(
      send.catch((cause: unknown) => {
        throw new SluiceError('SLUICE_KAFKA_UNAVAILABLE', `the ${changeName} could not be written to Kafka`, {
          cause,
          retryAfterSeconds: 1,
        });
      }),
      writeTimeoutMs,
      () =>
        new SluiceError(
          'SLUICE_KAFKA_UNAVAILABLE',
          `Kafka did not acknowledge the ${changeName} within ${writeTimeoutMs} ms`,
          { retryAfterSeconds: 1 },
        ),
    );
    const written = metadata[0];
    const position =
      written === undefined
        ? undefined
        : { partition: written.partition, offset: BigInt(written.baseOffset ?? '0') };
    if (this.options.applyOwnWrites === false) return position;
    const change =
      position === undefined
        ? this.state.applyUnplaced(record.key, value)
        : this.state.applyWritten(record.key, value, position.partition, position.offset);
    if (change !== undefined) this.notify(change);
    return position;
  }

  /**
   * Resolves once the consumer has passed `offset` of `partition` (every listener has seen the
   * record there); fails with SLUICE_KAFKA_UNAVAILABLE after `timeoutMs`.
   */
  async waitForOffset(partition: number, offset: bigint, timeoutMs: number): Promise<void> {
    if (this.state.position(partition) > offset) return;
    let waiter: { partition: number; offset: bigint; resolve: () => void } | undefined;
    const passed = new Promise<void>((resolve) => {
      waiter = { partition, offset, resolve };
      this.waiters.push(waiter);
    });
    try {
      await withTimeout(
        passed,
        timeoutMs,
        () =>
          new SluiceError(
            'SLUICE_KAFKA_UNAVAILABLE',
            `the ${this.options.topicRole} topic was not read up to offset ${offset} within ${timeoutMs} ms`,
            { retryAfterSeconds: 1 },
          ),
      );
    } finally {
      this.waiters = this.waiters.filter((w) => w !== waiter);
    }
  }

  /** Resolves once the view holds everything the topic holds now (its current high watermarks). */
  async syncToEnd(timeoutMs: number): Promise<void> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    let offsets: Array<{ partition: number; low: string; high: string }>;
    try {
      offsets = await retryRetriable(() => admin.fetchTopicOffsets(this.options.topic));
    } finally {
      await admin.disconnect();
    }
    await Promise.all(
      offsets
        .filter((p) => BigInt(p.high) > BigInt(p.low))
        .map((p) => this.waitForOffset(p.partition, BigInt(p.high) - 1n, timeoutMs)),
    );
  }

  private releaseWaiters(): void {
    if (this.waiters.length === 0) return;
    for (const waiter of this.waiters) {
      if (this.state.position(waiter.partition) > waiter.offset) waiter.resolve();
    }
  }

  private notify(change: TopicChange<V>): void {
    for (const listener of this.listeners) listener(change);
  }

  private markCaughtUp(): void {
    this.onCaughtUp?.();
  }

  private async prepareTopic(admin: Admin): Promise<void> {
    const { topic, topicRole, createTopic } = this.options;
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      if (createTopic === undefined) {
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID',
          `the ${topicRole} topic ${topic} does not exist; create it with \`sluice topics ensure\``,
        );
      }
      try {
        await ensureTopics(admin, [{ ...createTopic, name: topic }]);
      } catch (cause) {
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID',
          `the ${topicRole} topic ${topic} does not exist and could not be created; create it with \`sluice topics ensure\``,
          { cause },
        );
      }
      this.logger.info(`created the ${topicRole} topic`);
      return;
    }
    let cleanupPolicy: string | undefined;
    try {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['cleanup.policy'] }],
      });
      cleanupPolicy = described.resources[0]?.configEntries.find(
        (e) => e.configName === 'cleanup.policy',
      )?.configValue;
    } catch (error) {
      // Describing needs an ACL that reading does not; go on without the check rather than fail.
      this.logger.warn({ err: error }, `cannot check the cleanup.policy of the ${topicRole} topic`);
      return;
    }
    if (cleanupPolicy !== undefined && !cleanupPolicy.split(',').includes('compact')) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `the ${topicRole} topic ${topic} has cleanup.policy=${cleanupPolicy}; it must be compact, or ${topicRole} would be deleted with old segments`,
      );
    }
  }

  private async startConsumer(): Promise<void> {
    const { topic, topicRole, maxWaitTimeMs } = this.options;
    const consumer = this.options.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    const { events } = consumer;
    // An empty fetch that waited out maxWaitTimeMs means the consumer is at the log end. It covers
    // a partition whose last records were compacted away, where the offsets read never reach the
    // high watermark found at start.
    let fetchCompleted = false;
    let lastFetchMs = 0;
    let batchesSinceFetch = 0;
    consumer.on(events.FETCH_START, () => {
      if (
        fetchCompleted &&
        batchesSinceFetch === 0 &&
        lastFetchMs >= maxWaitTimeMs / 2 &&
        this.state.reachedLogEnd()
      ) {
        this.logger.info(
          `reached the end of the ${topicRole} topic before its start-time high watermark (compacted tail)`,
        );
        this.markCaughtUp();
      }
      fetchCompleted = false;
      batchesSinceFetch = 0;
    });
    consumer.on(events.FETCH, ({ payload }) => {
      fetchCompleted = true;
      lastFetchMs = payload.duration;
    });
    consumer.on(events.START_BATCH_PROCESS, () => {
      batchesSinceFetch += 1;
    });
    // Also fires for batches whose records were all filtered (compacted, control records).
    consumer.on(events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic) return;
      if (this.state.advance(payload.partition, BigInt(payload.lastOffset) + 1n)) this.markCaughtUp();
      this.releaseWaiters();
    });
    consumer.on(events.CRASH, ({ payload }) => {
      if (payload.restart) {
        this.logger.warn({ err: payload.error }, `${topicRole} consumer failed; kafkajs restarts it`);
        return;
      }
      this.crashed = true;
      this.logger.error({ err: payload.error }, `${topicRole} consumer stopped for good; the view is stale`);
      this.onStartFailure?.(payload.error);
      this.options.onFatalError?.(payload.error);
    });

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) this.applyConsumed(batch.partition, message);
      },
    });
  }

  private applyConsumed(partition: number, message: KafkaMessage): void {
    const wasCaughtUp = this.state.isCaughtUp();
    const change = this.state.applyConsumed(partition, BigInt(message.offset), () =>
      this.options.decode(message),
    );
    if (!wasCaughtUp && this.state.isCaughtUp()) this.markCaughtUp();
    if (change !== undefined) this.notify(change);
    this.releaseWaiters();
  }

  private async disconnect(): Promise<void> {
    const consumer = this.consumer;
    const producer = this.producer;
    this.consumer = undefined;
    this.producer = undefined;
    await Promise.all([
      consumer
        ?.disconnect()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'consumer disconnect failed')),
      producer
        ?.disconnect()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'producer disconnect failed')),
    ]);
  }
}
