import { describe, expect, it } from 'vitest';
import { classifyOutcome, countsAgainstEndpointHealth, type DeliveryOutcome } from './classify-outcome.js';
import type { AttemptResult } from './webhook-sender.js';

const nowMs = Date.parse('2024-05-01T12:00:00Z');
const answer = (status: number, retryAfter?: string): AttemptResult => ({
  status,
  retryAfter,
  durationMs: 12,
});
const failure = (error: 'timeout' | 'connect' | 'ssrf' | 'network'): AttemptResult => ({
  error,
  errorClass: error,
  message: 'x',
  durationMs: 12,
});

describe('classifyOutcome', () => {
  it.each([200, 201, 202, 204, 299])('treats %i as delivered', (status) => {
    expect(classifyOutcome(answer(status), nowMs)).toEqual({ kind: 'delivered', status });
  });

  it('disables the subscription on 410 Gone', () => {
    expect(classifyOutcome(answer(410), nowMs)).toEqual({ kind: 'disable', reason: 'gone', status: 410 });
  });

  it.each([
    [429, 'rate-limited'],
    [503, 'unavailable'],
  ] as const)('honours Retry-After seconds on %i', (status, reason) => {
    expect(classifyOutcome(answer(status, '120'), nowMs)).toEqual({
      kind: 'retry',
      reason,
      status,
      retryAfterMs: 120_000,
    });
  });

  it('honours Retry-After as an HTTP-date against the injected clock', () => {
    expect(classifyOutcome(answer(503, 'Wed, 01 May 2024 12:00:45 GMT'), nowMs)).toMatchObject({
      retryAfterMs: 45_000,
    });
  });

  it('retries a 429 without (or with an unreadable) Retry-After on the plain schedule', () => {
    expect(classifyOutcome(answer(429), nowMs)).toEqual({
      kind: 'retry',
      reason: 'rate-limited',
      status: 429,
    });
    expect(classifyOutcome(answer(429, 'later'), nowMs)).toEqual({
      kind: 'retry',
      reason: 'rate-limited',
      status: 429,
    });
  });

  it('ignores Retry-After on statuses other than 429 and 503', () => {
    expect(classifyOutcome(answer(500, '5'), nowMs)).toEqual({
      kind: 'retry',
      reason: 'server-error',
      status: 500,
    });
    expect(classifyOutcome(answer(301, '5'), nowMs)).not.toHaveProperty('retryAfterMs');
  });

  it.each([
    [301, 'redirect'],
    [302, 'redirect'],
    [307, 'redirect'],
    [308, 'redirect'],
    [304, 'redirect'],
    [400, 'client-error'],
    [401, 'client-error'],
    [404, 'client-error'],
    [408, 'client-error'],
    [413, 'client-error'],
    [500, 'server-error'],
    [502, 'server-error'],
    [504, 'server-error'],
    [599, 'server-error'],
    [101, 'unexpected-status'],
    [600, 'unexpected-status'],
  ])('retries status %i as %s', (status, reason) => {
    expect(classifyOutcome(answer(status), nowMs)).toEqual({ kind: 'retry', reason, status });
  });

  it.each(['timeout', 'connect', 'network', 'ssrf'] as const)('retries a %s error', (error) => {
    expect(classifyOutcome(failure(error), nowMs)).toEqual({ kind: 'retry', reason: error });
  });
});

describe('countsAgainstEndpointHealth', () => {
  const outcomeOf = (result: AttemptResult): DeliveryOutcome => classifyOutcome(result, nowMs);

  it.each([
    ['500', answer(500)],
    ['502', answer(502)],
    ['503', answer(503, '10')],
    ['429', answer(429)],
    ['408', answer(408)],
    ['a status outside 1xx-5xx', answer(600)],
    ['a timeout', failure('timeout')],
    ['a refused connection', failure('connect')],
    ['a reset connection', failure('network')],
  ])('counts %s against the endpoint', (_label, result) => {
    expect(countsAgainstEndpointHealth(outcomeOf(result))).toBe(true);
  });

  it.each([
    ['200', answer(200)],
    ['410', answer(410)],
    ['400', answer(400)],
    ['401', answer(401)],
    ['404', answer(404)],
    ['422', answer(422)],
    ['a redirect', answer(302)],
    ['an SSRF refusal', failure('ssrf')],
  ])('does not count %s against the endpoint', (_label, result) => {
    expect(countsAgainstEndpointHealth(outcomeOf(result))).toBe(false);
  });
});
