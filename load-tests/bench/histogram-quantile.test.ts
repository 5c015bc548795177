import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { readBuckets, windowQuantile } from './histogram-quantile.js';

const buckets = [0.001, 0.005, 0.01, 0.05];

function histogram() {
  const registry = new Registry();
  const latency = new Histogram({
    name: 'test_duration_seconds',
    help: 'test',
    labelNames: ['route'],
    buckets,
    registers: [registry],
  });
  const scrape = async () => ({
    events: readBuckets(await registry.metrics(), 'test_duration_seconds', { route: '/v1/events' }),
    other: readBuckets(await registry.metrics(), 'test_duration_seconds', { route: '/other' }),
  });
  return { latency, scrape };
}

describe('windowQuantile', () => {
  it('counts only the observations between the two scrapes, of the matching series', async () => {
    const { latency, scrape } = histogram();
    // Before the window: slow requests that must not count.
    for (let i = 0; i < 100; i++) latency.observe({ route: '/v1/events' }, 0.04);
    latency.observe({ route: '/other' }, 0.002);
    const before = await scrape();
    // In the window: 90 fast (≤ 1 ms) and 10 between 5 and 10 ms.
    for (let i = 0; i < 90; i++) latency.observe({ route: '/v1/events' }, 0.0008);
    for (let i = 0; i < 10; i++) latency.observe({ route: '/v1/events' }, 0.007);
    const after = await scrape();

    expect(after.events.get(Infinity)).toBe(200);
    // p50 sits in the first bucket: rank 50 of 90 → 50/90 of the way to 1 ms.
    expect(windowQuantile(before.events, after.events, 0.5)).toBeCloseTo((0.001 * 50) / 90, 6);
    // p99: rank 99, the 9th of the 10 in (5 ms, 10 ms] (none fell in (1 ms, 5 ms]).
    expect(windowQuantile(before.events, after.events, 0.99)).toBeCloseTo(0.005 + (0.005 * 9) / 10, 6);
    expect(windowQuantile(before.other, after.other, 0.99)).toBeNaN();
  });

  it('reads a quantile past the last finite bucket as that bound', async () => {
    const { latency, scrape } = histogram();
    const before = await scrape();
    for (let i = 0; i < 10; i++) latency.observe({ route: '/v1/events' }, 3);
    const after = await scrape();
    expect(windowQuantile(before.events, after.events, 0.99)).toBe(0.05);
  });
});
