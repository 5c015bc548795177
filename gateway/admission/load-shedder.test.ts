import { describe, expect, it } from 'vitest';
import {
  createLoadShedder,
  defaultLoadShedderConfig,
  loadShedderConfigProblems,
  type LoadShedderConfig,
  type LoadSignals,
} from './load-shedder.js';

const config: LoadShedderConfig = {
  ...defaultLoadShedderConfig,
  maxPendingEvents: 1000,
  maxPendingBytes: 1_000_000,
  maxEventLoopDelayMs: 100,
  maxHeapUsedBytes: 1_000_000_000,
  sustainedOverloadMs: 10_000,
  overloadRecoveryMs: 5_000,
};

const calm: LoadSignals = {
  pendingEvents: 0,
  pendingBytes: 0,
  queueDelayMs: 0,
  eventLoopDelayMs: 0,
  heapUsedBytes: 0,
  drainEventsPerSecond: 1000,
};

function setup(overrides: Partial<LoadShedderConfig> = {}) {
  let signals: LoadSignals = calm;
  let now = 0;
  const shedder = createLoadShedder(
    { ...config, ...overrides },
    { signals: () => signals, nowMs: () => now },
  );
  return {
    shedder,
    set: (next: Partial<LoadSignals>) => void (signals = { ...calm, ...next }),
    advance: (ms: number) => void (now += ms),
  };
}

