import { describe, expect, it } from 'vitest';
import { rateLimitHeaders, retryAfterSeconds } from './ratelimit-headers.js';
import { TokenBucket } from './token-bucket.js';

describe('rateLimitHeaders', () => {
  it('describes an admitted request: policy q=burst, w=refill time, r=remaining, t=next token', () => {
    const headers = rateLimitHeaders(
      { allowed: true, remaining: 42, resetMs: 80 },
      { ratePerSecond: 10, burst: 100 },
    );
    expect(headers).toEqual({
      'RateLimit-Policy': '"default";q=100;w=10',
      RateLimit: '"default";r=42;t=1',
    });
  });

  it('adds Retry-After on a rate refusal, rounded up to whole seconds and equal to t', () => {
    const headers = rateLimitHeaders(
      { allowed: false, reason: 'rate', retryAfterMs: 2_300, remaining: 0, resetMs: 100 },
      { ratePerSecond: 2, burst: 10 },
    );
    expect(headers['Retry-After']).toBe('3');
    expect(headers.RateLimit).toBe('"default";r=0;t=3');
    expect(headers['RateLimit-Policy']).toBe('"default";q=10;w=5');
  });

  it('sends no Retry-After when the cost exceeds the burst, since waiting cannot help', () => {
    const headers = rateLimitHeaders(
      { allowed: false, reason: 'burst-exceeded', burst: 50, remaining: 50, resetMs: 200 },
      { ratePerSecond: 5, burst: 50 },
    );
    expect(headers).not.toHaveProperty('Retry-After');
    expect(headers.RateLimit).toBe('"default";r=50;t=1');
  });

  it('rounds the window up to whole seconds and never below 1', () => {
    expect(
      rateLimitHeaders({ allowed: true, remaining: 1, resetMs: 1 }, { ratePerSecond: 30, burst: 100 }),
    ).toMatchObject({
      'RateLimit-Policy': '"default";q=100;w=4',
    });
    expect(
      rateLimitHeaders({ allowed: true, remaining: 1, resetMs: 1 }, { ratePerSecond: 1000, burst: 5 }),
    ).toMatchObject({
      'RateLimit-Policy': '"default";q=5;w=1',
    });
  });

  it('produces valid structured-field lists from real bucket decisions', () => {
    let now = 0;
    const bucket = new TokenBucket({ ratePerSecond: 0.5, burst: 3, nowMs: () => now });
    bucket.take(3);
    now += 500;
    const headers = rateLimitHeaders(bucket.take(1), { ratePerSecond: 0.5, burst: 3 });
    // sf-string, then ;key=sf-integer parameters (RFC 8941 §3.1.2).
    expect(headers.RateLimit).toMatch(/^"default";r=\d+;t=\d+$/);
    expect(headers['RateLimit-Policy']).toMatch(/^"default";q=\d+;w=\d+$/);
    expect(headers['Retry-After']).toBe('2'); // 0.75 tokens missing at 0.5/s = 1.5 s
  });
});

describe('retryAfterSeconds', () => {
  it('is whole seconds, rounded up, at least 1, and ignores float dust', () => {
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1000.0000000002)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
  });
});
