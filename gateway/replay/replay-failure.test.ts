import { describe, expect, it } from 'vitest';
import { isSluiceError, SluiceError } from '../../common/errors.js';
import { createLogger } from '../../common/logger.js';
import { replayFailure, type AbortCause, type ReplayProgress } from './replay-failure.js';

function failed(error: unknown, cause: AbortCause | undefined, progress: Partial<ReplayProgress> = {}) {
  const controller = new AbortController();
  if (cause !== undefined) controller.abort(cause);
  return replayFailure({
    error,
    signal: controller.signal,
    replayId: 'rpl_test',
    progress: { scanned: 10, matched: 8, queued: 0, unconfirmed: 0, ...progress },
    logFields: {},
    timeoutMs: 1000,
    logger: createLogger('test', 'silent'),
  });
}

describe('replayFailure', () => {
  it('answers SLUICE_REPLAY_TIMED_OUT at the deadline, with what was queued and what may have been', () => {
    const answer = failed(new Error('replay aborted: deadline'), 'deadline', { queued: 5, unconfirmed: 2 });
    expect(isSluiceError(answer, 'SLUICE_REPLAY_TIMED_OUT')).toBe(true);
    expect(answer).toMatchObject({
      details: { replayId: 'rpl_test', queued: 5, unconfirmed: 2, scanned: 10 },
      retryAfterSeconds: 1,
    });
    expect((answer as Error).message).toContain('5 events were queued for delivery under replay rpl_test');
    expect((failed(new Error('aborted'), 'deadline') as Error).message).toContain('nothing was queued');
  });

  it('answers SLUICE_SHUTTING_DOWN when the gateway stops it, whatever error that caused', () => {
    const answer = failed(new SluiceError('SLUICE_REPLAY_TOO_LARGE', 'too large'), 'shutdown', { queued: 3 });
    expect(isSluiceError(answer, 'SLUICE_SHUTTING_DOWN')).toBe(true);
    expect(answer).toMatchObject({ details: { replayId: 'rpl_test', queued: 3, unconfirmed: 0 } });
  });

  it('passes a Sluice error through, and reports any other as SLUICE_KAFKA_UNAVAILABLE with the counts', () => {
    const tooLarge = new SluiceError('SLUICE_REPLAY_TOO_LARGE', 'too large');
    expect(failed(tooLarge, undefined)).toBe(tooLarge);
    const missingTopic = new SluiceError('SLUICE_KAFKA_UNAVAILABLE', 'no retry topic');
    expect(failed(missingTopic, undefined)).toBe(missingTopic);
    const broken = new Error('connection reset');
    const answer = failed(broken, undefined, { queued: 4 });
    expect(isSluiceError(answer, 'SLUICE_KAFKA_UNAVAILABLE')).toBe(true);
    expect(answer).toMatchObject({ cause: broken, details: { queued: 4 } });
  });
});
