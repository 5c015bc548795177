import { describe, expect, it } from 'vitest';
import { createStandingQueue } from './standing-queue.js';

describe('createStandingQueue', () => {
  it('reads one slow hand-off that empties the queue as no queueing', () => {
    const queue = createStandingQueue(100);
    // The first produce of a cold gateway took 300 ms; everything queued behind it left in the
    // next hand-off, and the queue was empty again.
    queue.handOff(0, true, 300);
    expect(queue.delayMs(300)).toBe(0);
    expect(queue.delayMs(450)).toBe(0);
  });

  it('reports the smallest sojourn of the last interval while requests are left behind', () => {
    const queue = createStandingQueue(100);
    queue.handOff(0, false, 60); // youngest waited 60 ms, others still queued
    expect(queue.delayMs(60)).toBe(60);
    queue.handOff(20, false, 100); // 80 ms
    queue.handOff(90, false, 130); // 40 ms
    expect(queue.delayMs(130)).toBe(40);
    queue.handOff(70, false, 150); // 80 ms
    // The 40-ms sample is still inside the interval at 229 ms, and has left it at 231 ms.
    expect(queue.delayMs(229)).toBe(40);
    expect(queue.delayMs(231)).toBe(80);
  });

  it('drops to zero at the first hand-off that drains the queue', () => {
    const queue = createStandingQueue(100);
    queue.handOff(0, false, 80);
    queue.handOff(40, false, 120);
    expect(queue.delayMs(120)).toBe(80);
    queue.handOff(100, true, 140);
    expect(queue.delayMs(140)).toBe(0);
    expect(queue.delayMs(400)).toBe(0);
  });

  it('keeps the last sample between hand-offs, however long the gap', () => {
    const queue = createStandingQueue(100);
    queue.handOff(0, false, 70);
    expect(queue.delayMs(5_000)).toBe(70);
  });

  it('starts at zero', () => {
    expect(createStandingQueue(100).delayMs(1_000)).toBe(0);
  });
});
