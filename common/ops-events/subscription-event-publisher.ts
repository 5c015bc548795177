import { Counter, type Registry } from 'prom-client';
import type { OutgoingRecord } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import type { SchemaRegistry } from '../../schemas/registry/schema-registry.js';
import { sluiceOwnedType } from '../../schemas/sluice-owned-types.js';
import { subscriptionEventSchemas, type SubscriptionEventType } from '../../schemas/subscription-events.js';
import {
  buildSubscriptionEventRecord,
  subscriptionEventId,
  type OperationalEvent,
} from './subscription-event-record.js';

export interface SubscriptionEventMetrics {
  /** `sluice_subscription_events_total{type, result}`: published, or failed (never retried). */
  events: Counter<'type' | 'result'>;
}

export function createSubscriptionEventMetrics(registry: Registry): SubscriptionEventMetrics {
  const events = new Counter({
    name: 'sluice_subscription_events_total',
    help: 'Operational events (sluice.subscription.*) by type and result: published, or failed (registering the type, encoding or writing; not retried).',
    labelNames: ['type', 'result'],
    registers: [registry],
  });
  // Exported at zero from the start, so an alert on failures has a series before the first one.
  for (const type of Object.keys(subscriptionEventSchemas)) {
    for (const result of ['published', 'failed']) events.inc({ type, result }, 0);
  }
  return { events };
}

export interface SubscriptionEventPublisherOptions {
  /** Registers each type on first need (under its reserved subject) and encodes with its latest schema. */
  registry: Pick<SchemaRegistry, 'state' | 'register'>;
  /** The events topic. */
  topic: string;
  /** Writes records and resolves once Kafka acknowledged them (the gateway's publisher, the worker's retry writer). */
  write: (records: OutgoingRecord[]) => Promise<void>;
  metrics: SubscriptionEventMetrics;
  logger: Logger;
}

export interface SubscriptionEventPublisher {
  /**
   * Publishes the event in the background and returns at once: never throws, never waits. A
   * failure is counted and logged, not retried (the change itself is already stored).
   */
  publish(event: OperationalEvent): void;
  /** Resolves once every publish started so far is settled (for tests and shutdown). */
  flush(): Promise<void>;
}

/**
 * The one way both the gateway and the workers publish operational events (README, "Operational
 * events"): the record is built by subscription-event-record.ts and written by the caller's own
 * group-commit writer, so nothing here holds a producer.
 */
export function createSubscriptionEventPublisher(
  options: SubscriptionEventPublisherOptions,
): SubscriptionEventPublisher {
  const { registry, metrics, logger } = options;
  const types = new Map(
    (Object.keys(subscriptionEventSchemas) as SubscriptionEventType[]).map((type) => [
      type,
      sluiceOwnedType(registry as SchemaRegistry, type),
    ]),
  );
  const pending = new Set<Promise<void>>();

  async function publishNow(event: OperationalEvent): Promise<void> {
    await types.get(event.type)!.ensure();
    const schema = registry.state.latest(event.type);
    if (schema === undefined) throw new Error(`${event.type} is not in the registry after registering it`);
    await options.write([buildSubscriptionEventRecord(event, schema, options.topic)]);
  }

  return {
    publish(event) {
      const eventId = subscriptionEventId(event);
      const run = publishNow(event).then(
        () => {
          metrics.events.inc({ type: event.type, result: 'published' });
          logger.info(
            { type: event.type, eventId, subscriptionId: event.data.subscriptionId },
            'operational event published',
          );
        },
        (error: unknown) => {
          metrics.events.inc({ type: event.type, result: 'failed' });
          logger.error(
            { err: error, type: event.type, eventId, subscriptionId: event.data.subscriptionId },
            'operational event not published',
          );
        },
      );
      pending.add(run);
      void run.finally(() => pending.delete(run));
    },
    async flush() {
      await Promise.all([...pending]);
    },
  };
}
