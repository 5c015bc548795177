import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { sumSamples } from '../support/prometheus-text.js';

const orderFixture: unknown = JSON.parse(
  readFileSync(new URL('../../schemas/fixtures/order.created/v2.json', import.meta.url), 'utf8'),
);

let eventCounter = 0;

/** A valid `order.created` event without an id: the gateway generates one and skips the idempotency lookup. */
export function orderEvent(): { type: string; key: string; data: unknown } {
  eventCounter++;
  return { type: 'order.created', key: `order-${eventCounter}`, data: orderFixture };
}

export interface GatewayAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The problem document's `code` on an error answer (undefined otherwise). */
  code: string | undefined;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

async function post(url: string, apiKey: string, body: string): Promise<GatewayAnswer> {
  const response = await request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body,
  });
  const text = await response.body.text();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    const joined = headerText(value);
    if (joined !== undefined) headers[name.toLowerCase()] = joined;
  }
  let code: string | undefined;
  if (headers['content-type'] === 'application/problem+json') {
    code = (JSON.parse(text) as { code?: string }).code;
  }
  return { status: response.statusCode, headers, body: text, code };
}

/** `POST /v1/events` with one order event. */
export function postEvent(gatewayUrl: string, apiKey: string): Promise<GatewayAnswer> {
  return post(`${gatewayUrl}/v1/events`, apiKey, JSON.stringify(orderEvent()));
}

/** `POST /v1/events/batch` with `count` order events (a JSON array). */
export function postBatch(gatewayUrl: string, apiKey: string, count: number): Promise<GatewayAnswer> {
  const events = Array.from({ length: count }, () => orderEvent());
  return post(`${gatewayUrl}/v1/events/batch`, apiKey, JSON.stringify(events));
}

export async function scrapeMetrics(adminUrl: string): Promise<string> {
  const response = await request(`${adminUrl}/metrics`);
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`);
  return text;
}

/**
 * Sum of the samples of `name` whose labels include every pair in `labels` (Prometheus text
 * format). Other labels (such as the registry's default `service`) are ignored.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const { sum, found } = sumSamples(text, name, labels);
  if (!found) throw new Error(`no sample of ${name} with ${JSON.stringify(labels)}`);
  return sum;
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function countBy<T>(items: readonly T[], keyOf: (item: T) => string | number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const key = String(keyOf(item));
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export { freePort, startOwnRedis, type OwnRedis } from '../support/own-redis.js';
