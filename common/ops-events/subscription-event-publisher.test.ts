import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MemorySchemaRegistry } from '../../test/support/memory-schema-registry.js';
import { decodeEvent } from '../../schemas/index.js';
import type { OutgoingRecord } from '../kafka/index.js';
import { createLogger } from '../logger.js';
import {
  createSubscriptionEventMetrics,
  createSubscriptionEventPublisher,
} from './subscription-event-publisher.js';
import { disabledEvent, enabledEvent, subscriptionEventId } from './subscription-event-record.js';
import { sampleSubscription } from '../../test/support/sample-subscription.js';

const failing = sampleSubscription({
  id: 'sub_health',
  enabled: false,
  disabledReason: 'failing',
  disabledAt: '2024-03-06T10:00:00.000Z',
  failingSince: '2024-03-01T10:00:00.000Z',
  updatedAt: '2024-03-06T10:00:00.000Z',
});

function setup(write: (records: OutgoingRecord[]) => Promise<void>) {
  const registry = new MemorySchemaRegistry();
  const metricsRegistry = new Registry();
  const metrics = createSubscriptionEventMetrics(metricsRegistry);
  const publisher = createSubscriptionEventPublisher({
    registry: registry as never,
    topic: 'sluice.events',
    write,
    metrics,
    logger: createLogger('test', 'silent'),
  });
  const count = async (type: string, result: string) =>
    (await metrics.events.get()).values.find((v) => v.labels.type === type && v.labels.result === result)
      ?.value ?? 0;
  return { registry, publisher, count };
}

describe('operational event publisher', () => {
  it('registers the type on first need and writes a CloudEvents record from producer sluice', async () => {
    const written: OutgoingRecord[] = [];
    const { registry, publisher, count } = setup(async (records) => void written.push(...records));
    publisher.publish(disabledEvent(failing, { lastStatus: 503, deadLetters: 2 }));
    await publisher.flush();
    expect(written).toHaveLength(1);
    const record = written[0]!;
    expect(record).toMatchObject({ topic: 'sluice.events', key: 'sub_health' });
    expect(record.headers).toMatchObject({
      ce_type: 'sluice.subscription.disabled',
      ce_source: '/sluice',
      ce_time: '2024-03-06T10:00:00.000Z',
      sluice_producer: 'sluice',
      ce_id: expect.stringMatching(/^sop_[0-9a-f]{40}$/),
    });
    expect(decodeEvent(registry.state, record.value as Buffer)).toMatchObject({
      ok: true,
      data: {
        subscriptionId: 'sub_health',
        reason: 'failing',
        failingSince: '2024-03-01T10:00:00.000Z',
        deadLetters: 2,
        lastStatus: 503,
        lastError: null,
      },
    });
    expect(await count('sluice.subscription.disabled', 'published')).toBe(1);
  });

  it('names the tenant of a tenant’s subscription, and none for a global one', async () => {
    const written: OutgoingRecord[] = [];
    const { publisher } = setup(async (records) => void written.push(...records));
    publisher.publish(disabledEvent({ ...failing, tenant: 'acme' }));
    await publisher.flush();
    publisher.publish(disabledEvent(failing));
    await publisher.flush();
    expect(written.map((record) => record.headers.ce_tenantid)).toEqual(['acme', undefined]);
  });

  it('gives one change one id, and another change another', () => {
    const event = disabledEvent(failing);
    expect(subscriptionEventId(disabledEvent(failing, { lastStatus: 500 }))).toBe(subscriptionEventId(event));
    const later = disabledEvent({ ...failing, disabledAt: '2024-03-07T10:00:00.000Z' });
    expect(subscriptionEventId(later)).not.toBe(subscriptionEventId(event));
    const enabled = {
      ...failing,
      enabled: true,
      disabledReason: undefined,
      updatedAt: '2024-03-07T11:00:00.000Z',
    };
    expect(subscriptionEventId(enabledEvent(failing, enabled))).not.toBe(subscriptionEventId(event));
  });

  it('counts a failed write and never throws to the caller', async () => {
    const { publisher, count } = setup(() => Promise.reject(new Error('Kafka down')));
    expect(() => publisher.publish(disabledEvent(failing))).not.toThrow();
    await publisher.flush();
    expect(await count('sluice.subscription.disabled', 'failed')).toBe(1);
    expect(await count('sluice.subscription.disabled', 'published')).toBe(0);
  });
});
