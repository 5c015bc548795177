import { describe, expect, it } from 'vitest';
import { retryRetriable } from './retry-retriable.js';

const retriableError = Object.assign(new Error('not the leader'), { retriable: true });

describe('retryRetriable', () => {
  it('retries retriable errors until the call succeeds', async () => {
    let calls = 0;
    const result = await retryRetriable(
      async () => {
        calls++;
        if (calls < 3) throw retriableError;
        return 'ok';
      },
      5,
      1,
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after the last attempt, and at once on an error that is not retriable', async () => {
    let calls = 0;
    await expect(
      retryRetriable(
        async () => {
          calls++;
          throw retriableError;
        },
        3,
        1,
      ),
    ).rejects.toBe(retriableError);
    expect(calls).toBe(3);
    calls = 0;
    const fatal = new Error('bad request');
    await expect(
      retryRetriable(
        async () => {
          calls++;
          throw fatal;
        },
        3,
        1,
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });
});
