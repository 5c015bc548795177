import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { prepareGateway, startTestGateway } from '../support/gateway-fixture.js';
import { readTopic } from '../support/kafka-fixture.js';
import {
  countBy,
  metricValue,
  postBatch,
  postEvent,
  scrapeMetrics,
  type GatewayAnswer,
} from './admission-helpers.js';

const problemJson = 'application/problem+json';

/**
 * Checks a 429 against README.md#ingest-api and docs/architecture.md#admission-control:
 * problem+json, whole-second Retry-After, IETF RateLimit fields.
 */
function expectRateLimited(answer: GatewayAnswer, policy: string, maxRetryAfterSeconds: number): number {
  expect(answer.status).toBe(429);
  expect(answer.headers['content-type']).toBe(problemJson);
  expect(answer.code).toBe('SLUICE_RATE_LIMITED');
  const retryAfter = answer.headers['retry-after'];
  expect(retryAfter).toMatch(/^\d+$/);
  const seconds = Number(retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(maxRetryAfterSeconds);
  expect(answer.headers['ratelimit-policy']).toBe(policy);
  const limit = /^"default";r=(\d+);t=(\d+)$/.exec(answer.headers.ratelimit ?? '');
  expect(limit, `RateLimit header ${answer.headers.ratelimit}`).not.toBeNull();
  // On a refusal `t` is the time until the refused cost fits: the same moment as Retry-After.
  expect(Number(limit![2])).toBe(seconds);
  return Number(limit![1]);
}

describe('admission: per-key rate limits on a real gateway', () => {
  it('refuses a key over its rate with 429 and RateLimit headers while another key is unaffected', async () => {
    // 0.1 event/s: no token refills within the test on even a very slow machine (one per 10 s),
    // so the limited key gets exactly its burst. Window w = burst / rate = 50 s.
    const setup = await prepareGateway([
      { producerId: 'limited', ratePerSecond: 0.1, burst: 5, priority: 'normal' },
      { producerId: 'unaffected', ratePerSecond: 1000, burst: 1000, priority: 'critical' },
    ]);
    const { url, adminUrl } = await startTestGateway(setup);

    const startedMs = performance.now();
    const [limited, unaffected] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => postEvent(url, setup.keys.limited!))),
      Promise.all(Array.from({ length: 20 }, () => postEvent(url, setup.keys.unaffected!))),
    ]);
    const elapsedSeconds = (performance.now() - startedMs) / 1000;

    expect(countBy(unaffected, (answer) => answer.status)).toEqual({ 202: 20 });
    const accepted = limited.filter((answer) => answer.status === 202);
    const refused = limited.filter((answer) => answer.status !== 202);
    // Burst 5, plus whatever refilled meanwhile (nothing unless the requests took over 10 s).
    expect(accepted.length).toBeGreaterThanOrEqual(5);
    expect(accepted.length).toBeLessThanOrEqual(5 + Math.floor(elapsedSeconds * 0.1));
    for (const answer of refused) {
      const remaining = expectRateLimited(answer, '"default";q=5;w=50', 10);
      expect(remaining).toBe(0);
    }
    // Admitted answers carry the bucket's level too: 4, 3, 2, 1, 0 events left.
    const remainingAfter = accepted.map((answer) => /;r=(\d+);/.exec(answer.headers.ratelimit ?? '')?.[1]);
    if (accepted.length === 5) expect(remainingAfter.sort()).toEqual(['0', '1', '2', '3', '4']);

    const metrics = await scrapeMetrics(adminUrl);
    expect(metricValue(metrics, 'sluice_admission_admitted_total', { priority: 'critical' })).toBe(20);
    expect(metricValue(metrics, 'sluice_admission_admitted_total', { priority: 'normal' })).toBe(
      accepted.length,
    );
    // One count per refused request (a refusal before the body and one after it must not both count).
    expect(metricValue(metrics, 'sluice_rate_limited_total', { priority: 'normal', reason: 'rate' })).toBe(
      refused.length,
    );
    expect(metricValue(metrics, 'sluice_rate_limited_total', { priority: 'critical' })).toBe(0);
    expect(metricValue(metrics, 'sluice_load_shed_total')).toBe(0);
    expect(metricValue(metrics, 'sluice_rate_limit_fallback_total')).toBe(0);
  });

  it('charges a batch one token per event and answers 413 without Retry-After to a batch above the burst', async () => {
    // Burst 150 at 1 event/s (w = 150 s): after a batch of 100 the bucket holds 50 (+ ~1/s).
    const setup = await prepareGateway([
      { producerId: 'batcher', ratePerSecond: 1, burst: 150, priority: 'bulk' },
    ]);
    const { url, adminUrl } = await startTestGateway(setup);
    const apiKey = setup.keys.batcher!;
    const policy = '"default";q=150;w=150';

    const first = await postBatch(url, apiKey, 100);
    expect(first.status).toBe(202);
    expect(JSON.parse(first.body)).toMatchObject({ accepted: 100, rejected: 0 });
    const left = Number(/;r=(\d+);/.exec(first.headers.ratelimit ?? '')?.[1]);
    expect(left).toBeGreaterThanOrEqual(50);
    expect(left).toBeLessThan(60);

    const second = await postBatch(url, apiKey, 100);
    // 100 events need 100 tokens; about 50 are left, and 50 more take 50 s at 1/s.
    const remaining = expectRateLimited(second, policy, 50);
    expect(remaining).toBeGreaterThanOrEqual(50);
    expect(remaining).toBeLessThan(60);

    const tooLarge = await postBatch(url, apiKey, 151);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers['content-type']).toBe(problemJson);
    expect(tooLarge.code).toBe('SLUICE_BATCH_TOO_LARGE');
    // No amount of waiting lets 151 events through a bucket of 150: no invitation to retry.
    expect(tooLarge.headers['retry-after']).toBeUndefined();
    expect(JSON.parse(tooLarge.body)).toMatchObject({ burst: 150 });
    expect(tooLarge.headers['ratelimit-policy']).toBe(policy);

    // The refused batch and the oversized one took nothing: 40 of the ~50 tokens still pass.
    const third = await postBatch(url, apiKey, 40);
    expect(third.status).toBe(202);

    const metrics = await scrapeMetrics(adminUrl);
    expect(metricValue(metrics, 'sluice_admission_admitted_total', { priority: 'bulk' })).toBe(2);
    expect(metricValue(metrics, 'sluice_rate_limited_total', { priority: 'bulk', reason: 'rate' })).toBe(1);
    expect(
      metricValue(metrics, 'sluice_rate_limited_total', { priority: 'bulk', reason: 'burst-exceeded' }),
    ).toBe(1);

    // Exactly the admitted events reached Kafka: 100 + 40, none of the refused ones.
    const records = await readTopic(setup.eventsTopic, 140);
    expect(records).toHaveLength(140);
  });
});
