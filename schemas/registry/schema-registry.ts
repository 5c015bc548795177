import { SluiceError } from '../../common/errors.js';
import { isReservedSubject, reservedSubjectPrefix, type AvroPolicyOptions } from '../avro-policy.js';
import { CompactedTopicView, type KafkaClient, type TopicSpec } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import type { RegisteredSchema } from '../schema-catalog.js';
import type { CompatibilityLevel } from './compatibility-level.js';
import { checkSubject, decideDeletion, decideRegistration } from './registry-decisions.js';
import { RegistryError } from './registry-error.js';
import type { RegistryMetrics } from './registry-metrics.js';
import {
  decodeRegistryRecord,
  encodeRegistryRecord,
  newChangeKey,
  type RegistryChange,
  type RegistryRecord,
} from './registry-records.js';
import { RegistryState } from './registry-state.js';
import { parseSchema } from './schema-text.js';

export interface RegistrationRequest {
  subject: string;
  /** The schema as a client sends it: JSON text or an object. */
  schema: unknown;
  description?: string | undefined;
  example?: unknown;
  /** Sluice registering one of its own types: the only way to a reserved `sluice.` subject. */
  internal?: boolean | undefined;
}

/**
 * Refuses a reserved subject from outside Sluice; the policy options its schema is checked with.
 * Shared by both registries.
 */
export function reservedSubjectPolicy(request: RegistrationRequest): AvroPolicyOptions {
  if (!isReservedSubject(request.subject)) return {};
  if (request.internal !== true) {
    throw new RegistryError(
      'INVALID_SUBJECT',
      `Invalid subject ${JSON.stringify(request.subject)}: subjects under ${reservedSubjectPrefix} are reserved for Sluice's own types`,
    );
  }
  return { allowBytes: true };
}

export interface Registration {
  id: number;
  version: number;
  /** False when the subject already held this schema (nothing was written). */
  created: boolean;
}

/**
 * What the gateway, the workers and the CLI use: the registry's state (a live SchemaCatalog) and
 * its writes. Sluice's own registry keeps it in a Kafka topic (KafkaSchemaRegistry); with
 * SLUICE_SCHEMA_REGISTRY_URL it is another Confluent-compatible registry (remote-schema-registry.ts).
 */
export interface SchemaRegistry {
  readonly state: RegistryState;
  start(): Promise<void>;
  stop(): Promise<void>;
  isCaughtUp(): boolean;
  register(request: RegistrationRequest): Promise<Registration>;
  /** `subject` undefined: the global level; `level` undefined: remove the subject's own level. */
  setCompatibility(subject: string | undefined, level: CompatibilityLevel | undefined): Promise<void>;
  /** Soft delete of a subject (all versions: the type is deprecated) or one version; returns the versions deleted. */
  delete(subject: string, version?: number | 'latest'): Promise<number[]>;
  /** The schema of an id, reading the registry again when this process does not hold it yet. */
  resolveId(id: number): Promise<RegisteredSchema | undefined>;
}

export interface KafkaSchemaRegistryOptions {
  kafka: KafkaClient;
  /** The compacted, one-partition registry topic (`SLUICE_SCHEMAS_TOPIC`). */
  topic: string;
  logger: Logger;
  metrics?: RegistryMetrics | undefined;
  /** Creates the topic from this spec when it is missing; without it a missing topic fails `start()`. */
  createTopic?: TopicSpec | undefined;
  /** Default 60 s. */
  startTimeoutMs?: number | undefined;
  /** A write not acknowledged and read back by then fails; default 10 s. */
  writeTimeoutMs?: number | undefined;
  /** How long a fetch waits when nothing is new; default 500 ms. */
  maxWaitTimeMs?: number | undefined;
  onFatalError?: ((error: unknown) => void) | undefined;
  nowMs?: () => number;
}

/** Decisions lost to concurrent writers before a write gives up (each loss means another won). */
const maxWriteAttempts = 50;

/**
 * Sluice's own schema registry: a compacted topic of changes (registry-records.ts) applied in
 * offset order by every process (registry-state.ts). A write is decided on this process's state,
 * produced, and read back: if it took effect, that is the answer; if another writer's change took
 * effect first, it is tombstoned and decided again on the new state.
 */
export class KafkaSchemaRegistry implements SchemaRegistry {
  readonly state = new RegistryState();
  private readonly view: CompactedTopicView<RegistryRecord>;
  private readonly options: KafkaSchemaRegistryOptions;
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  private writes: Promise<unknown> = Promise.resolve();
  private unreadable = 0;

  constructor(options: KafkaSchemaRegistryOptions) {
    this.options = options;
    this.nowMs = options.nowMs ?? Date.now;
    this.logger = options.logger.child({ component: 'schema-registry', topic: options.topic });
    this.view = new CompactedTopicView<RegistryRecord>({
      kafka: options.kafka,
      topic: options.topic,
      topicRole: 'schema registry',
      changeName: 'schema registry change',
      decode: (message) => {
        const key = message.key?.toString();
        if (message.value === null) return { key, value: undefined };
        const decoded = decodeRegistryRecord(message.value);
        return typeof decoded === 'string'
          ? { key, value: undefined, problem: { reason: 'unreadable', message: decoded } }
          : { key, value: decoded };
      },
      logger: this.logger,
      createTopic: options.createTopic,
      groupIdPrefix: 'sluice-schemas-view',
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      writeTimeoutMs: this.writeTimeoutMs,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 500,
      onFatalError: (error) => {
        // The view is stale from now on: the gauge says so before the caller hears of it.
        this.updateGauges();
        options.onFatalError?.(error);
      },
      applyOwnWrites: false,
    });
    this.view.onChange((change) => {
      if (change.value === undefined) {
        if (change.problem !== undefined) {
          this.unreadable += 1;
          this.logger.warn(
            { offset: change.offset.toString(), problem: change.problem },
            'unreadable registry record',
          );
        }
        return;
      }
      this.apply(change.offset, change.value);
    });
  }

