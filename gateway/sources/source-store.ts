import { SluiceError } from '../../common/errors.js';
import { CompactedTopicView, type KafkaClient, type TopicSpec } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import type { SecretsKeyring } from '../../common/subscriptions/secrets-keyring.js';
import { decodeSourceRecord, encodeSource, sourceTombstone } from './source-codec.js';
import { newSourceId, type SourceFields, type SourcePatch } from './source-input.js';
import type { Source } from './source.js';

export interface SourceStoreOptions {
  kafka: KafkaClient;
  /** The compacted sources topic (`SLUICE_SOURCES_TOPIC`). */
  topic: string;
  /** Encrypts secrets before they reach Kafka (`SLUICE_SECRETS_KEYS`). */
  keyring: SecretsKeyring;
  logger: Logger;
  /** Creates the topic (compacted, one partition) when missing; without it a missing topic fails `start()`. */
  createTopic?: TopicSpec | undefined;
  nowMs?: () => number;
}

/**
 * The inbound sources every gateway holds in memory, kept current from the compacted topic
 * (compacted-topic-view.ts, as subscriptions are), and the admin API's writes. A source changed by
 * one gateway is seen by the others within about half a second; the writer sees it at once.
 * Writes of one instance are serialised, so read-modify-write never loses a change.
 */
export class SourceStore {
  private readonly view: CompactedTopicView<Source>;
  private readonly nowMs: () => number;
  private readonly logger: Logger;
  private writes: Promise<unknown> = Promise.resolve();
  private running = false;

  constructor(private readonly options: SourceStoreOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.logger = options.logger.child({ component: 'source-store', topic: options.topic });
    this.view = new CompactedTopicView<Source>({
      kafka: options.kafka,
      topic: options.topic,
      topicRole: 'sources',
      changeName: 'source change',
      decode: (message) => decodeSourceRecord(message, options.keyring),
      logger: this.logger,
      createTopic: options.createTopic,
      groupIdPrefix: 'sluice-sources-view',
      startTimeoutMs: 60_000,
      writeTimeoutMs: 10_000,
      maxWaitTimeMs: 500,
    });
    this.view.onChange((change) => {
      if (change.problem !== undefined) {
        this.logger.error(
          { sourceId: change.key, offset: change.offset.toString(), reason: change.problem.reason },
          `unreadable source record skipped: ${change.problem.message}`,
        );
      }
    });
  }

  get(id: string): Source | undefined {
    return this.view.get(id);
  }

  all(): Source[] {
    return [...this.view.entries()]
      .map(([, source]) => source)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  isCaughtUp(): boolean {
    return this.view.isCaughtUp();
  }

  async start(): Promise<void> {
    await this.view.start();
    this.running = true;
    this.logger.info({ sources: this.view.size }, 'sources loaded');
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.writes.catch(() => undefined);
    await this.view.stop();
  }

  async create(fields: SourceFields, secret: string): Promise<Source> {
    return this.serialised(() => {
      const now = new Date(this.nowMs()).toISOString();
      const source: Source = {
        id: newSourceId(),
        ...fields,
        secrets: [{ secret, expiresAtMs: undefined }],
        createdAt: now,
        updatedAt: now,
      };
      return this.write(source);
    });
  }

  async update(id: string, patch: SourcePatch): Promise<Source> {
    return this.serialised(() =>
      this.write({ ...this.require(id), ...patch, updatedAt: new Date(this.nowMs()).toISOString() }),
    );
  }

  /**
   * Puts `secret` first; the current one keeps verifying for `previousSecretMs` (0: not at all).
   * At most two are active: a secret rotated out earlier stops at once.
   */
  async rotateSecret(id: string, secret: string, previousSecretMs: number): Promise<Source> {
    return this.serialised(() => {
      const current = this.require(id);
      const nowMs = this.nowMs();
      const previous = current.secrets[0];
      const secrets = [{ secret, expiresAtMs: undefined as number | undefined }];
      if (previous !== undefined && previousSecretMs > 0) {
        secrets.push({ secret: previous.secret, expiresAtMs: nowMs + previousSecretMs });
      }
      return this.write({ ...current, secrets, updatedAt: new Date(nowMs).toISOString() });
    });
  }

  async remove(id: string): Promise<void> {
    await this.serialised(async () => {
      this.require(id);
      await this.view.write(sourceTombstone(id), undefined);
    });
  }

  private require(id: string): Source {
    const found = this.view.get(id);
    if (found === undefined) throw new SluiceError('SLUICE_NOT_FOUND', `no source ${id}`);
    return found;
  }

  private async write(source: Source): Promise<Source> {
    const frozen = Object.freeze(source);
    await this.view.write(encodeSource(frozen, this.options.keyring), frozen);
    return this.view.get(source.id) ?? frozen;
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    if (!this.running) {
      return Promise.reject(
        new SluiceError('SLUICE_SHUTTING_DOWN', 'the source store is not running', { retryAfterSeconds: 1 }),
      );
    }
    const run = this.writes.then(task, task);
    this.writes = run.catch(() => undefined);
    return run;
  }
}

export function createSourceStore(options: SourceStoreOptions): SourceStore {
  return new SourceStore(options);
}
