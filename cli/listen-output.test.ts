import { describe, expect, it } from 'vitest';
import {
  AttemptCounter,
  chooseAnswer,
  formatDelivery,
  localTime,
  type PrintedDelivery,
} from './listen-output.js';

const verified = { ok: true } as const;

describe('chooseAnswer (sluice listen)', () => {
  it('answers 200, or --status for every verified attempt', () => {
    expect(chooseAnswer({ status: undefined, failAttempts: 0, delayMs: 0 }, 1, verified)).toEqual({
      status: 200,
      why: undefined,
    });
    expect(chooseAnswer({ status: 503, failAttempts: 0, delayMs: 0 }, 7, verified)).toEqual({
      status: 503,
      why: '--status',
    });
  });

  it('fails the first --fail-attempts attempts of an event (500 unless --status), then answers 200', () => {
    const options = { status: undefined, failAttempts: 2, delayMs: 0 };
    expect([1, 2, 3].map((attempt) => chooseAnswer(options, attempt, verified).status)).toEqual([
      500, 500, 200,
    ]);
    expect(chooseAnswer({ ...options, status: 429 }, 1, verified)).toEqual({
      status: 429,
      why: '--fail-attempts 2: failing attempt 1',
    });
    expect(chooseAnswer(options, 3, verified).why).toBe('--fail-attempts 2: attempt 3 succeeds');
  });

  it('answers 400 to a delivery whose signature does not verify, whatever the flags', () => {
    const invalid = { ok: false, reason: 'No matching signature found' } as const;
    expect(chooseAnswer({ status: 200, failAttempts: 0, delayMs: 0 }, 1, invalid)).toEqual({
      status: 400,
      why: 'signature does not verify',
    });
  });
});

describe('AttemptCounter', () => {
  it('numbers the attempts of each webhook-id from 1, and forgets the oldest id past its bound', () => {
    const counter = new AttemptCounter(2);
    expect([counter.next('a'), counter.next('a'), counter.next('b'), counter.next('a')]).toEqual([
      1, 2, 1, 3,
    ]);
    counter.next('c'); // 'b' is now the oldest, and goes.
    expect(counter.next('b')).toBe(1);
    expect(counter.next('a')).toBe(1);
  });
});

describe('formatDelivery', () => {
  const receivedAt = new Date(2026, 0, 2, 3, 4, 5, 67);
  const delivery: PrintedDelivery = {
    receivedAt,
    method: 'POST',
    path: '/webhooks',
    webhookId: 'evt-1',
    attempt: 2,
    verdict: verified,
    answer: { status: 500, why: '--fail-attempts 2: failing attempt 2' },
    answeredAfterMs: 3.4,
    senderGone: false,
    body: '{"type":"account.created","timestamp":"2026-01-02T03:04:05Z","data":{"seats":5}}',
  };

  it('prints event type, attempt, webhook-id, verdict, answer and the indented JSON body', () => {
    expect(formatDelivery(delivery, false)).toBe(
      [
        '03:04:05.067 account.created  attempt 2  webhook-id evt-1',
        '  signature  verified',
        '  answered   500 (--fail-attempts 2: failing attempt 2) after 3 ms',
        '  │ {',
        '  │   "type": "account.created",',
        '  │   "timestamp": "2026-01-02T03:04:05Z",',
        '  │   "data": {',
        '  │     "seats": 5',
        '  │   }',
        '  │ }',
        '',
        '',
      ].join('\n'),
    );
  });

  it('says why a signature is invalid, when the sender hung up, and prints a body that is not JSON as is', () => {
    const text = formatDelivery(
      {
        ...delivery,
        path: '/other',
        webhookId: undefined,
        verdict: { ok: false, reason: 'Message timestamp too old' },
        answer: { status: 400, why: 'signature does not verify' },
        senderGone: true,
        body: 'not json',
      },
      false,
    );
    expect(text).toContain('(no event type)  attempt 2  webhook-id (missing)');
    expect(text).toContain('  signature  INVALID (Message timestamp too old)');
    expect(text).toContain('but the sender had hung up');
    expect(text).toContain('  request    POST /other');
    expect(text).toContain('  │ not json');
  });

  it('colours only when asked', () => {
    expect(formatDelivery(delivery, false)).not.toContain('\u001b[');
    const coloured = formatDelivery(delivery, true);
    expect(coloured).toContain('\u001b[32mverified\u001b[0m');
    expect(coloured).toContain('\u001b[31m500\u001b[0m');
  });

  it('shows local time to the millisecond', () => {
    expect(localTime(receivedAt)).toBe('03:04:05.067');
  });
});
