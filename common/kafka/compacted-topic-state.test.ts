import { describe, expect, it } from 'vitest';
import { CompactedTopicState, type DecodedTopicRecord } from './compacted-topic-state.js';

const put =
  (key: string, value: string): (() => DecodedTopicRecord<string>) =>
  () => ({ key, value });
const tombstone =
  (key: string): (() => DecodedTopicRecord<string>) =>
  () => ({ key, value: undefined });

function startedAt(...highs: number[]): CompactedTopicState<string> {
  const state = new CompactedTopicState<string>();
  state.setTargets(highs.map((high, partition) => ({ partition, low: '0', high: String(high) })));
  return state;
}

describe('CompactedTopicState', () => {
  it('keeps the latest value per key and drops a key on a tombstone', () => {
    const state = startedAt(4);
    state.applyConsumed(0, 0n, put('a', 'a1'));
    state.applyConsumed(0, 1n, put('b', 'b1'));
    state.applyConsumed(0, 2n, put('a', 'a2'));
    state.applyConsumed(0, 3n, tombstone('b'));
    expect([...state.entries()]).toEqual([['a', 'a2']]);
    expect(state.size).toBe(1);
  });

  it('is caught up at once when every partition is empty or fully compacted', () => {
    const state = new CompactedTopicState<string>();
    expect(
      state.setTargets([
        { partition: 0, low: '0', high: '0' },
        { partition: 1, low: '7', high: '7' },
      ]),
    ).toBe(true);
    expect(state.isCaughtUp()).toBe(true);
  });

  it('is caught up once every partition reached the high watermark found at start, and says so once', () => {
    const state = startedAt(2, 1);
    expect(state.isCaughtUp()).toBe(false);
    state.applyConsumed(0, 0n, put('a', 'a1'));
    expect(state.advance(1, 1n)).toBe(false);
    expect(state.isCaughtUp()).toBe(false);
    state.applyConsumed(0, 1n, put('a', 'a2'));
    expect(state.isCaughtUp()).toBe(true);
    expect(state.advance(0, 5n)).toBe(false);
  });

  it('counts a batch whose records were all compacted away as read', () => {
    const state = startedAt(10);
    expect(state.advance(0, 10n)).toBe(true);
  });

  it('takes the log end as caught up only with one partition', () => {
    expect(startedAt(5).reachedLogEnd()).toBe(true);
    expect(startedAt(5, 5).reachedLogEnd()).toBe(false);
    const done = startedAt(0);
    expect(done.reachedLogEnd()).toBe(false);
  });

  it('ignores a record re-read below what it already applied', () => {
    const state = startedAt(2);
    state.applyConsumed(0, 0n, put('a', 'a1'));
    state.applyConsumed(0, 1n, put('a', 'a2'));
    expect(state.applyConsumed(0, 0n, put('a', 'a1'))).toBeUndefined();
    expect(state.get('a')).toBe('a2');
  });

  it('shows its own write at once and never steps back to older records of that key', () => {
    const state = startedAt(0);
    const written = state.applyWritten('a', 'mine', 0, 5n);
    expect(written).toMatchObject({ key: 'a', value: 'mine', source: 'write', offset: 5n });
    expect(state.get('a')).toBe('mine');
    // The consumer then reaches older records of that key, and the own write itself.
    expect(state.applyConsumed(0, 3n, put('a', 'older'))).toBeUndefined();
    expect(state.applyConsumed(0, 5n, put('a', 'mine'))).toBeUndefined();
    expect(state.get('a')).toBe('mine');
    // Newer records of that key (another process's writes) apply as usual.
    expect(state.applyConsumed(0, 6n, put('a', 'theirs'))).toMatchObject({
      value: 'theirs',
      source: 'topic',
    });
    expect(state.get('a')).toBe('theirs');
  });

  it('does not apply its own write when the consumer already passed it', () => {
    const state = startedAt(0);
    state.applyConsumed(0, 5n, put('a', 'mine'));
    state.applyConsumed(0, 6n, put('a', 'newer'));
    expect(state.applyWritten('a', 'mine', 0, 5n)).toBeUndefined();
    expect(state.get('a')).toBe('newer');
  });

  it('passes an unreadable record on with its problem, and drops its key', () => {
    const state = startedAt(2);
    state.applyConsumed(0, 0n, put('a', 'a1'));
    const change = state.applyConsumed(0, 1n, () => ({
      key: 'a',
      value: undefined,
      problem: { reason: 'malformed', message: 'not JSON' },
    }));
    expect(change).toMatchObject({
      key: 'a',
      value: undefined,
      problem: { reason: 'malformed' },
      offset: 1n,
    });
    expect(state.get('a')).toBeUndefined();
    const keyless = state.applyConsumed(0, 2n, () => ({ key: undefined, value: undefined }));
    expect(keyless).toMatchObject({ key: undefined, partition: 0, offset: 2n });
  });
});
