import { randomBytes } from 'node:crypto';
import type { KafkaClient } from '../../common/kafka/index.js';
import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { buildReplayRecord } from '../../common/retry/retry-records.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import { replayFailure, throwIfAborted, type ReplayProgress } from './replay-failure.js';
import type { ReplayRequest } from './replay-request.js';
import { offsetsIn, replaySelector, windowRanges } from './replay-window.js';
import { openReplayWriter, requireRetryTopic } from './replay-writer.js';
import { readWindow } from './window-reader.js';

export type ReplayResult =
  | { dryRun: true; matched: number; scanned: number }
  | { dryRun: false; replayId: string; queued: number; scanned: number };

/** What one replay needs; `SubscriptionReplayerOptions` documents each setting. */
export interface ReplayRunOptions {
  kafka: KafkaClient;
  eventsTopic: string;
  retryTopic: string;
  maxEvents: number;
  timeoutMs: number;
  produceTimeoutMs: number;
  maxBatchBytes: number;
  maxBatchRecords: number;
  logger: Logger;
  nowMs: () => number;
}

/**
 * One replay, top to bottom: locate the window, count it first when its offsets alone exceed the
 * cap (or for a dry run), then read it again and write each selected event to the first retry tier
 * as a retry record due now, attempt 1, carrying the replay id. `signal` aborts it (deadline,
 * shutdown); it then stops reading, waits for the writes in flight and reports what it queued.
 */
export async function runReplay(
  options: ReplayRunOptions,
  subscription: Subscription,
  request: ReplayRequest,
  signal: AbortSignal,
): Promise<ReplayResult> {
  const { logger, nowMs } = options;
  const replayId = newReplayId();
  const startedMs = nowMs();
  const progress: ReplayProgress = { scanned: 0, matched: 0, queued: 0, unconfirmed: 0 };
  const context = {
    replayId,
    subscriptionId: subscription.id,
    from: new Date(request.fromMs).toISOString(),
    to: new Date(request.toMs).toISOString(),
    dryRun: request.dryRun,
  };
  const logFields = () => ({ ...context, ...progress, durationMs: nowMs() - startedMs });
  const selects = replaySelector(subscription, request);
  const finished = (): ReplayResult => {
    logger.info(logFields(), 'replay queued');
    return { dryRun: false, replayId, queued: progress.queued, scanned: progress.scanned };
  };

  const admin = options.kafka.admin();
  const read = { kafka: options.kafka, admin, topic: options.eventsTopic, signal };
  try {
    await admin.connect();
    const ranges = await windowRanges(admin, options.eventsTopic, request);
    const offsetsInWindow = offsetsIn(ranges);
    logger.info({ ...context, partitions: ranges.length, offsetsInWindow }, 'replay started');
    if (!request.dryRun) await requireRetryTopic(admin, options.retryTopic);
    throwIfAborted(signal);

    if (request.dryRun || offsetsInWindow > options.maxEvents) {
      await readWindow({
        ...read,
        ranges,
        groupId: `sluice-replay-${replayId}-count`,
        onRecord: (record) => {
          progress.scanned++;
          if (selects(record)) progress.matched++;
        },
      });
      if (request.dryRun) {
        logger.info(logFields(), 'replay dry run counted');
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

    const writer = await openReplayWriter({ ...options, progress });
    try {
      await readWindow({
        ...read,
        ranges,
        groupId: `sluice-replay-${replayId}-write`,
        onRecord: async (record) => {
          progress.scanned++;
          if (!selects(record)) return;
          progress.matched++;
          await writer.add(
            buildReplayRecord(options.retryTopic, record, {
              subscriptionId: subscription.id,
              replayId,
              nowMs: nowMs(),
              dueAtMs: request.notBeforeMs,
            }),
          );
        },
      });
      await writer.finish();
    } finally {
      await writer.close();
    }
    return finished();
  } catch (error) {
    throw replayFailure({
      error,
      signal,
      replayId,
      progress,
      logFields: logFields(),
      timeoutMs: options.timeoutMs,
      logger,
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** `rpl_` and 26 base-32 characters (130 random bits). */
export function newReplayId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let id = 'rpl_';
  for (const byte of randomBytes(26)) id += alphabet[byte & 31];
  return id;
}
