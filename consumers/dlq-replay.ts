import { randomBytes } from 'node:crypto';
import type { Env } from '../common/config.js';
import { parseDurationMs } from '../common/duration.js';
import { SluiceError } from '../common/errors.js';
import { createKafkaClient, type KafkaClient, KeyPartitioner } from '../common/kafka/index.js';
import type { Logger } from '../common/logger.js';
import { retryTopicName } from '../common/retry/retry-schedule.js';
import { loadDeliveryConfig, type DeliveryConfig } from './delivery-config.js';
import { fromKafkaMessage, type ConsumedRecord, type OutgoingRecord } from '../common/kafka/index.js';
import { buildDeadLetterReplayRecord, deliveryHeaders } from '../common/retry/retry-records.js';
import { createRetryWriter } from './delivery/retry-writer.js';

export const dlqReplayUsage = `usage: sluice dlq replay [--subscription ID] [--since TIME] [--dry-run]

Re-publishes dead letters to the first retry tier, for another full retry schedule.
  --subscription ID  only dead letters of this subscription
  --since TIME       only those dead-lettered at or after TIME: RFC 3339 (2024-11-05T14:00:00Z)
                     or a duration back from now (90m, 2h, 1d)
  --dry-run          count what would be replayed; write nothing
Poison records (no subscription: undecodable events) are never replayed. Dead letters stay in the
topic, so a second run replays them again; deduplication stops a second successful delivery.`;

export interface DlqReplayOptions {
  subscriptionId: string | undefined;
  sinceMs: number | undefined;
  dryRun: boolean;
}

export interface DlqReplayReport {
  /** Dead letters read (the topic up to its end when the replay started). */
  read: number;
  /** Written back to the retry path (or, with --dry-run, that would be). */
  replayed: number;
  /** Per subscription id. */
  bySubscription: Record<string, number>;
  /** Poison records: nothing to deliver them to. */
  skippedWithoutSubscription: number;
  /** Outside --subscription / --since. */
  skippedByFilter: number;
  dryRun: boolean;
  targetTopic: string;
}

/** Parses the command line after `dlq replay`; `nowMs` anchors relative `--since` values. */
export function parseDlqReplayArgs(args: readonly string[], nowMs: number): DlqReplayOptions {
  const options: DlqReplayOptions = { subscriptionId: undefined, sinceMs: undefined, dryRun: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined || next.startsWith('--')) {
        throw new SluiceError('SLUICE_CONFIG_INVALID', `${arg} needs a value`);
      }
      return next;
    };
    if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--subscription') options.subscriptionId = value();
    else if (arg === '--since') options.sinceMs = parseSince(value(), nowMs);
    else throw new SluiceError('SLUICE_CONFIG_INVALID', `unknown argument ${arg}\n${dlqReplayUsage}`);
  }
  return options;
}

function parseSince(text: string, nowMs: number): number {
  const durationMs = parseDurationMs(text);
  if (durationMs !== undefined && !/^\d+$/.test(text.trim())) return nowMs - durationMs;
  const dateMs = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(dateMs)) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `--since must be an RFC 3339 time (2024-11-05T14:00:00Z) or a duration such as 2h, got ${text}`,
    );
  }
  return dateMs;
}

/** Decides one dead letter: the retry record to write, or why it is skipped. */
export function replayRecordFor(
  letter: ConsumedRecord,
  options: DlqReplayOptions,
  targetTopic: string,
  nowMs: number,
): OutgoingRecord | 'no-subscription' | 'filtered' {
  const subscriptionId = letter.headers[deliveryHeaders.subscriptionId];
  if (!subscriptionId) return 'no-subscription';
  if (options.subscriptionId !== undefined && subscriptionId !== options.subscriptionId) return 'filtered';
  const deadAtMs = Number(letter.headers[deliveryHeaders.deadLetteredAtMs] ?? letter.timestampMs);
  if (options.sinceMs !== undefined && !(deadAtMs >= options.sinceMs)) return 'filtered';
  return buildDeadLetterReplayRecord(targetTopic, letter, nowMs) ?? 'no-subscription';
}

/**
 * Reads the dead-letter topic up to the end it has now, with a throwaway consumer group that
 * commits nothing, and writes the selected dead letters to the first retry tier.
 */
export async function replayDeadLetters(
  config: DeliveryConfig,
  options: DlqReplayOptions,
  logger: Logger,
  kafka: KafkaClient = createKafkaClient(config.kafka, logger),
  nowMs: () => number = Date.now,
): Promise<DlqReplayReport> {
  const firstDelayMs = config.retryDelaysMs[0];
  if (firstDelayMs === undefined)
    throw new SluiceError('SLUICE_CONFIG_INVALID', 'the retry schedule is empty');
  const targetTopic = retryTopicName(config.topics.retryTopicPrefix, firstDelayMs);
  const report: DlqReplayReport = {
    read: 0,
    replayed: 0,
    bySubscription: {},
    skippedWithoutSubscription: 0,
    skippedByFilter: 0,
    dryRun: options.dryRun,
    targetTopic,
  };
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `sluice-dlq-replay-${randomBytes(6).toString('hex')}`;
  try {
    const offsets = await admin.fetchTopicOffsets(config.topics.dlqTopic);
    // The last offset to read per partition; partitions with nothing to read are done already.
    const remaining = new Map<number, bigint>();
    for (const { partition, high, low } of offsets) {
      if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high) - 1n);
    }
    if (remaining.size === 0) return report;

    const producer = kafka.producer({ createPartitioner: KeyPartitioner });
    await producer.connect();
    const writer = createRetryWriter({ producer, timeoutMs: config.produceTimeoutMs, logger });
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [config.topics.dlqTopic], fromBeginning: true });
      let finish!: () => void;
      let fail!: (error: unknown) => void;
      const done = new Promise<void>((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          const last = remaining.get(batch.partition);
          if (last === undefined) return;
          const records: OutgoingRecord[] = [];
          for (const message of batch.messages) {
            if (BigInt(message.offset) > last) break;
            report.read++;
            const decision = replayRecordFor(
              fromKafkaMessage(batch.topic, batch.partition, message),
              options,
              targetTopic,
              nowMs(),
            );
            if (decision === 'no-subscription') report.skippedWithoutSubscription++;
            else if (decision === 'filtered') report.skippedByFilter++;
            else {
              records.push(decision);
              const id = decision.headers[deliveryHeaders.subscriptionId]!;
              report.bySubscription[id] = (report.bySubscription[id] ?? 0) + 1;
            }
          }
          if (!options.dryRun) await writer.write(records);
          report.replayed += records.length;
          await heartbeat();
          if (BigInt(batch.lastOffset()) >= last) {
            remaining.delete(batch.partition);
            if (remaining.size === 0) finish();
          }
        },
      });
      await done;
    } finally {
      await consumer.disconnect();
      await writer.close();
      await producer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return report;
  } finally {
    await admin.disconnect();
  }
}

/** `sluice dlq replay …`: prints the report as one JSON line. */
export async function runDlqReplay(args: readonly string[], env: Env, logger: Logger): Promise<number> {
  if (args.includes('--help')) {
    process.stderr.write(`${dlqReplayUsage}\n`);
    return 0;
  }
  const options = parseDlqReplayArgs(args, Date.now());
  const config = loadDeliveryConfig(env);
  const report = await replayDeadLetters(config, options, logger);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return 0;
}
