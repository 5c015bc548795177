import type { EnvReader } from '../../common/config.js';
import type { TopicSettings } from '../../common/kafka/index.js';
import { retryTopicName } from '../../common/retry/retry-schedule.js';

/** Subscription replay (`POST /v1/subscriptions/{id}/replay`). */
export interface ReplayConfig {
  /**
   * Where replayed deliveries are queued: the first retry tier, `SLUICE_RETRY_TOPIC_PREFIX` plus the
   * first delay of `SLUICE_RETRY_SCHEDULE` (default `5s,…`), which must be the delivery workers'.
   */
  readonly retryTopic: string;
  /** `SLUICE_REPLAY_MAX_EVENTS`, default 1 000 000: most events one replay may queue (more: 422). */
  readonly maxEvents: number;
  /** `SLUICE_REPLAY_TIMEOUT_MS`, default 60 s: deadline of one replay request (then 503). */
  readonly timeoutMs: number;
  /** `SLUICE_REPLAY_MAX_CONCURRENT`, default 2: replays one gateway runs at once (more: 503). */
  readonly maxConcurrent: number;
}

/** `retryDelaysMs`: the schedule as `readDeliveryBounds` read it (empty when it was invalid). */
export function readReplayConfig(
  reader: EnvReader,
  topics: TopicSettings,
  retryDelaysMs: readonly number[],
): ReplayConfig {
  const firstDelayMs = retryDelaysMs[0] ?? 5000;
  return {
    retryTopic: retryTopicName(topics.retryTopicPrefix, firstDelayMs),
    maxEvents: reader.integer('SLUICE_REPLAY_MAX_EVENTS', 1_000_000, { min: 1 }),
    timeoutMs: reader.durationMs('SLUICE_REPLAY_TIMEOUT_MS', 60_000, { min: 1000 }),
    maxConcurrent: reader.integer('SLUICE_REPLAY_MAX_CONCURRENT', 2, { min: 1, max: 100 }),
  };
}
