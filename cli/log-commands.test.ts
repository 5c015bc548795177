import { describe, expect, it } from 'vitest';
import { formatDeadLetters, formatEventStatus } from './log-commands.js';

describe('log commands output', () => {
  it('prints one line per subscription with its status and last answer', () => {
    const lines = formatEventStatus({
      id: 'evt-1',
      subscriptions: [
        {
          subscriptionId: 'sub_a',
          status: 'retrying',
          nextAttemptAt: '2026-03-01T12:00:30.000Z',
          attempts: 2,
          lastAttempt: {
            attemptedAt: '2026-03-01T12:00:00.000Z',
            statusCode: 503,
            errorClass: null,
            latencyMs: 41.6,
          },
        },
      ],
    });
    expect(lines).toEqual([
      'event evt-1',
      '  sub_a  retrying next 2026-03-01T12:00:30.000Z  attempts 2  last 2026-03-01T12:00:00.000Z 503 42 ms',
    ]);
  });

  it('prints dead letters and the cursor of the next page', () => {
    expect(
      formatDeadLetters({
        deadLetters: [
          {
            deadLetteredAt: 't',
            id: 'sluice.dlq-0-1',
            subscriptionId: null,
            eventId: null,
            reason: 'invalid-avro',
            attempts: 0,
            lastStatus: null,
            lastError: null,
          },
        ],
        nextCursor: 'abc',
      }),
    ).toEqual(['t  sluice.dlq-0-1  (poison)  -  invalid-avro  attempts 0  last -', 'more: --cursor abc']);
  });
});
