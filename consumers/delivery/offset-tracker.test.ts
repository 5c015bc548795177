import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offset-tracker.js';

describe('OffsetTracker', () => {
  it('has nothing to commit before a record is tracked', () => {
    const tracker = new OffsetTracker();
    expect(tracker.committable()).toBeUndefined();
    expect(tracker.nextOffset()).toBeUndefined();
    expect(tracker.inFlight()).toBe(0);
  });

  it('commits nothing past an unresolved record', () => {
    const tracker = new OffsetTracker();
    tracker.track(10n);
    expect(tracker.committable()).toBe(10n);
    expect(tracker.inFlight()).toBe(1);
  });

  it('commits one past the last record once everything is resolved', () => {
    const tracker = new OffsetTracker();
    for (const offset of [10n, 11n, 12n]) tracker.track(offset);
    for (const offset of [10n, 11n, 12n]) tracker.resolve(offset);
    expect(tracker.committable()).toBe(13n);
    expect(tracker.inFlight()).toBe(0);
  });

  it('holds the commit at the lowest unresolved record when later ones finish first', () => {
    const tracker = new OffsetTracker();
    for (let offset = 0n; offset < 5n; offset++) tracker.track(offset);
    tracker.resolve(4n);
    tracker.resolve(2n);
    tracker.resolve(1n);
    expect(tracker.committable()).toBe(0n);
    expect(tracker.inFlight()).toBe(2);
    tracker.resolve(0n);
    expect(tracker.committable()).toBe(3n);
    tracker.resolve(3n);
    expect(tracker.committable()).toBe(5n);
  });

  it('handles offsets with gaps (compaction, transaction markers)', () => {
    const tracker = new OffsetTracker();
    for (const offset of [3n, 7n, 20n]) tracker.track(offset);
    tracker.resolve(3n);
    expect(tracker.committable()).toBe(7n);
    tracker.resolve(20n);
    expect(tracker.committable()).toBe(7n);
    tracker.resolve(7n);
    expect(tracker.committable()).toBe(21n);
  });

  it('accepts string offsets as kafkajs gives them, beyond 2^53', () => {
    const tracker = new OffsetTracker();
    tracker.track('9007199254740993');
    tracker.track('9007199254740994');
    tracker.resolve('9007199254740993');
    expect(tracker.committable()).toBe(9007199254740994n);
    expect(tracker.nextOffset()).toBe(9007199254740995n);
  });

  it('ignores resolving an offset twice or one it never tracked', () => {
    const tracker = new OffsetTracker();
    tracker.track(1n);
    tracker.track(2n);
    expect(tracker.resolve(1n)).toBe(true);
    expect(tracker.resolve(1n)).toBe(false);
    expect(tracker.resolve(99n)).toBe(false);
    expect(tracker.inFlight()).toBe(1);
    expect(tracker.committable()).toBe(2n);
  });

  it('refuses to track offsets out of order', () => {
    const tracker = new OffsetTracker();
    tracker.track(5n);
    expect(() => tracker.track(5n)).toThrow(/increasing order/);
    expect(() => tracker.track(4n)).toThrow(/increasing order/);
  });

  it('reports the event time of the lowest unresolved record', () => {
    const tracker = new OffsetTracker();
    tracker.track(1n, 1000);
    tracker.track(2n, 2000);
    tracker.track(3n, 3000);
    expect(tracker.oldestUnresolvedEventTimeMs()).toBe(1000);
    tracker.resolve(2n);
    expect(tracker.oldestUnresolvedEventTimeMs()).toBe(1000);
    tracker.resolve(1n);
    expect(tracker.oldestUnresolvedEventTimeMs()).toBe(3000);
    tracker.resolve(3n);
    expect(tracker.oldestUnresolvedEventTimeMs()).toBeUndefined();
  });

  it('stays correct over many records completing in random order', () => {
    const tracker = new OffsetTracker();
    const count = 5000;
    for (let offset = 0; offset < count; offset++) tracker.track(BigInt(offset));
    // A deterministic shuffle (LCG) so a failure reproduces.
    const order = Array.from({ length: count }, (_, i) => i);
    let seed = 42;
    for (let i = count - 1; i > 0; i--) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const resolved = new Set<number>();
    let lowest = 0;
    for (const offset of order) {
      tracker.resolve(BigInt(offset));
      resolved.add(offset);
      while (resolved.has(lowest)) lowest++;
      expect(tracker.committable()).toBe(BigInt(lowest));
    }
    expect(tracker.committable()).toBe(BigInt(count));
    expect(tracker.inFlight()).toBe(0);
  });
});
