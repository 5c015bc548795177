import { randomBytes } from 'node:crypto';
import { SluiceError } from '../../common/errors.js';
import type { ConsumedRecord, KafkaClient, OutgoingRecord } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';
import { buildDeadLetterReplayRecord, buildReplayRecord } from '../../common/retry/retry-records.js';
import { tenantMatches } from '../../common/subscriptions/subscription-matcher.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import { tenantHeader } from '../../common/tenant-id.js';
import type { ReplayProgress } from '../replay/replay-failure.js';
import { newReplayId } from '../replay/replay-run.js';
import { openReplayWriter, requireRetryTopic } from '../replay/replay-writer.js';
import { readWindow } from '../replay/window-reader.js';
import type { DeadLetterRecord, DeliveryLog } from './delivery-log.js';

export interface LogResenderOptions {
  kafka: KafkaClient;
  /** The first retry tier, as for subscription replay: the worker's normal path from there. */
  retryTopic: string;
  /** Deadline of reading the event back from Kafka. */
  timeoutMs: number;
  produceTimeoutMs: number;
  maxBatchBytes: number;
  logger: Logger;
  nowMs?: () => number;
}

export interface ResendResult {
  replayId: string;
  eventId: string;
  subscriptionId: string;
  /** The events-topic record that was read again. */
  source: { topic: string; partition: number; offset: string };
}

export interface LogResender {
  /**
   * Queues one more delivery of one event to one subscription, with a replay id of its own (its
   * own deduplication key). Throws SLUICE_NOT_FOUND for an event the log never saw,
   * SLUICE_RESEND_REFUSED for a pair the log has no delivery of or a record Kafka no longer has.
   * With `onlyThisSubscription` (a tenant key), a pair without attempts is SLUICE_NOT_FOUND too,
   * so the answer says nothing of other subscriptions' events.
   */
  resend(
    subscription: Subscription,
    eventId: string,
    options?: { onlyThisSubscription?: boolean },
  ): Promise<ResendResult>;
  /** Writes dead letters back to the first retry tier; resolves to how many were written. */
  replayDeadLetters(letters: readonly DeadLetterRecord[]): Promise<number>;
}

function refused(message: string): SluiceError {
  return new SluiceError('SLUICE_RESEND_REFUSED', message);
}

/**
 * One-event resend and dead-letter replay, through the same writer as subscription replay: the
 * records go to the first retry tier, due now, attempt 1, and the worker delivers them as any
 * retry (signed, rate-limited, behind the breaker, with the whole retry schedule).
 */
export function createLogResender(log: DeliveryLog, options: LogResenderOptions): LogResender {
  const nowMs = options.nowMs ?? Date.now;
  const logger = options.logger.child({ component: 'resend' });

  async function write(records: readonly OutgoingRecord[]): Promise<number> {
    const progress: ReplayProgress = { scanned: 0, matched: 0, queued: 0, unconfirmed: 0 };
    const admin = options.kafka.admin();
    await admin.connect();
    try {
      await requireRetryTopic(admin, options.retryTopic);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const writer = await openReplayWriter({
      kafka: options.kafka,
      produceTimeoutMs: options.produceTimeoutMs,
      maxBatchBytes: options.maxBatchBytes,
      maxBatchRecords: 1000,
      progress,
    });
    try {
      for (const record of records) await writer.add(record);
      await writer.finish();
    } finally {
      await writer.close();
    }
    return progress.queued;
  }

  /** The record at `source`, read with a throwaway consumer; undefined when Kafka no longer has it. */
  async function readRecord(source: ResendResult['source']): Promise<ConsumedRecord | undefined> {
    const admin = options.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(source.topic).catch(() => []);
      const partition = offsets.find((entry) => entry.partition === source.partition);
      const offset = BigInt(source.offset);
      if (partition === undefined || offset < BigInt(partition.low) || offset >= BigInt(partition.high)) {
        return undefined;
      }
      let found: ConsumedRecord | undefined;
      await readWindow({
        kafka: options.kafka,
        admin,
        topic: source.topic,
        ranges: [{ partition: source.partition, start: offset, end: offset + 1n }],
        groupId: `sluice-resend-${randomBytes(8).toString('hex')}`,
        signal: AbortSignal.timeout(options.timeoutMs),
        onRecord: (record) => {
          if (record.offset === source.offset) found = record;
        },
      });
      return found;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  return {
    async resend(subscription, eventId, { onlyThisSubscription = false } = {}) {
      const attempts = await log.attemptSources(eventId, subscription.id);
      if (attempts.length === 0) {
        if (onlyThisSubscription || !(await log.eventRecorded(eventId))) {
          throw new SluiceError('SLUICE_NOT_FOUND', `no attempt of event ${eventId} is recorded`);
        }
        throw refused(
          `subscription ${subscription.id} never had a delivery of event ${eventId}: it did not match the event`,
        );
      }
      if (attempts.every((attempt) => attempt.outcome === 'filtered')) {
        throw refused(
          `subscription ${subscription.id}'s filters refused event ${eventId}; nothing to resend`,
        );
      }
      if (!subscription.enabled) {
        throw refused(`subscription ${subscription.id} is disabled: enable it before resending`);
      }
      const source = attempts.find((attempt) => attempt.source !== null)?.source;
      if (source === undefined || source === null) {
        throw refused(
          `the log does not know which Kafka record holds event ${eventId} (attempts recorded before sources were)`,
        );
      }
      const record = await readRecord(source);
      if (record === undefined) {
        throw refused(
          `event ${eventId} is no longer in ${source.topic} (partition ${source.partition}, offset ${source.offset}): past the topic's retention`,
        );
      }
      if (record.headers.ce_id !== eventId) {
        throw refused(
          `the record at ${source.topic}/${source.partition}/${source.offset} is not event ${eventId} (the topic was recreated?)`,
        );
      }
      // The worker would drop it: say so now rather than answer 202 for nothing.
      if (!tenantMatches(subscription.tenant, record.headers[tenantHeader] || undefined)) {
        throw refused(
          `event ${eventId} belongs to another tenant than subscription ${subscription.id} (it was moved since)`,
        );
      }
      const replayId = newReplayId();
      const written = await write([
        buildReplayRecord(options.retryTopic, record, {
          subscriptionId: subscription.id,
          replayId,
          nowMs: nowMs(),
        }),
      ]);
      if (written !== 1) {
        throw new SluiceError('SLUICE_KAFKA_UNAVAILABLE', 'Kafka did not acknowledge the resend', {
          retryAfterSeconds: 1,
        });
      }
      logger.info({ eventId, subscriptionId: subscription.id, replayId }, 'event resent');
      return { replayId, eventId, subscriptionId: subscription.id, source };
    },

    async replayDeadLetters(letters) {
      const now = nowMs();
      const records = letters.flatMap((letter) => {
        // The dead letter's own position (its id) stands in for a missing `sluice_origin`, as in
        // `sluice dlq replay`.
        const position = /^(.+)-(\d+)-(\d+)$/.exec(letter.id);
        const record = buildDeadLetterReplayRecord(
          options.retryTopic,
          {
            topic: position?.[1] ?? letter.id,
            partition: Number(position?.[2] ?? 0),
            offset: position?.[3] ?? '0',
            key: letter.key,
            value: letter.value,
            headers: letter.headers,
            timestampMs: Date.parse(letter.deadLetteredAt),
          },
          now,
        );
        return record === undefined ? [] : [record];
      });
      if (records.length === 0) return 0;
      return write(records);
    },
  };
}
