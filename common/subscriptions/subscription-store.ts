import {
  retryRetriable,
  type Admin,
  type Consumer,
  type KafkaMessage,
  type Producer,
  ensureTopics,
  type KafkaClient,
  type TopicSpec,
  KeyPartitioner,
} from '../kafka/index.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SluiceError } from '../errors.js';
import { compileEventTypeMatcher, type EventTypeMatcher } from '../event-type-matcher.js';
import type { Logger } from '../logger.js';
import type { SsrfPolicy } from '../ssrf-guard.js';
import { generateWebhookSecret, isValidWebhookSecret } from '../webhook-signer.js';
import type { SecretsKeyring } from './secrets-keyring.js';
import {
  decodeSubscriptionRecord,
  encodeSubscription,
  encodeSubscriptionTombstone,
  type EncodedSubscriptionRecord,
} from './subscription-codec.js';
import {
  newSubscriptionId,
  validateSubscriptionCreate,
  validateSubscriptionPatch,
  type SubscriptionCreateInput,
  type SubscriptionPatch,
} from './subscription-input.js';
import type { Subscription, SubscriptionView } from './subscription.js';
import { withTimeout } from '../with-timeout.js';

export interface SubscriptionStoreOptions {
  kafka: KafkaClient;
  /** The compacted subscriptions topic (`SLUICE_SUBSCRIPTIONS_TOPIC`). */
  topic: string;
  /** Encrypts signing secrets before they reach Kafka (`SLUICE_SECRETS_KEYS`). */
  keyring: SecretsKeyring;
  /** URLs are checked against it on every create and URL change (`SLUICE_SSRF_ALLOWED_CIDRS`). */
  ssrfPolicy: SsrfPolicy;
  logger: Logger;
  /**
   * When the topic does not exist, `start()` creates it from this spec (compacted, one partition;
   * see topic-plan.ts); without it, a missing topic fails `start()`.
   */
  createTopic?: TopicSpec | undefined;
  /** Clock for timestamps and secret expiry; default `Date.now`. */
  nowMs?: () => number;
  /** How long a rotated-out secret keeps signing beside the new one; default 24 h. */
  secretOverlapMs?: number;
  /** Active secrets kept per subscription (the current one and rotated-out ones); default 5. */
  maxActiveSecrets?: number;
  /** Prefix of this instance's own consumer group id; default `sluice-subscriptions-view`. */
  groupIdPrefix?: string;
  /** `start()` fails unless the topic was read to its end within this; default 60 s. */
  startTimeoutMs?: number;
  /** A write Kafka has not acknowledged by then fails with SLUICE_KAFKA_UNAVAILABLE; default 10 s. */
  writeTimeoutMs?: number;
  /**
   * How long the broker holds a fetch open when nothing is new. Changes by other processes show
   * about this fast; default 500 ms.
   */
  maxWaitTimeMs?: number;
  /** Called once if the view's consumer stops for good (readiness is false from then on). */
  onFatalError?: (error: unknown) => void;
}

/** What a store knows about itself, for readiness and logs. */
export interface SubscriptionStoreStats {
  /** The topic was read to the end it had when `start()` ran, and the consumer has not crashed. */
  caughtUp: boolean;
  crashed: boolean;
  subscriptions: number;
  /** Records skipped because they could not be read (undecryptable, malformed); see the logs. */
  unreadableRecords: number;
}

interface Entry {
  /** As stored, including rotated-out secrets that may have expired since. */
  readonly stored: Subscription;
  /** What readers get: frozen, expired secrets removed. */
  readonly view: Subscription;
  readonly matches: EventTypeMatcher;
  readonly producers: ReadonlySet<string> | undefined;
}

const hourMs = 3_600_000;
/** Distinct (event type, producer) answers cached by `matching` before the cache starts over. */
const maxMatchCacheEntries = 10_000;

/**
 * The subscriptions of docs/architecture.md#subscriptions: an in-memory view of the compacted topic
 * that every Sluice process holds, plus the writes of the admin API.
 *
 * Reading: `start()` reads the topic from the beginning up to the high watermarks it finds, then
 * keeps consuming, so changes written by any process show within about `maxWaitTimeMs`. kafkajs
 * reads only through consumer groups, so each instance joins a group of its own
 * (`<groupIdPrefix>.<host>.<pid>.<random>`) and never commits offsets: every start re-reads the
 * whole topic, and the broker drops the empty group by itself after the member leaves.
 *
 * Writing: every change is produced (idempotent producer, acks=all) and, once acknowledged,
 * applied to this instance's view at once, so the writer sees it before its own consumer gets
 * there. Writes of one instance are serialised; between processes the last write wins.
 */
