import { SluiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { CompactedTopicView } from '../kafka/index.js';
import { encodeSubscriptionTombstone } from './subscription-codec.js';
import { SubscriptionChanges } from './subscription-changes.js';
import { freezeSubscription, SubscriptionIndex } from './subscription-index.js';
import {
  resolveSubscriptionPatch,
  validateSubscriptionCreate,
  validateSubscriptionPatch,
  type SubscriptionCreateInput,
  type SubscriptionInputRules,
  type SubscriptionPatch,
  type SubscriptionPatchInput,
  type ValidSubscriptionCreate,
} from './subscription-input.js';
import {
  disabledSubscription,
  enabledSubscription,
  newSubscription,
  patchedSubscription,
  type DisableDetails,
} from './subscription-rules.js';
import { assertRotationSecret, SubscriptionSecrets } from './subscription-secrets.js';
import type { DisabledReason, Subscription, SubscriptionView } from './subscription.js';
import type { KafkaClient, TopicSpec } from '../kafka/index.js';
import type { SecretsKeyring } from './secrets-keyring.js';
import type { SsrfPolicy } from '../ssrf-guard.js';

export interface SubscriptionStoreOptions {
  kafka: KafkaClient;
  /** The compacted subscriptions topic (`SLUICE_SUBSCRIPTIONS_TOPIC`). */
  topic: string;
  /** Encrypts signing secrets before they reach Kafka (`SLUICE_SECRETS_KEYS`). */
  keyring: SecretsKeyring;
  /** URLs are checked against it on every create and URL change (`SLUICE_SSRF_ALLOWED_CIDRS`). */
  ssrfPolicy: SsrfPolicy;
  /**
   * The global delivery settings retry schedules and timeouts must fit in, and the schemas filter
   * paths are checked against, on every create and update; default: the settings' defaults and
   * no schema check (processes that never save a subscription).
   */
  inputRules?: SubscriptionInputRules;
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

const hourMs = 3_600_000;

/**
 * The subscriptions of docs/architecture.md#subscriptions: what every Sluice process holds in
 * memory, plus the writes of the admin API. It composes a view of the compacted topic
 * (compacted-topic-view.ts: reading to the end, following changes, applying own writes on
 * acknowledgement), the change feed into the read index (subscription-changes.ts,
 * subscription-index.ts), the signing secrets (subscription-secrets.ts) and what create, update
 * and disable mean (subscription-rules.ts). Writes of one instance are serialised, so
 * read-modify-write never loses a change; between processes the last write wins.
 */
export class SubscriptionStore implements SubscriptionView {
  private readonly nowMs: () => number;
  private readonly ssrfPolicy: SsrfPolicy;
  private readonly inputRules: SubscriptionInputRules;
  private readonly logger: Logger;
  private readonly secrets: SubscriptionSecrets;
  private readonly topic: CompactedTopicView<Subscription>;
  private readonly index: SubscriptionIndex;
  private readonly changes: SubscriptionChanges;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private writes: Promise<unknown> = Promise.resolve();

  constructor(options: SubscriptionStoreOptions) {
    // An option given as undefined keeps its default.
    const given = Object.fromEntries(
      Object.entries(options).filter(([, value]) => value !== undefined),
    ) as SubscriptionStoreOptions;
    this.nowMs = given.nowMs ?? Date.now;
    this.ssrfPolicy = options.ssrfPolicy;
    this.inputRules = given.inputRules ?? {};
    this.logger = options.logger.child({ component: 'subscription-store', topic: options.topic });
    this.secrets = new SubscriptionSecrets({
      keyring: options.keyring,
      secretOverlapMs: given.secretOverlapMs ?? 24 * hourMs,
      maxActiveSecrets: given.maxActiveSecrets ?? 5,
    });
    this.topic = new CompactedTopicView<Subscription>({
      kafka: options.kafka,
      topic: options.topic,
      topicRole: 'subscriptions',
      changeName: 'subscription change',
      decode: (message) => this.secrets.decode(message),
      logger: this.logger,
      createTopic: options.createTopic,
      groupIdPrefix: given.groupIdPrefix ?? 'sluice-subscriptions-view',
      startTimeoutMs: given.startTimeoutMs ?? 60_000,
      writeTimeoutMs: given.writeTimeoutMs ?? 10_000,
      maxWaitTimeMs: given.maxWaitTimeMs ?? 500,
      onFatalError: options.onFatalError,
    });
    this.index = new SubscriptionIndex(this.nowMs);
    this.changes = new SubscriptionChanges(this.topic, this.index, this.logger);
  }

  // ---- reading (SubscriptionView) ----

  /** Enabled subscriptions for this event type, producer and tenant, in a stable order. Cached. */
  matching(eventType: string, producerId: string, tenant: string | undefined): readonly Subscription[] {
    return this.index.matching(eventType, producerId, tenant);
  }

  get(id: string): Subscription | undefined {
    return this.index.get(id);
  }

  all(): readonly Subscription[] {
    return this.index.all();
  }

  /** True once the topic was read to the end it had at start, until the consumer crashes. */
  isCaughtUp(): boolean {
    return this.topic.isCaughtUp();
  }

  stats(): SubscriptionStoreStats {
    return {
      caughtUp: this.isCaughtUp(),
      crashed: this.topic.hasCrashed(),
      subscriptions: this.index.size,
      unreadableRecords: this.changes.unreadableRecords,
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
    try {
      await this.topic.start();
    } catch (error) {
      this.state = 'stopped';
      throw error;
    }
    this.state = 'running';
    this.logger.info({ subscriptions: this.index.size, groupId: this.topic.groupId }, 'subscriptions loaded');
  }

  /** Waits for writes in progress, then leaves the topic. The view stays readable (frozen). */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.topic.failStart(
      new SluiceError('SLUICE_SHUTTING_DOWN', 'the subscription store was stopped while starting'),
    );
    await this.writes.catch(() => undefined);
    await this.topic.stop();
  }

  // ---- writing ----

  /**
   * What `create` would refuse, with this store's rules, writing nothing: the route checks a
   * request before it decides what the caller may ask for (a bad field is 422 before a 403).
   */
  validateCreate(input: SubscriptionCreateInput): ValidSubscriptionCreate | SluiceError {
    return validateSubscriptionCreate(input, this.ssrfPolicy, this.inputRules);
  }

  /** What `update` would refuse for the request alone (not what needs the stored subscription). */
  validatePatch(patch: SubscriptionPatchInput): SubscriptionPatch | SluiceError {
    return validateSubscriptionPatch(patch, this.ssrfPolicy, this.inputRules);
  }

  /**
   * Validates (including the SSRF check of the URL and the filter's paths against the schemas),
   * generates the id and, when none is given, the `whsec_` secret, writes the subscription and
   * returns it as the view now holds it. Throws 422 SLUICE_INVALID_SUBSCRIPTION /
   * SLUICE_URL_FORBIDDEN, or 503 SLUICE_KAFKA_UNAVAILABLE. Nothing is written when it throws.
   */
  async create(input: SubscriptionCreateInput): Promise<Subscription> {
    const valid = this.validateCreate(input);
    if (valid instanceof SluiceError) throw valid;
    return this.serialised(async () =>
      this.writeUpsert(newSubscription(valid, this.secrets.initial(valid.secret), this.nowMs())),
    );
  }

  /**
   * Changes the given fields (a PATCH body, see `SubscriptionPatch`). Enabling clears
   * `disabledReason`; disabling sets it to `manual`. Throws 404 SLUICE_NOT_FOUND for an unknown
   * id, plus the errors of `create`; nothing is written when it throws.
   */
  async update(id: string, patch: SubscriptionPatchInput): Promise<Subscription> {
    const valid = this.validatePatch(patch);
    if (valid instanceof SluiceError) throw valid;
    return this.serialised(async () => {
      const current = this.require(id);
      const resolved = resolveSubscriptionPatch(current, valid, this.inputRules);
      if (resolved instanceof SluiceError) throw resolved;
      return this.writeUpsert(patchedSubscription(current, resolved, this.nowMs()));
    });
  }

  /** Deletes the subscription (a tombstone). Throws 404 SLUICE_NOT_FOUND for an unknown id. */
  async remove(id: string): Promise<void> {
    await this.serialised(async () => {
      this.require(id);
      await this.topic.write(encodeSubscriptionTombstone(id), undefined);
    });
  }

  /**
   * Puts a new signing secret first (`secret`, or a generated one); the one that was current keeps
   * signing beside it until `nowMs + secretOverlapMs` (24 h). Throws 404 for an unknown id.
   */
  async rotateSecret(id: string, nowMs: number = this.nowMs(), secret?: string): Promise<Subscription> {
    assertRotationSecret(secret);
    return this.serialised(async () => {
      const current = this.require(id);
      const secrets = this.secrets.rotated(current.secrets, nowMs, secret);
      return this.writeUpsert({ ...current, secrets, updatedAt: new Date(nowMs).toISOString() });
    });
  }

  /**
   * Disables the subscription, e.g. with reason `gone` when its receiver answered 410 or `failing`
   * when a worker's health record says every attempt failed for too long. Returns the subscription
   * as now stored and whether this call changed it, or undefined when the id is unknown (deleted
   * meanwhile). Writes nothing when it is already disabled (the first reason and time stay).
   */
  async disable(
    id: string,
    reason: DisabledReason,
    details: DisableDetails = {},
  ): Promise<{ subscription: Subscription; changed: boolean } | undefined> {
    return this.serialised(async () => {
      const current = this.index.current(id);
      if (current === undefined) return undefined;
      const next = disabledSubscription(current, reason, this.nowMs(), details);
      if (next === undefined) return { subscription: current, changed: false };
      return { subscription: await this.writeUpsert(next), changed: true };
    });
  }

  /**
   * Enables the subscription (clearing `disabledReason`, `disabledAt`, `failingSince`). Returns it
   * as it was before and as now stored; writes nothing when it is already enabled. Throws 404
   * SLUICE_NOT_FOUND for an unknown id.
   */
  async enable(id: string): Promise<{ before: Subscription; after: Subscription }> {
    return this.serialised(async () => {
      const before = this.require(id);
      const next = enabledSubscription(before, this.nowMs());
      return { before, after: next === undefined ? before : await this.writeUpsert(next) };
    });
  }

  // ---- internals ----

  private require(id: string): Subscription {
    const current = this.index.current(id);
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
    await this.topic.write(this.secrets.encode(subscription), subscription);
    return this.index.current(subscription.id) ?? freezeSubscription(subscription);
  }
}

export function createSubscriptionStore(options: SubscriptionStoreOptions): SubscriptionStore {
  return new SubscriptionStore(options);
}