describe('createLoadShedder', () => {
  it('admits every class when the signals are calm', () => {
    const { shedder } = setup();
    for (const priority of ['critical', 'normal', 'bulk'] as const) {
      expect(shedder.admit(priority)).toEqual({ admit: true });
    }
  });

  it('sheds on a standing queueing delay', () => {
    const { shedder, set } = setup({ maxQueueDelayMs: 50, escalateAfterMs: 0 });
    set({ queueDelayMs: 30, pendingEvents: 1 });
    expect(shedder.admit('bulk')).toMatchObject({ admit: false, reason: 'queue-delay' });
    expect(shedder.admit('normal').admit).toBe(true);
    set({ queueDelayMs: 51, pendingEvents: 1 });
    expect(shedder.admit('critical')).toMatchObject({ admit: false, reason: 'queue-delay' });
  });

  it('sheds bulk first, then normal, and critical only above the limit', () => {
    const { shedder, set } = setup({ escalateAfterMs: 0 });
    set({ pendingEvents: 600 });
    expect(shedder.admit('bulk')).toMatchObject({ admit: false, reason: 'pending-events' });
    expect(shedder.admit('normal').admit).toBe(true);
    set({ pendingEvents: 850 });
    expect(shedder.admit('normal')).toMatchObject({ admit: false, reason: 'pending-events' });
    expect(shedder.admit('critical').admit).toBe(true);
    set({ pendingEvents: 1000 });
    expect(shedder.admit('critical').admit).toBe(true); // at the limit, not above
    set({ pendingEvents: 1001 });
    expect(shedder.admit('critical')).toMatchObject({ admit: false, reason: 'pending-events' });
  });

  it('sheds a class only after the class below it has been shed for escalateAfterMs', () => {
    const { shedder, set, advance } = setup({ escalateAfterMs: 500 });
    // A spike far over every limit: only bulk is refused at first.
    set({ pendingEvents: 5000 });
    expect(shedder.admit('bulk').admit).toBe(false);
    expect(shedder.admit('normal').admit).toBe(true);
    expect(shedder.admit('critical').admit).toBe(true);
    advance(499);
    expect(shedder.admit('normal').admit).toBe(true);
    advance(1);
    expect(shedder.admit('normal').admit).toBe(false);
    expect(shedder.admit('critical').admit).toBe(true);
    advance(500);
    expect(shedder.admit('critical').admit).toBe(false);
  });

  it('goes on shedding a class until its pressure has stayed below its level for recoverAfterMs', () => {
    const { shedder, set, advance } = setup({ escalateAfterMs: 0, recoverAfterMs: 1000 });
    set({ pendingEvents: 900 });
    expect(shedder.admit('normal').admit).toBe(false);
    set({ pendingEvents: 600 }); // below normal's level, still above bulk's
    expect(shedder.admit('normal').admit).toBe(false); // the calm period starts here
    advance(999);
    expect(shedder.admit('normal').admit).toBe(false);
    set({ pendingEvents: 900 }); // back over: the calm period starts again
    expect(shedder.admit('normal').admit).toBe(false);
    set({ pendingEvents: 600 });
    expect(shedder.admit('normal').admit).toBe(false);
    advance(999);
    expect(shedder.admit('normal')).toMatchObject({ admit: false, reason: 'pending-events' });
    advance(1);
    expect(shedder.admit('normal').admit).toBe(true);
    expect(shedder.admit('bulk').admit).toBe(false);
  });

  it('reports each class change once, not each request', () => {
    const changes: string[] = [];
    let signals: LoadSignals = { ...calm, pendingEvents: 600 };
    let now = 0;
    const shedder = createLoadShedder(
      { ...config, recoverAfterMs: 100 },
      {
        signals: () => signals,
        nowMs: () => now,
        onClassChange: ({ priority, shed }) => changes.push(`${priority} ${shed ? 'shed' : 'admitted'}`),
      },
    );
    for (let i = 0; i < 5; i++) shedder.admit('bulk');
    signals = calm;
    shedder.admit('bulk');
    now += 100;
    for (let i = 0; i < 5; i++) shedder.admit('bulk');
    expect(changes).toEqual(['bulk shed', 'bulk admitted']);
  });

  it('stops shedding a class as soon as the class below it stops', () => {
    const { shedder, set, advance } = setup({ escalateAfterMs: 0, recoverAfterMs: 1000 });
    set({ pendingEvents: 5000 });
    expect(shedder.admit('critical').admit).toBe(false);
    set({});
    expect(shedder.admit('critical').admit).toBe(false); // calm from here
    advance(1000);
    // Every class recovered together; critical never stays shed while bulk is admitted.
    expect(shedder.admit('bulk').admit).toBe(true);
    expect(shedder.admit('critical').admit).toBe(true);
  });

  it.each([
    [{ pendingEvents: 10, pendingBytes: 900_000 }, 'pending-bytes'],
    [{ eventLoopDelayMs: 90 }, 'event-loop-delay'],
    [{ heapUsedBytes: 950_000_000 }, 'heap'],
  ] as const)('sheds normal traffic on %o with reason %s', (signals, reason) => {
    const { shedder, set } = setup({ escalateAfterMs: 0 });
    set(signals);
    expect(shedder.admit('normal')).toMatchObject({ admit: false, reason });
    expect(shedder.admit('critical').admit).toBe(true);
  });

  it('reports the signal furthest over its limit', () => {
    const { shedder, set } = setup();
    set({ pendingEvents: 600, eventLoopDelayMs: 95 });
    expect(shedder.admit('bulk')).toMatchObject({ reason: 'event-loop-delay' });
  });

  it('derives Retry-After from the time acks need to drain the excess over the admit level', () => {
    const { shedder, set } = setup({ escalateAfterMs: 0 });
    // bulk admits up to 500 pending; 2500 over it at 200 acks/s drains in 12.5 s.
    set({ pendingEvents: 3000, drainEventsPerSecond: 200 });
    expect(shedder.admit('bulk')).toMatchObject({ retryAfterSeconds: 13 });
    // normal admits up to 800: 2200 over at 200/s is 11 s.
    expect(shedder.admit('normal')).toMatchObject({ retryAfterSeconds: 11 });
  });

  it('converts excess bytes into events with the backlog average event size', () => {
    const { shedder, set } = setup();
    // 100 events of 9 KB; bulk admits 500 KB, so 400 KB (≈ 44.4 events) too many; 10 acks/s.
    set({ pendingEvents: 100, pendingBytes: 900_000, drainEventsPerSecond: 10 });
    expect(shedder.admit('bulk')).toMatchObject({ reason: 'pending-bytes', retryAfterSeconds: 5 });
  });

  it('clamps Retry-After to [1, 30] s, and uses the maximum when nothing drains', () => {
    const { shedder, set } = setup();
    set({ pendingEvents: 501, drainEventsPerSecond: 10_000 });
    expect(shedder.admit('bulk')).toMatchObject({ retryAfterSeconds: 1 });
    set({ pendingEvents: 100_000, drainEventsPerSecond: 10 });
    expect(shedder.admit('bulk')).toMatchObject({ retryAfterSeconds: 30 });
    set({ pendingEvents: 900, drainEventsPerSecond: 0 });
    expect(shedder.admit('bulk')).toMatchObject({ retryAfterSeconds: 30 });
  });

  it('bases Retry-After for event-loop delay on draining the whole backlog', () => {
    const { shedder, set } = setup({ escalateAfterMs: 0 });
    set({ eventLoopDelayMs: 90, pendingEvents: 400, drainEventsPerSecond: 100 });
    expect(shedder.admit('normal')).toMatchObject({ reason: 'event-loop-delay', retryAfterSeconds: 4 });
  });

  it('ignores a signal whose limit is 0', () => {
    const { shedder, set } = setup({ maxHeapUsedBytes: 0 });
    set({ heapUsedBytes: Number.MAX_SAFE_INTEGER });
    expect(shedder.admit('bulk').admit).toBe(true);
  });

  it('reports shedding per class for the gauge', () => {
    const { shedder, set } = setup();
    set({ pendingEvents: 700 });
    expect([
      shedder.isShedding('critical'),
      shedder.isShedding('normal'),
      shedder.isShedding('bulk'),
    ]).toEqual([false, false, true]);
  });

  it('enters sustained overload after shedding normal traffic long enough, and leaves with hysteresis', () => {
    const { shedder, set, advance } = setup({ escalateAfterMs: 0, recoverAfterMs: 0 });
    set({ pendingEvents: 900 });
    expect(shedder.sustainedOverload()).toBe(false);
    advance(6_000);
    expect(shedder.sustainedOverload()).toBe(false);
    set({}); // a calm gap shorter than the recovery time does not restart the count
    expect(shedder.sustainedOverload()).toBe(false);
    advance(3_000);
    set({ pendingEvents: 900 });
    expect(shedder.sustainedOverload()).toBe(false);
    advance(1_000);
    expect(shedder.sustainedOverload()).toBe(true);
    set({});
    expect(shedder.sustainedOverload()).toBe(true); // calm starts now
    advance(4_999);
    expect(shedder.sustainedOverload()).toBe(true); // calm, but not for long enough
    advance(1);
    expect(shedder.sustainedOverload()).toBe(false);
  });

  it('does not count bulk-only shedding as sustained overload', () => {
    const { shedder, set, advance } = setup();
    set({ pendingEvents: 700 });
    shedder.admit('bulk');
    advance(60_000);
    expect(shedder.admit('bulk').admit).toBe(false);
    expect(shedder.sustainedOverload()).toBe(false);
  });

  it('rejects an invalid config naming every problem', () => {
    expect(() =>
      createLoadShedder(
        {
          ...config,
          maxPendingEvents: -1,
          shedFractions: { bulk: 0.9, normal: 0.5, critical: 1.5 },
          queueDelayIntervalMs: 0,
          escalateAfterMs: -1,
        },
        { signals: () => calm },
      ),
    ).toThrow(/maxPendingEvents.*shedFractions\.critical.*≤.*queueDelayIntervalMs.*escalateAfterMs/);
    expect(loadShedderConfigProblems(defaultLoadShedderConfig)).toEqual([]);
  });
});