export class SubscriptionStore implements SubscriptionView {
  private readonly options: Required<Omit<SubscriptionStoreOptions, 'createTopic' | 'onFatalError'>> &
    Pick<SubscriptionStoreOptions, 'createTopic' | 'onFatalError'>;
  private readonly logger: Logger;
  private readonly groupId: string;

  private readonly entries = new Map<string, Entry>();
  /** Entries in a stable order (creation time, then id); rebuilt lazily after a change. */
  private ordered: Entry[] | undefined;
  private allViews: readonly Subscription[] | undefined;
  private matchCache = new Map<string, Map<string, readonly Subscription[]>>();
  private matchCacheSize = 0;
  /** Earliest expiry of a secret still shown; reads past it prune. */
  private nextExpiryMs = Infinity;

  /** Next offset to apply, per partition: a record below it is already in the view. */
  private readonly nextOffsets = new Map<number, bigint>();
  /** High watermarks found by `start()`: the view is caught up once every partition reaches them. */
  private targets = new Map<number, bigint>();
  /**
   * Offsets of this instance's writes applied before its consumer reached them, per id: older
   * records of that id are not applied on the way, so the view never steps back in time.
   */
  private readonly ownWrites = new Map<string, bigint>();
  private partitionCount = 0;

  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private caughtUp = false;
  private crashed = false;
  private unreadable = 0;
  private onCaughtUp: (() => void) | undefined;
  private onStartFailure: ((error: unknown) => void) | undefined;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(options: SubscriptionStoreOptions) {
    this.options = {
      nowMs: Date.now,
      secretOverlapMs: 24 * hourMs,
      maxActiveSecrets: 5,
      groupIdPrefix: 'sluice-subscriptions-view',
      startTimeoutMs: 60_000,
      writeTimeoutMs: 10_000,
      maxWaitTimeMs: 500,
      // An option given as undefined keeps its default.
      ...(Object.fromEntries(
        Object.entries(options).filter(([, value]) => value !== undefined),
      ) as SubscriptionStoreOptions),
    };
    this.logger = options.logger.child({ component: 'subscription-store', topic: options.topic });
    this.groupId = `${this.options.groupIdPrefix}.${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`;
  }

  // ---- reading (SubscriptionView) ----

  /** Enabled subscriptions for this event type and producer, in a stable order. Cached per pair. */
  matching(eventType: string, producerId: string): readonly Subscription[] {
    this.pruneIfDue();
    let byProducer = this.matchCache.get(eventType);
    const cached = byProducer?.get(producerId);
    if (cached !== undefined) return cached;
    const found: Subscription[] = [];
    for (const entry of this.orderedEntries()) {
      if (!entry.view.enabled || !entry.matches(eventType)) continue;
      if (entry.producers !== undefined && !entry.producers.has(producerId)) continue;
      found.push(entry.view);
    }
    const result = Object.freeze(found);
    if (this.matchCacheSize >= maxMatchCacheEntries) {
      this.clearMatchCache();
      byProducer = undefined;
    }
    if (byProducer === undefined) {
      byProducer = new Map();
      this.matchCache.set(eventType, byProducer);
    }
    byProducer.set(producerId, result);
    this.matchCacheSize += 1;
    return result;
  }

  get(id: string): Subscription | undefined {
    this.pruneIfDue();
    return this.entries.get(id)?.view;
  }

  all(): readonly Subscription[] {
    this.pruneIfDue();
    this.allViews ??= Object.freeze(this.orderedEntries().map((entry) => entry.view));
    return this.allViews;
  }

  /** True once the topic was read to the end it had at start, until the consumer crashes. */
  isCaughtUp(): boolean {
    return this.caughtUp && !this.crashed;
  }

  stats(): SubscriptionStoreStats {
    return {
      caughtUp: this.isCaughtUp(),
      crashed: this.crashed,
      subscriptions: this.entries.size,
      unreadableRecords: this.unreadable,
    };
  }

