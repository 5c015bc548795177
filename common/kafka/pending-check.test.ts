import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { installPendingCheck } from './install-pending-check.js';
import { isKafkajsMethodSwapped } from './kafkajs-module.js';
import { pendingCheckDelayMs, type PendingCheckState } from './pending-check.js';
import { loadKafkajsOriginal } from '../../test/support/kafkajs-original.js';
import { countPendingCheckTimers, type TimerCount } from '../../test/support/request-queue-timers.js';

const require = createRequire(import.meta.url);
const queueModule = 'kafkajs/src/network/requestQueue/index.js';

interface RequestQueue {
  pending: unknown[];
  inflight: Map<number, unknown>;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  push(request: object): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
  maybeThrottle(clientSideThrottleTimeMs: number | null): void;
  scheduleRequestTimeoutCheck(): void;
  destroy(): void;
}
type RequestQueueClass = new (options: object) => RequestQueue;

const kafkajsQueue = loadKafkajsOriginal<RequestQueueClass>(queueModule);
// Loaded before the install, as kafkajs loads it with the package: it holds the class already.
const Connection = require('kafkajs/src/network/connection.js') as new (options: object) => {
  requestQueue: RequestQueue;
};
installPendingCheck();
const sluiceQueue = require(queueModule) as RequestQueueClass;
const both = [
  ['kafkajs', kafkajsQueue],
  ['Sluice', sluiceQueue],
] as const;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A queue as a kafkajs connection makes one; `written` lists correlation ids as it sends them. */
function openQueue(
  Queue: RequestQueueClass,
  options: { maxInFlightRequests?: number; requestTimeoutMs?: number },
) {
  const queue = new Queue({
    maxInFlightRequests: options.maxInFlightRequests ?? null,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    enforceRequestTimeout: true,
    clientId: 'pending-check-test',
    broker: 'nowhere:9092',
    logger: silent,
  });
  queue.scheduleRequestTimeoutCheck();
  onTestFinished(() => queue.destroy());
  const written: number[] = [];
  let nextCorrelationId = 0;
  const request = () => {
    const correlationId = nextCorrelationId++;
    return new Promise<number>((resolve, reject) => {
      queue.push({
        entry: { correlationId, apiKey: 18, apiName: 'ApiVersions', apiVersion: 0, resolve, reject },
        expectResponse: true,
        sendRequest: () => written.push(correlationId),
      });
    }).then(() => correlationId);
  };
  const answer = (correlationId: number) => queue.fulfillRequest({ correlationId, payload: null, size: 0 });
  return { queue, written, request, answer };
}

let timers: TimerCount | undefined;
afterEach(() => timers?.stop());

describe('pendingCheckDelayMs', () => {
  const state = (overrides: Partial<PendingCheckState>): PendingCheckState => ({
    pendingCount: 1,
    inflightCount: 0,
    maxInFlightRequests: null,
    throttledUntilMs: -1,
    ...overrides,
  });
  const nowMs = 1_764_000_000_000;

  it('wakes nothing when no request waits, throttled or not', () => {
    expect(pendingCheckDelayMs(state({ pendingCount: 0 }), nowMs)).toBeUndefined();
    expect(
      pendingCheckDelayMs(state({ pendingCount: 0, throttledUntilMs: nowMs + 500 }), nowMs),
    ).toBeUndefined();
  });

  it('wakes when the throttle ends', () => {
    expect(pendingCheckDelayMs(state({ throttledUntilMs: nowMs + 250 }), nowMs)).toBe(250);
    expect(
      pendingCheckDelayMs(
        state({ throttledUntilMs: nowMs + 250, inflightCount: 1, maxInFlightRequests: 1 }),
        nowMs,
      ),
    ).toBe(250);
  });

  it('leaves requests held back by maxInFlightRequests to the answer or timeout that frees a slot', () => {
    expect(pendingCheckDelayMs(state({ inflightCount: 1, maxInFlightRequests: 1 }), nowMs)).toBeUndefined();
  });

  it('checks on the next turn when the throttle has just run out', () => {
    expect(pendingCheckDelayMs(state({ throttledUntilMs: nowMs }), nowMs)).toBe(0);
    expect(pendingCheckDelayMs(state({ inflightCount: 1, maxInFlightRequests: 2 }), nowMs)).toBe(0);
  });
});

describe('installPendingCheck', () => {
  it('replaces the check on the class kafkajs’s connections already hold, once', () => {
    installPendingCheck();
    expect(isKafkajsMethodSwapped(queueModule, 'scheduleCheckPendingRequests')).toBe(true);
    const { requestQueue } = new Connection({
      host: 'nowhere',
      port: 9092,
      logger: { namespace: () => silent },
    });
    expect(requestQueue).toBeInstanceOf(sluiceQueue);
    expect(Object.getPrototypeOf(requestQueue).scheduleCheckPendingRequests.name).toBe(
      'schedulePendingCheck',
    );
  });
});

