import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decodeAttemptRecord, type AttemptRecord } from '../../common/attempts/attempt-record.js';
import type { Producer } from '../../common/kafka/index.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { createAttemptWriter, createAttemptWriterMetrics } from './attempt-writer.js';

type SendBatchArgs = Parameters<Producer['sendBatch']>[0];

/** A producer whose produce requests stay unanswered until `release` (Kafka slow or away), then answer at once. */
function stalledProducer() {
  const sends: SendBatchArgs[] = [];
  const waiting: Array<() => void> = [];
  let released = false;
  const producer = {
    sendBatch: (args: SendBatchArgs) => {
      sends.push(args);
      if (released) return Promise.resolve([]);
      return new Promise<never[]>((resolve) => waiting.push(() => resolve([])));
    },
  };
  const release = () => {
    released = true;
    waiting.splice(0).forEach((answer) => answer());
  };
  return { producer, sends, release };
}

function attempt(eventId: string): AttemptRecord {
  return {
    attemptId: randomUUID(),
    eventId,
    eventType: 'order.created',
    producerId: 'shop',
    subscriptionId: 'sub_1',
    attempt: 1,
    attemptedAt: new Date().toISOString(),
    latencyMs: 3,
    statusCode: 200,
    errorClass: null,
    responseHeaders: {},
    responseBody: 'ok',
    responseBodyTruncated: false,
    outcome: 'delivered',
    nextAttemptAt: null,
    replayId: null,
    sourceTopic: 'sluice.events',
    sourcePartition: 0,
    sourceOffset: '42',
  };
}

function capturingLogger() {
  const warnings: string[] = [];
  const logger = createLogger('test', 'silent');
  logger.warn = ((_fields: unknown, message: string) => {
    warnings.push(message);
  }) as unknown as Logger['warn'];
  return { logger, warnings };
}

async function sample(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

describe('attempt writer', () => {
  it('drops and counts records past SLUICE_ATTEMPTS_MAX_PENDING instead of waiting for Kafka', async () => {
    const kafka = stalledProducer();
    const registry = new Registry();
    const { logger, warnings } = capturingLogger();
    const writer = createAttemptWriter({
      producer: kafka.producer,
      topic: 'sluice.attempts',
      maxPendingRecords: 3,
      timeoutMs: 60_000,
      metrics: createAttemptWriterMetrics(registry),
      logger,
    });
    // Every call returns at once although no produce request is ever answered.
    for (let index = 0; index < 10; index += 1) {
      expect(writer.record(attempt(`evt-${index}`))).toBeUndefined();
    }
    expect(await sample(registry, 'sluice_attempt_records_dropped_total', { reason: 'buffer-full' })).toBe(7);
    expect(await sample(registry, 'sluice_attempt_records_pending')).toBe(3);
    // Rate-limited: one line for the burst, not one per record.
    expect(warnings).toHaveLength(1);

    kafka.release();
    await writer.close();
    const written = kafka.sends.flatMap((send) => send.topicMessages!.flatMap((topic) => topic.messages));
    expect(written.map((message) => message.key?.toString())).toEqual(['evt-0', 'evt-1', 'evt-2']);
    expect(written.every((message) => decodeAttemptRecord(message.value as Buffer).ok)).toBe(true);
    await expect.poll(() => sample(registry, 'sluice_attempt_records_written_total')).toBe(3);
  });

  it('counts a failed write and a record handed over after close as dropped', async () => {
    const registry = new Registry();
    const writer = createAttemptWriter({
      producer: { sendBatch: () => Promise.reject(new Error('broker down')) },
      topic: 'sluice.attempts',
      maxPendingRecords: 100,
      timeoutMs: 60_000,
      metrics: createAttemptWriterMetrics(registry),
      logger: createLogger('test', 'silent'),
    });
    writer.record(attempt('evt-a'));
    await expect
      .poll(() => sample(registry, 'sluice_attempt_records_dropped_total', { reason: 'send-failed' }))
      .toBe(1);
    await writer.close();
    writer.record(attempt('evt-b'));
    expect(await sample(registry, 'sluice_attempt_records_dropped_total', { reason: 'shutting-down' })).toBe(
      1,
    );
    expect(await sample(registry, 'sluice_attempt_records_written_total')).toBe(0);
  });
});