  private get writeTimeoutMs(): number {
    return this.options.writeTimeoutMs ?? 10_000;
  }

  async start(): Promise<void> {
    await this.view.start();
    this.updateGauges();
    this.logger.info(
      { subjects: this.state.subjects({ deleted: true }).length, schemas: this.state.all().length },
      'schema registry loaded',
    );
  }

  async stop(): Promise<void> {
    await this.writes.catch(() => undefined);
    await this.view.stop();
  }

  isCaughtUp(): boolean {
    return this.view.isCaughtUp();
  }

  stats(): { caughtUp: boolean; unreadableRecords: number } {
    return { caughtUp: this.isCaughtUp(), unreadableRecords: this.unreadable };
  }

  async register(request: RegistrationRequest): Promise<Registration> {
    checkSubject(request.subject);
    const schema = parseSchema(request.schema, reservedSubjectPolicy(request));
    const outcome = await this.serialised(() =>
      this.commit<Registration>((state) => {
        const decision = decideRegistration(state, {
          subject: request.subject,
          schema,
          description: request.description,
          example: request.example,
          nowIso: new Date(this.nowMs()).toISOString(),
        });
        if ('existing' in decision) {
          return { done: { id: decision.existing.id, version: decision.existing.version, created: false } };
        }
        const { id, version } = decision.change;
        return { change: decision.change, result: { id, version, created: true } };
      }),
    );
    this.options.metrics?.registrations.inc({ outcome: outcome.created ? 'created' : 'existing' });
    if (outcome.created) this.logger.info({ subject: request.subject, ...outcome }, 'schema registered');
    return outcome;
  }

  async setCompatibility(subject: string | undefined, level: CompatibilityLevel | undefined): Promise<void> {
    if (subject !== undefined) checkSubject(subject);
    await this.serialised(() =>
      this.commit(() => ({ change: { kind: 'config', subject, compatibility: level }, result: undefined })),
    );
    this.logger.info(
      { subject: subject ?? '(global)', compatibility: level ?? '(inherit)' },
      'compatibility set',
    );
  }

  async delete(subject: string, version?: number | 'latest'): Promise<number[]> {
    const deleted = await this.serialised(() =>
      this.commit((state) => {
        const decision = decideDeletion(state, subject, version, new Date(this.nowMs()).toISOString());
        return { change: decision.change, result: decision.versions };
      }),
    );
    this.logger.info(
      { subject, versions: deleted },
      version === undefined ? 'event type deprecated' : 'schema version deleted',
    );
    return deleted;
  }

  async resolveId(id: number): Promise<RegisteredSchema | undefined> {
    const held = this.state.byId(id);
    if (held !== undefined) return held;
    // A record can name an id registered a moment ago that this process has not read yet.
    await this.view.syncToEnd(this.writeTimeoutMs);
    const schema = this.state.byId(id);
    this.options.metrics?.idLookups.inc({ result: schema === undefined ? 'unknown' : 'found' });
    return schema;
  }

  // ---- internals ----

  private apply(offset: bigint, record: RegistryRecord): void {
    const result = this.state.apply(offset, record);
    if (!result.applied) {
      this.logger.debug({ offset: offset.toString(), reason: result.reason }, 'registry change void');
      return;
    }
    const { change } = record;
    if (change.kind === 'register' && this.view.isCaughtUp()) {
      this.options.metrics?.propagation.observe(Math.max(0, this.nowMs() - Date.parse(change.at)) / 1000);
    }
    this.updateGauges();
  }

  private updateGauges(): void {
    this.options.metrics?.subjects.set(this.state.subjects({ deleted: true }).length);
    this.options.metrics?.schemas.set(this.state.all().length);
    this.options.metrics?.caughtUp.set(this.isCaughtUp() ? 1 : 0);
  }

  /**
   * Decides on the current state and writes the change with that state as its basis, until one
   * takes effect. `decide` returns `done` when nothing needs writing.
   */
  private async commit<T>(
    decide: (state: RegistryState) => { done: T } | { change: RegistryChange; result: T },
  ): Promise<T> {
    for (let attempt = 1; attempt <= maxWriteAttempts; attempt += 1) {
      const decision = decide(this.state);
      if ('done' in decision) return decision.done;
      const key = newChangeKey();
      const record: RegistryRecord = { basis: this.state.lastEffectiveOffset(), change: decision.change };
      const position = await this.view.write({ key, value: encodeRegistryRecord(record) }, undefined);
      if (position === undefined)
        throw new RegistryError('STORE_ERROR', 'Kafka did not report where the change was written');
      await this.view
        .waitForOffset(position.partition, position.offset, this.writeTimeoutMs)
        .catch((cause) => {
          throw new RegistryError(
            'OPERATION_TIMEOUT',
            'the change was written but not read back in time; it may still take effect',
            { cause },
          );
        });
      if (this.state.isEffective(position.offset)) return decision.result;
      this.options.metrics?.writeConflicts.inc();
      // Void: another writer's change took effect first. Its record goes, so compaction removes it.
      this.view
        .write({ key, value: null }, undefined)
        .catch((error: unknown) =>
          this.logger.warn({ err: error }, 'could not tombstone a void registry change'),
        );
    }
    throw new RegistryError(
      'STORE_ERROR',
      `the registry change lost ${maxWriteAttempts} races in a row; try again`,
    );
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writes.then(task, task);
    this.writes = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      throw error instanceof RegistryError || error instanceof SluiceError
        ? error
        : new RegistryError('STORE_ERROR', String(error), { cause: error });
    });
  }
}
