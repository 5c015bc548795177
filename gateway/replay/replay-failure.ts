import { isSluiceError, SluiceError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

/** Why a replay's signal aborted: its deadline passed, or the gateway is shutting down. */
export type AbortCause = 'deadline' | 'shutdown';

/** A replay's counts, for its answer and its log lines. */
export interface ReplayProgress {
  scanned: number;
  matched: number;
  /** Records Kafka acknowledged in the retry tier. */
  queued: number;
  /** Records sent without an acknowledgement (deadline or failure): they may be in Kafka. */
  unconfirmed: number;
}

export function throwIfAborted(signal: AbortSignal): void {
  // The reason is an AbortCause; `replayFailure` turns it into the answer.
  if (signal.aborted) throw new Error(`replay aborted: ${String(signal.reason)}`);
}

export interface FailedReplay {
  error: unknown;
  signal: AbortSignal;
  replayId: string;
  progress: ReplayProgress;
  /** The fields of the replay's log lines, its counts and duration included. */
  logFields: Record<string, unknown>;
  /** The replay's deadline (`SLUICE_REPLAY_TIMEOUT_MS`), for the answer. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * What the caller is told when a replay did not finish: a deadline or a shutdown wins over the
 * error it caused, and what was already queued is logged and reported, never hidden.
 */
export function replayFailure(failed: FailedReplay): unknown {
  const { error, replayId, progress, logFields, logger } = failed;
  const queuedDetails = { replayId, queued: progress.queued, unconfirmed: progress.unconfirmed };
  const cause = failed.signal.aborted ? (failed.signal.reason as AbortCause) : undefined;
  const partially = progress.queued + progress.unconfirmed > 0;
  if (cause === undefined && isSluiceError(error) && error.code === 'SLUICE_REPLAY_TOO_LARGE') return error;
  if (cause === 'deadline') {
    logger.warn(logFields, 'replay deadline expired; the events queued so far will be delivered');
    return new SluiceError(
      'SLUICE_REPLAY_TIMED_OUT',
      `the replay did not finish within ${failed.timeoutMs} ms after reading ${progress.scanned} events; ` +
        (partially
          ? `${progress.queued} events were queued for delivery under replay ${replayId} (${progress.unconfirmed} more may have been); replaying the same window again delivers those twice, so replay smaller windows`
          : 'nothing was queued; replay smaller windows'),
      { details: { ...queuedDetails, scanned: progress.scanned }, retryAfterSeconds: 1 },
    );
  }
  if (cause === 'shutdown') {
    logger.warn(logFields, 'replay stopped by shutdown; the events queued so far will be delivered');
    return new SluiceError(
      'SLUICE_SHUTTING_DOWN',
      `the gateway is shutting down; ${progress.queued} events were queued under replay ${replayId}`,
      { details: queuedDetails },
    );
  }
  logger.error({ ...logFields, err: error }, 'replay failed');
  if (isSluiceError(error)) return error;
  return new SluiceError(
    'SLUICE_KAFKA_UNAVAILABLE',
    `Kafka failed during the replay; ${progress.queued} events were queued under replay ${replayId}`,
    { cause: error, details: queuedDetails },
  );
}
