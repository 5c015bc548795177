import type { OutgoingRecord, Producer } from '../../common/kafka/index.js';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSluiceError } from '../../common/errors.js';
import { createLogger } from '../../common/logger.js';
import { createEventPublisher, type PublishOutcome } from './event-publisher.js';
import { createPublisherMetrics } from './publisher-metrics.js';

type SendBatchArgs = Parameters<Producer['sendBatch']>[0];

/**
 * A stand-in for a kafkajs producer whose sends the test completes by hand, so the publisher's
 * batching and deadlines are observed step by step. Kafka itself is tested in the integration suites.
 */
function controlledProducer() {
  const sends: Array<{ args: SendBatchArgs; ack: () => void; fail: (error: Error) => void }> = [];
  const producer = {
    sendBatch: (args: SendBatchArgs) =>
      new Promise<never[]>((resolve, reject) => {
        sends.push({ args, ack: () => resolve([]), fail: reject });
      }),
  };
  const recordsOf = (index: number) =>
    sends[index]!.args.topicMessages!.flatMap((topic) =>
      topic.messages.map((message) => String(message.value)),
    );
  return { producer, sends, recordsOf };
}

function record(value: string, topic = 'events'): OutgoingRecord {
  return { topic, key: value, value: Buffer.from(value), headers: { ce_id: value } };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function publisherWith(
  producers: Array<Pick<Producer, 'sendBatch'>>,
  overrides: {
    maxBatchBytes?: number;
    maxBatchRecords?: number;
    sendTimeoutMs?: number;
    nowMs?: () => number;
  } = {},
) {
  return createEventPublisher({
    producers,
    maxBatchBytes: overrides.maxBatchBytes ?? 1024 * 1024,
    maxBatchRecords: overrides.maxBatchRecords ?? 10_000,
    sendTimeoutMs: overrides.sendTimeoutMs ?? 5000,
    queueDelayIntervalMs: 100,
    metrics: createPublisherMetrics(new Registry()),
    logger: createLogger('test', 'silent'),
    nowMs: overrides.nowMs,
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('event publisher', () => {
  it('resolves a request only once its produce request is acknowledged', async () => {
    const kafka = controlledProducer();
    const publisher = publisherWith([kafka.producer]);
    let settled = false;
    const done = publisher.publish([record('a')]).then(() => (settled = true));
    await flush();
    expect(kafka.sends).toHaveLength(1);
    expect(settled).toBe(false);
    expect(publisher.pendingEvents()).toBe(1);
    kafka.sends[0]!.ack();
    await done;
    expect(settled).toBe(true);
    expect(publisher.pendingEvents()).toBe(0);
    expect(publisher.pendingBytes()).toBe(0);
  });

  it('groups requests that arrive while a send is in flight into the next produce request', async () => {
    const kafka = controlledProducer();
    const publisher = publisherWith([kafka.producer]);
    const first = publisher.publish([record('a')]);
    await flush();
    const later = [publisher.publish([record('b')]), publisher.publish([record('c'), record('d')])];
    await flush();
    expect(kafka.sends).toHaveLength(1);
    kafka.sends[0]!.ack();
    await first;
    await flush();
    expect(kafka.sends).toHaveLength(2);
    expect(kafka.recordsOf(1)).toEqual(['b', 'c', 'd']);
    expect(kafka.sends[1]!.args.acks).toBe(-1);
    kafka.sends[1]!.ack();
    await Promise.all(later);
  });

  it('keeps several produce requests in flight when given several producers', async () => {
    const first = controlledProducer();
    const second = controlledProducer();
    const publisher = publisherWith([first.producer, second.producer]);
    const a = publisher.publish([record('a')]);
    await flush();
    const b = publisher.publish([record('b')]);
    await flush();
    expect(first.sends.length + second.sends.length).toBe(2);
    for (const send of [...first.sends, ...second.sends]) send.ack();
    await Promise.all([a, b]);
  });

  it('splits the queue by maxBatchBytes but never splits one request', async () => {
    const kafka = controlledProducer();
    const publisher = publisherWith([kafka.producer], { maxBatchBytes: 200 });
    const blocker = publisher.publish([record('x')]);
    await flush();
    const big = publisher.publish([record('1'.repeat(100)), record('2'.repeat(100))]);
    const small = publisher.publish([record('s')]);
    await flush();
    kafka.sends[0]!.ack();
    await blocker;
    await flush();
    // The two-record request exceeds 200 bytes on its own; it goes alone, whole.
    expect(kafka.recordsOf(1)).toEqual(['1'.repeat(100), '2'.repeat(100)]);
    kafka.sends[1]!.ack();
    await big;
    await flush();
    expect(kafka.recordsOf(2)).toEqual(['s']);
    kafka.sends[2]!.ack();
    await small;
  });

  it('answers 503 at the deadline and never writes a request that was still queued', async () => {
    let now = 0;
    const kafka = controlledProducer();
    const publisher = publisherWith([kafka.producer], { sendTimeoutMs: 1000, nowMs: () => now });
    const outcomes: PublishOutcome[] = [];
    const stuck = publisher.publish([record('a')], (outcome) => outcomes.push(outcome));
    await flush();
    const queued = publisher.publish([record('b')], (outcome) => outcomes.push(outcome));
    const stuckResult = stuck.catch((error: unknown) => error);
    const queuedResult = queued.catch((error: unknown) => error);
    now = 1500;
    // The sweep runs on a real timer every sendTimeoutMs / 10, clamped to at least 10 ms.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const [stuckError, queuedError] = await Promise.all([stuckResult, queuedResult]);
    expect(isSluiceError(stuckError, 'SLUICE_KAFKA_UNAVAILABLE')).toBe(true);
    expect(isSluiceError(queuedError, 'SLUICE_KAFKA_UNAVAILABLE')).toBe(true);
    expect(outcomes).toEqual(['expired-unsent']);
    expect(publisher.kafkaAcknowledging()).toBe(false);
    // The stuck send is acknowledged after all: its outcome is reported, the queued one is never sent.
    kafka.sends[0]!.ack();
    await flush();
    await flush();
    expect(outcomes).toEqual(['expired-unsent', 'acked']);
    expect(kafka.sends).toHaveLength(1);
    expect(publisher.pendingEvents()).toBe(0);
    expect(publisher.kafkaAcknowledging()).toBe(true);
  });

  it('rejects every request of a failed produce request and reports the failure', async () => {
    const kafka = controlledProducer();
    const publisher = publisherWith([kafka.producer]);
    const outcomes: PublishOutcome[] = [];
    const result = publisher
      .publish([record('a'), record('b')], (outcome) => outcomes.push(outcome))
      .catch((e: unknown) => e);
    await flush();
    kafka.sends[0]!.fail(new Error('broker said no'));
    const error = await result;
    expect(isSluiceError(error, 'SLUICE_KAFKA_UNAVAILABLE')).toBe(true);
    expect(outcomes).toEqual(['failed']);
    expect(publisher.pendingEvents()).toBe(0);
  });

  it('flush waits for everything queued, and close refuses new requests', async () => {
    const kafka = controlledProducer();
    const publisher = publisherWith([kafka.producer]);
    const a = publisher.publish([record('a')]);
    await flush();
    let flushed = false;
    const flushing = publisher.flush().then(() => (flushed = true));
    await flush();
    expect(flushed).toBe(false);
    kafka.sends[0]!.ack();
    await a;
    await flushing;
    expect(flushed).toBe(true);
    await publisher.close();
    const refused = await publisher.publish([record('late')]).catch((e: unknown) => e);
    expect(isSluiceError(refused, 'SLUICE_SHUTTING_DOWN')).toBe(true);
  });
});

describe('event publisher drain rate', () => {
  it('decays while no acknowledgement arrives, so a stalled broker stops looking healthy', async () => {
    let now = 0;
    const kafka = controlledProducer();
    const publisher = publisherWith([kafka.producer], { nowMs: () => now });
    for (let i = 0; i < 4; i++) {
      const pending = publisher.publish([record(`a${i}`), record(`b${i}`)]);
      await flush();
      now += 300;
      kafka.sends.at(-1)!.ack();
      await pending;
    }
    const healthy = publisher.ackedEventsPerSecond();
    expect(healthy).toBeGreaterThan(0);
    now += 2000;
    expect(publisher.ackedEventsPerSecond()).toBeLessThan(healthy / 5);
  });
});

describe('event publisher queueing delay', () => {
  it('does not count a slow produce, only the wait before records are handed to Kafka', async () => {
    let now = 1000;
    const kafka = controlledProducer();
    const publisher = publisherWith([kafka.producer], { nowMs: () => now });
    expect(publisher.queueDelayMs()).toBe(0);
    const first = publisher.publish([record('a')]);
    await flush();
    // A cold first produce: 300 ms in flight while requests queue behind it.
    const behind = Array.from({ length: 5 }, (_, i) => {
      now += 60;
      return publisher.publish([record(`b${i}`)]);
    });
    expect(publisher.queueDelayMs()).toBe(0);
    kafka.sends[0]!.ack();
    await first;
    await flush();
    // The next hand-off took everything queued: nothing stands.
    expect(kafka.sends).toHaveLength(2);
    expect(publisher.queueDelayMs()).toBe(0);
    kafka.sends[1]!.ack();
    await Promise.all(behind);
  });

  it('reports the wait of a backlog that outlives each hand-off', async () => {
    let now = 1000;
    const kafka = controlledProducer();
    // One record per send: every hand-off leaves the rest queued.
    const publisher = publisherWith([kafka.producer], { nowMs: () => now, maxBatchRecords: 1 });
    const requests = Array.from({ length: 6 }, (_, i) => publisher.publish([record(`r${i}`)]));
    await flush();
    for (let i = 0; i < 4; i++) {
      now += 40;
      kafka.sends[i]!.ack();
      await requests[i];
      await flush();
    }
    // Requests enqueued at 0 were handed off at 40, 80, 120 and 160 ms, each leaving others
    // queued: the smallest wait of the last 100 ms is 80 ms.
    expect(publisher.queueDelayMs()).toBe(80);
    now += 50;
    expect(publisher.queueDelayMs()).toBe(120);
    // The last request leaves the queue empty: the backlog is gone.
    kafka.sends[4]!.ack();
    await requests[4];
    await flush();
    expect(publisher.queueDelayMs()).toBe(0);
    kafka.sends[5]!.ack();
    await requests[5];
  });
});