describe('the request queue’s pending check, kafkajs’s and Sluice’s side by side', () => {
  it('kafkajs’s re-arms its timer for as long as an answered queue is idle; Sluice’s arms none', async () => {
    const idleMs = 300;
    const kafkajs = openQueue(kafkajsQueue, {});
    const sluice = openQueue(sluiceQueue, {});
    for (const { request, answer } of [kafkajs, sluice]) {
      const answered = request();
      answer(0);
      await answered;
    }
    timers = countPendingCheckTimers();
    await sleep(idleMs);
    // Each kafkajs timer arms the next after 1 ms: hundreds here, a few dozen on a starved machine.
    expect(timers.armed).toBeGreaterThan(10);
    expect(kafkajs.queue.throttleCheckTimeoutId).not.toBeNull();
    expect(sluice.queue.throttleCheckTimeoutId).toBeNull();
    timers.stop();

    // Sluice's alone, as above.
    kafkajs.queue.destroy();
    timers = countPendingCheckTimers();
    await sleep(idleMs);
    expect(timers.armed).toBe(0);
  });

  it.each(both)(
    '%s: holds requests while throttled and sends them all when the throttle ends',
    async (_, Queue) => {
      const throttleMs = 200;
      const { queue, written, request, answer } = openQueue(Queue, {});
      const startedMs = Date.now();
      queue.maybeThrottle(throttleMs);
      const requests = [request(), request(), request()];
      expect(written).toEqual([]);
      await sleep(throttleMs / 2);
      expect(written).toEqual([]);
      while (written.length < 3) await sleep(5);
      expect(Date.now() - startedMs).toBeGreaterThanOrEqual(throttleMs);
      expect(written).toEqual([0, 1, 2]);
      written.forEach(answer);
      expect(await Promise.all(requests)).toEqual([0, 1, 2]);
    },
  );

  it('Sluice’s arms one timer for a throttle, not a poll', async () => {
    const { queue, written, request, answer } = openQueue(sluiceQueue, {});
    timers = countPendingCheckTimers();
    queue.maybeThrottle(100);
    const requests = [request(), request()];
    while (written.length < 2) await sleep(5);
    written.forEach(answer);
    await Promise.all(requests);
    await sleep(50);
    // One, or a second when Node fires the first a millisecond before Date.now() reaches the end
    // of the throttle (its timers count from the event loop's cached time).
    expect(timers.armed).toBeGreaterThanOrEqual(1);
    expect(timers.armed).toBeLessThanOrEqual(3);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it.each(both)(
    '%s: sends a request held back by maxInFlightRequests as soon as one is answered',
    async (_, Queue) => {
      const { queue, written, request, answer } = openQueue(Queue, { maxInFlightRequests: 2 });
      const requests = Array.from({ length: 5 }, request);
      expect(written).toEqual([0, 1]);
      expect(queue.pending).toHaveLength(3);
      answer(1);
      expect(written).toEqual([0, 1, 2]);
      answer(0);
      answer(2);
      expect(written).toEqual([0, 1, 2, 3, 4]);
      answer(3);
      answer(4);
      expect(await Promise.all(requests)).toEqual([0, 1, 2, 3, 4]);
    },
  );

  it.each(both)('%s: times out an unanswered request and then sends the one behind it', async (_, Queue) => {
    const requestTimeoutMs = 100;
    const { written, request } = openQueue(Queue, { maxInFlightRequests: 1, requestTimeoutMs });
    const startedMs = Date.now();
    const outcomes = [request(), request()].map((promise) =>
      promise.then(
        () => ({ ok: true, atMs: Date.now() }),
        (error: Error) => ({ ok: false, name: error.name, atMs: Date.now() }),
      ),
    );
    expect(written).toEqual([0]);
    const [first, second] = await Promise.all(outcomes);
    expect(written).toEqual([0, 1]);
    expect(first).toMatchObject({ ok: false, name: 'KafkaJSRequestTimeoutError' });
    expect(second).toMatchObject({ ok: false, name: 'KafkaJSRequestTimeoutError' });
    // Each times out more than requestTimeoutMs after it was written; the second is written when
    // the first times out.
    expect(first!.atMs - startedMs).toBeGreaterThan(requestTimeoutMs);
    expect(second!.atMs - startedMs).toBeGreaterThan(2 * requestTimeoutMs);
  });
});
