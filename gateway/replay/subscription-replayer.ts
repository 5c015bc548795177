import type { KafkaClient } from '../../common/kafka/index.js';
import { SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { Subscription } from '../../common/subscriptions/subscription.js';
import type { AbortCause } from './replay-failure.js';
import type { ReplayRequest } from './replay-request.js';
import { runReplay, type ReplayResult } from './replay-run.js';

export type { ReplayResult } from './replay-run.js';

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
  /** Deadline of one write to the retry tier. */
  produceTimeoutMs: number;
  /** Bytes per produce request, below the retry topics' max.message.bytes. */
  maxBatchBytes: number;
  /** Records per produce request. Default 1000. */
  maxBatchRecords?: number;
  logger: Logger;
  nowMs?: () => number;
}

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

/**
 * Subscription replay (docs/architecture.md#subscriptions): admits replays up to `maxConcurrent`,
 * gives each its deadline and stops them at shutdown. One replay's steps are `runReplay`
 * (replay-run.ts): the window from Kafka's time index (replay-window.ts), read by a throwaway
 * consumer (window-reader.ts), written as retry records through the record writer
 * (replay-writer.ts); the worker then delivers them through its normal path (signing, breaker,
 * rate limit, maxConcurrency), and the replay id gives them a deduplication key of their own.
 */
export function createSubscriptionReplayer(options: SubscriptionReplayerOptions): SubscriptionReplayer {
  const runOptions = {
    ...options,
    maxBatchRecords: options.maxBatchRecords ?? 1000,
    logger: options.logger.child({ component: 'replay' }),
    nowMs: options.nowMs ?? Date.now,
  };
  const running = new Set<{ controller: AbortController; done: Promise<unknown> }>();
  let closed = false;

  return {
    async replay(subscription, request) {
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
      const done = runReplay(runOptions, subscription, request, controller.signal);
      const entry = { controller, done };
      running.add(entry);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
        running.delete(entry);
      }
    },
    async close() {
      closed = true;
      for (const { controller } of running) controller.abort('shutdown' satisfies AbortCause);
      await Promise.allSettled([...running].map(({ done }) => done));
    },
  };
}
