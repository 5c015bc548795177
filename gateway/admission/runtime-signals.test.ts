import { afterEach, describe, expect, it } from 'vitest';
import { createRuntimeSignals, type RuntimeSignals } from './runtime-signals.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy wait: stands in for a handler that hogs the loop
  }
}

let signals: RuntimeSignals | undefined;
afterEach(() => signals?.stop());

describe('createRuntimeSignals', () => {
  it('reports near-zero delay on an idle loop, the timer period subtracted', async () => {
    signals = createRuntimeSignals({ sampleIntervalMs: 10_000, resolutionMs: 10 });
    await sleep(150);
    signals.sample();
    expect(signals.eventLoopDelayMs()).toBeLessThan(20);
  });

  it('at the 99th percentile, reports a blocked loop in the window that saw it, and forgets it after the next window', async () => {
    signals = createRuntimeSignals({ sampleIntervalMs: 10_000, resolutionMs: 10, percentile: 99 });
    await sleep(30);
    blockEventLoop(150);
    await sleep(30);
    signals.sample();
    expect(signals.eventLoopDelayMs()).toBeGreaterThanOrEqual(100);
    await sleep(100);
    signals.sample();
    expect(signals.eventLoopDelayMs()).toBeLessThan(100);
  });

  it('by default (the median) reads one long task among short ones as a healthy loop', async () => {
    signals = createRuntimeSignals({ sampleIntervalMs: 10_000, resolutionMs: 10 });
    await sleep(150);
    blockEventLoop(150);
    await sleep(150);
    signals.sample();
    expect(signals.eventLoopDelayMs()).toBeLessThan(20);
  });

  it('by default reports a loop that is late on most of its ticks', async () => {
    signals = createRuntimeSignals({ sampleIntervalMs: 10_000, resolutionMs: 10 });
    for (let i = 0; i < 8; i++) {
      blockEventLoop(50);
      await new Promise((resolve) => setImmediate(resolve));
    }
    signals.sample();
    expect(signals.eventLoopDelayMs()).toBeGreaterThanOrEqual(25);
  });

  it('samples heap usage with each window', () => {
    let heapUsed = 1_000;
    signals = createRuntimeSignals({ sampleIntervalMs: 10_000, memoryUsage: () => ({ heapUsed }) });
    expect(signals.heapUsedBytes()).toBe(1_000);
    heapUsed = 5_000;
    expect(signals.heapUsedBytes()).toBe(1_000); // read once per window, not per request
    signals.sample();
    expect(signals.heapUsedBytes()).toBe(5_000);
  });

  it('samples on its own interval', async () => {
    let heapUsed = 1;
    signals = createRuntimeSignals({
      sampleIntervalMs: 20,
      resolutionMs: 10,
      memoryUsage: () => ({ heapUsed }),
    });
    heapUsed = 2;
    await sleep(80);
    expect(signals.heapUsedBytes()).toBe(2);
  });

  it('rejects a window shorter than the timer resolution', () => {
    expect(() => createRuntimeSignals({ sampleIntervalMs: 5, resolutionMs: 10 })).toThrow(/sampleIntervalMs/);
  });
});