  // ---- lifecycle ----

  /**
   * Connects, creates the topic if it is missing and `createTopic` was given, checks that it is
   * compacted, and resolves once the view holds everything the topic held at this moment.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new SluiceError('SLUICE_INTERNAL', 'a subscription store starts once');
    this.state = 'starting';
    const { kafka, topic } = this.options;
    try {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await this.prepareTopic(admin);
        const offsets = await retryRetriable(() => admin.fetchTopicOffsets(topic));
        this.partitionCount = offsets.length;
        this.targets = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
        for (const p of offsets) {
          // An empty (or fully compacted) partition needs no reading to be caught up.
          if (BigInt(p.high) <= BigInt(p.low)) this.targets.delete(p.partition);
        }
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
      this.checkCaughtUp();
      await this.startConsumer();
      await withTimeout(
        caughtUp,
        this.options.startTimeoutMs,
        () =>
          new SluiceError(
            'SLUICE_KAFKA_UNAVAILABLE',
            `the subscriptions topic ${topic} was not read to its end within ${this.options.startTimeoutMs} ms`,
          ),
      );
      this.state = 'running';
      this.logger.info({ subscriptions: this.entries.size, groupId: this.groupId }, 'subscriptions loaded');
    } catch (error) {
      await this.disconnect();
      this.state = 'stopped';
      throw error;
    }
  }

  /** Waits for writes in progress, then leaves the topic. The view stays readable (frozen). */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.onStartFailure?.(
      new SluiceError('SLUICE_SHUTTING_DOWN', 'the subscription store was stopped while starting'),
    );
    await this.writes.catch(() => undefined);
    await this.disconnect();
  }

  // ---- writing ----

  /**
   * Validates (including the SSRF check of the URL), generates the id and, when none is given,
   * the `whsec_` secret, writes the subscription and returns it as the view now holds it. Throws
   * 422 SLUICE_INVALID_SUBSCRIPTION / SLUICE_URL_FORBIDDEN, or 503 SLUICE_KAFKA_UNAVAILABLE.
   */
  async create(input: SubscriptionCreateInput): Promise<Subscription> {
    const valid = validateSubscriptionCreate(input, this.options.ssrfPolicy);
    if (valid instanceof SluiceError) throw valid;
    return this.serialised(async () => {
      const now = new Date(this.options.nowMs()).toISOString();
      const subscription: Subscription = {
        id: newSubscriptionId(),
        url: valid.url,
        eventTypes: valid.eventTypes,
        description: valid.description,
        enabled: valid.enabled,
        disabledReason: valid.enabled ? undefined : 'manual',
        secrets: [{ secret: valid.secret ?? generateWebhookSecret(), expiresAtMs: undefined }],
        rateLimitPerSecond: valid.rateLimitPerSecond,
        maxConcurrency: valid.maxConcurrency,
        ordering: valid.ordering,
        producerIds: valid.producerIds,
        createdAt: now,
        updatedAt: now,
      };
      return this.writeUpsert(subscription);
    });
  }

  /**
   * Changes the given fields. Enabling clears `disabledReason`; disabling sets it to `manual`.
   * Throws 404 SLUICE_NOT_FOUND for an unknown id, plus the errors of `create`.
   */
  async update(id: string, patch: SubscriptionPatch): Promise<Subscription> {
    const valid = validateSubscriptionPatch(patch, this.options.ssrfPolicy);
    if (valid instanceof SluiceError) throw valid;
    return this.serialised(async () => {
      const current = this.require(id);
      let disabledReason = current.disabledReason;
      if (valid.enabled === true) {
        disabledReason = undefined;
      } else if (valid.enabled === false && current.enabled) {
        disabledReason = 'manual';
      }
      const next: Subscription = {
        ...current,
        url: valid.url ?? current.url,
        eventTypes: valid.eventTypes ?? current.eventTypes,
        description: valid.description ?? current.description,
        enabled: valid.enabled ?? current.enabled,
        disabledReason,
        rateLimitPerSecond:
          valid.rateLimitPerSecond === undefined
            ? current.rateLimitPerSecond
            : (valid.rateLimitPerSecond ?? undefined),
        maxConcurrency: valid.maxConcurrency ?? current.maxConcurrency,
        ordering: valid.ordering ?? current.ordering,
        producerIds: valid.producerIds === undefined ? current.producerIds : (valid.producerIds ?? undefined),
        updatedAt: new Date(this.options.nowMs()).toISOString(),
      };
      return this.writeUpsert(next);
    });
  }

  /** Deletes the subscription (a tombstone). Throws 404 SLUICE_NOT_FOUND for an unknown id. */
  async remove(id: string): Promise<void> {
    await this.serialised(async () => {
      this.require(id);
      await this.write(id, encodeSubscriptionTombstone(id), () => this.applyDelete(id));
    });
  }

  /**
   * Puts a new signing secret first (`secret`, or a generated one); the one that was current keeps
   * signing beside it until `nowMs + secretOverlapMs` (24 h). Throws 404 for an unknown id.
   */
  async rotateSecret(
    id: string,
    nowMs: number = this.options.nowMs(),
    secret?: string,
  ): Promise<Subscription> {
    if (secret !== undefined && !isValidWebhookSecret(secret)) {
      throw new SluiceError(
        'SLUICE_INVALID_SUBSCRIPTION',
        'secret must be whsec_ followed by the base64 of 24 to 64 random bytes',
        {
          details: { errors: [{ field: 'secret', message: 'not a valid whsec_ secret' }] },
        },
      );
    }
    return this.serialised(async () => {
      const current = this.require(id);
      const [newest, ...older] = activeSecrets(current.secrets, nowMs);
      const rotatedOut =
        newest === undefined
          ? []
          : [{ secret: newest.secret, expiresAtMs: nowMs + this.options.secretOverlapMs }];
      const secrets = [
        { secret: secret ?? generateWebhookSecret(), expiresAtMs: undefined },
        ...rotatedOut,
        ...older,
      ].slice(0, this.options.maxActiveSecrets);
      return this.writeUpsert({ ...current, secrets, updatedAt: new Date(nowMs).toISOString() });
    });
  }

  /**
   * Disables the subscription, e.g. with reason `gone` when its receiver answered 410. Returns the
   * subscription as now stored, or undefined when the id is unknown (deleted meanwhile). Writes
   * nothing when it is already disabled for that reason.
   */
  async disable(id: string, reason: 'manual' | 'gone'): Promise<Subscription | undefined> {
    return this.serialised(async () => {
      const current = this.entries.get(id)?.view;
      if (current === undefined) return undefined;
      if (!current.enabled && current.disabledReason === reason) return current;
      const updatedAt = new Date(this.options.nowMs()).toISOString();
      return this.writeUpsert({ ...current, enabled: false, disabledReason: reason, updatedAt });
    });
  }

  // ---- internals ----

  private require(id: string): Subscription {
    const current = this.entries.get(id)?.view;
    if (current === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `no subscription ${id}`);
    return current;
  }

  /** Runs writes of this instance one after another, so read-modify-write never loses a change. */
  private serialised<T>(task: () => Promise<T>): Promise<T> {
    if (this.state !== 'running') {
      const error =
        this.state === 'stopped'
          ? new SluiceError('SLUICE_SHUTTING_DOWN', 'the subscription store is stopped', {
              retryAfterSeconds: 1,
            })
          : new SluiceError('SLUICE_INTERNAL', 'the subscription store is not started');
      return Promise.reject(error);
    }
    const run = this.writes.then(task, task);
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async writeUpsert(subscription: Subscription): Promise<Subscription> {
    await this.write(subscription.id, encodeSubscription(subscription, this.options.keyring), () =>
      this.applyUpsert(subscription),
    );
    return this.entries.get(subscription.id)?.view ?? freezeSubscription(subscription);
  }

  /**
   * Produces one record and applies it locally once acknowledged. A write that times out may
   * still land later; the consumer then applies it like anyone else's.
   */
  private async write(id: string, record: EncodedSubscriptionRecord, apply: () => void): Promise<void> {
    const producer = this.producer;
    if (producer === undefined)
      throw new SluiceError('SLUICE_INTERNAL', 'the subscription store is not started');
    const send = producer.send({
      topic: this.options.topic,
      acks: -1,
      messages: [{ key: record.key, value: record.value, headers: record.headers }],
    });
    const metadata = await withTimeout(
      send.catch((cause: unknown) => {
        throw new SluiceError(
          'SLUICE_KAFKA_UNAVAILABLE',
          'the subscription change could not be written to Kafka',
          {
            cause,
            retryAfterSeconds: 1,
          },
        );
      }),
      this.options.writeTimeoutMs,
      () =>
        new SluiceError(
          'SLUICE_KAFKA_UNAVAILABLE',
          `Kafka did not acknowledge the subscription change within ${this.options.writeTimeoutMs} ms`,
          { retryAfterSeconds: 1 },
        ),
    );
    const written = metadata[0];
    if (written === undefined) {
      apply();
      return;
    }
    const offset = BigInt(written.baseOffset ?? '0');
    // The consumer may already have applied this record (and newer ones): then the view is current.
    if ((this.nextOffsets.get(written.partition) ?? 0n) > offset) return;
    apply();
    this.ownWrites.set(id, offset);
  }

  private async prepareTopic(admin: Admin): Promise<void> {
    const { topic, createTopic } = this.options;
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      if (createTopic === undefined) {
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID',
          `the subscriptions topic ${topic} does not exist; create it with \`sluice topics ensure\``,
        );
      }
      try {
        await ensureTopics(admin, [{ ...createTopic, name: topic }]);
      } catch (cause) {
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID',
          `the subscriptions topic ${topic} does not exist and could not be created; create it with \`sluice topics ensure\``,
          { cause },
        );
      }
      this.logger.info('created the subscriptions topic');
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
      this.logger.warn({ err: error }, 'cannot check the cleanup.policy of the subscriptions topic');
      return;
    }
    if (cleanupPolicy !== undefined && !cleanupPolicy.split(',').includes('compact')) {
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID',
        `the subscriptions topic ${topic} has cleanup.policy=${cleanupPolicy}; it must be compact, or subscriptions would be deleted with old segments`,
      );
    }
  }

  private async startConsumer(): Promise<void> {
    const consumer = this.options.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: this.options.maxWaitTimeMs,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    const { events } = consumer;
    const topic = this.options.topic;
    // An empty fetch that waited out maxWaitTimeMs means the consumer is at the log end. It covers
    // a partition whose last records were compacted away, where the offsets read never reach the
    // high watermark found at start. Only unambiguous with one partition (one fetch covers it).
    let fetchCompleted = false;
    let lastFetchMs = 0;
    let batchesSinceFetch = 0;
    consumer.on(events.FETCH_START, () => {
      if (fetchCompleted && batchesSinceFetch === 0 && lastFetchMs >= this.options.maxWaitTimeMs / 2) {
        this.reachedLogEnd();
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
      this.advance(payload.partition, BigInt(payload.lastOffset) + 1n);
    });
    consumer.on(events.CRASH, ({ payload }) => {
      if (payload.restart) {
        this.logger.warn({ err: payload.error }, 'subscriptions consumer failed; kafkajs restarts it');
        return;
      }
      this.crashed = true;
      this.logger.error({ err: payload.error }, 'subscriptions consumer stopped for good; the view is stale');
      this.onStartFailure?.(payload.error);
      this.options.onFatalError?.(payload.error);
    });

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) this.applyRecord(batch.partition, message);
      },
    });
  }

  private applyRecord(partition: number, message: KafkaMessage): void {
    const offset = BigInt(message.offset);
    // Already in the view: a re-read after the consumer restarted or rejoined.
    if (offset < (this.nextOffsets.get(partition) ?? 0n)) return;
    this.advance(partition, offset + 1n);
    const decoded = decodeSubscriptionRecord(message.key, message.value, this.options.keyring);
    const id = decoded.kind === 'upsert' ? decoded.subscription.id : decoded.id;
    if (id !== undefined) {
      const own = this.ownWrites.get(id);
      if (own !== undefined) {
        // Older records of this id are history; the own write itself is already in the view.
        if (offset <= own) {
          if (offset === own) this.ownWrites.delete(id);
          return;
        }
        this.ownWrites.delete(id);
      }
    }
    switch (decoded.kind) {
      case 'upsert':
        this.applyUpsert(decoded.subscription);
        break;
      case 'delete':
        this.applyDelete(decoded.id);
        break;
      case 'invalid':
        this.unreadable += 1;
        // The newest record of this id is unreadable: serving an older version could deliver to a
        // URL or with a secret the owner replaced, so the subscription leaves the view.
        if (decoded.id !== undefined) this.applyDelete(decoded.id);
        this.logger.error(
          { subscriptionId: decoded.id, partition, offset: message.offset, reason: decoded.reason },
          `unreadable subscription record skipped: ${decoded.message}`,
        );
        break;
    }
  }

  private advance(partition: number, next: bigint): void {
    if (next > (this.nextOffsets.get(partition) ?? 0n)) this.nextOffsets.set(partition, next);
    if (!this.caughtUp) this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    for (const [partition, target] of this.targets) {
      if ((this.nextOffsets.get(partition) ?? 0n) < target) return;
    }
    this.markCaughtUp();
  }

  private reachedLogEnd(): void {
    if (this.caughtUp || this.partitionCount !== 1) return;
    this.logger.info(
      'reached the end of the subscriptions topic before its start-time high watermark (compacted tail)',
    );
    this.markCaughtUp();
  }

  private markCaughtUp(): void {
    if (this.caughtUp) return;
    this.caughtUp = true;
    this.onCaughtUp?.();
  }

  private applyUpsert(subscription: Subscription): void {
    const nowMs = this.options.nowMs();
    this.entries.set(subscription.id, makeEntry(subscription, nowMs));
    this.noteExpiry(subscription, nowMs);
    this.invalidate();
  }

  private applyDelete(id: string): void {
    if (this.entries.delete(id)) this.invalidate();
  }

  private invalidate(): void {
    this.ordered = undefined;
    this.allViews = undefined;
    this.clearMatchCache();
  }

  private clearMatchCache(): void {
    this.matchCache = new Map();
    this.matchCacheSize = 0;
  }

  private orderedEntries(): Entry[] {
    this.ordered ??= [...this.entries.values()].sort((a, b) =>
      a.view.createdAt === b.view.createdAt
        ? compareStrings(a.view.id, b.view.id)
        : compareStrings(a.view.createdAt, b.view.createdAt),
    );
    return this.ordered;
  }

  private noteExpiry(subscription: Subscription, nowMs: number): void {
    for (const { expiresAtMs } of subscription.secrets) {
      if (expiresAtMs !== undefined && expiresAtMs > nowMs && expiresAtMs < this.nextExpiryMs) {
        this.nextExpiryMs = expiresAtMs;
      }
    }
  }

  /** Drops secrets whose overlap ended from the view (the topic keeps them until the next write). */
  private pruneIfDue(): void {
    const nowMs = this.options.nowMs();
    if (nowMs < this.nextExpiryMs) return;
    this.nextExpiryMs = Infinity;
    for (const [id, entry] of this.entries) {
      if (entry.view.secrets.some((s) => s.expiresAtMs !== undefined && s.expiresAtMs <= nowMs)) {
        this.entries.set(id, makeEntry(entry.stored, nowMs));
      }
      this.noteExpiry(entry.stored, nowMs);
    }
    this.invalidate();
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

export function createSubscriptionStore(options: SubscriptionStoreOptions): SubscriptionStore {
  return new SubscriptionStore(options);
}

function makeEntry(stored: Subscription, nowMs: number): Entry {
  const view = freezeSubscription({ ...stored, secrets: activeSecrets(stored.secrets, nowMs) });
  return {
    stored,
    view,
    matches: compileEventTypeMatcher(view.eventTypes),
    producers: view.producerIds === undefined ? undefined : new Set(view.producerIds),
  };
}

function activeSecrets(
  secrets: Subscription['secrets'],
  nowMs: number,
): Array<{ secret: string; expiresAtMs: number | undefined }> {
  return secrets.filter((s) => s.expiresAtMs === undefined || s.expiresAtMs > nowMs).map((s) => ({ ...s }));
}

function freezeSubscription(subscription: Subscription): Subscription {
  return Object.freeze({
    ...subscription,
    eventTypes: Object.freeze([...subscription.eventTypes]),
    secrets: Object.freeze(subscription.secrets.map((s) => Object.freeze({ ...s }))),
    producerIds:
      subscription.producerIds === undefined ? undefined : Object.freeze([...subscription.producerIds]),
  });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
