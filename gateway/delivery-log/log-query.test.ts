import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../common/errors.js';
import { encodeCursor, parseAttemptsQuery, parseDeadLettersQuery } from './log-query.js';

const fieldOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (isSluiceError(error, 'SLUICE_INVALID_QUERY')) return error.details.field;
    throw error;
  }
  return undefined;
};

describe('log queries', () => {
  it('reads filters and a cursor it handed out', () => {
    const cursor = encodeCursor({
      at: '2026-03-01T12:00:00.123456Z',
      id: '0b7e4c1e-1f0a-4a55-9a43-6f1f5d2a9c10',
    });
    const query = parseAttemptsQuery(
      `status=5xx&outcome=delivered&since=2026-03-01T00:00:00Z&until=2026-03-02T00:00:00%2B01:00&limit=10&cursor=${cursor}`,
    );
    expect(query).toEqual({
      status: '5xx',
      outcome: 'delivered',
      sinceMs: Date.parse('2026-03-01T00:00:00Z'),
      untilMs: Date.parse('2026-03-01T23:00:00Z'),
      limit: 10,
      cursor: { at: '2026-03-01T12:00:00.123456Z', id: '0b7e4c1e-1f0a-4a55-9a43-6f1f5d2a9c10' },
    });
    expect(parseDeadLettersQuery('').limit).toBe(50);
    expect(
      parseDeadLettersQuery(
        `cursor=${encodeCursor({ at: '2026-03-01T12:00:00.000000Z', id: 'sluice.dlq-0-7' })}`,
      ).cursor?.id,
    ).toBe('sluice.dlq-0-7');
  });

  it('names the field of every bad parameter', () => {
    expect(fieldOf(() => parseAttemptsQuery('limit=101'))).toBe('limit');
    expect(fieldOf(() => parseAttemptsQuery('limit=1.5'))).toBe('limit');
    expect(fieldOf(() => parseAttemptsQuery('status=2XX'))).toBe('status');
    expect(fieldOf(() => parseAttemptsQuery('outcome=gone'))).toBe('outcome');
    expect(fieldOf(() => parseAttemptsQuery('since=2026-03-01'))).toBe('since');
    expect(fieldOf(() => parseAttemptsQuery('since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z'))).toBe(
      'until',
    );
    expect(fieldOf(() => parseAttemptsQuery('cursor=abc'))).toBe('cursor');
    expect(
      fieldOf(() =>
        parseAttemptsQuery(`cursor=${encodeCursor({ at: '2026-03-01T12:00:00.123456Z', id: 'not-a-uuid' })}`),
      ),
    ).toBe('cursor');
    expect(fieldOf(() => parseAttemptsQuery('limit=1&limit=2'))).toBe('limit');
    expect(fieldOf(() => parseDeadLettersQuery('status=5xx'))).toBe('status');
  });
});
