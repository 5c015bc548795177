import { setTimeout as sleep } from 'node:timers/promises';
import { KeyPartitioner, type KafkaClient, type Producer } from '../../common/kafka/index.js';
import type { Logger } from '../../common/logger.js';

export interface EventProducersOptions {
  kafka: KafkaClient;
  /** `SLUICE_PRODUCER_COUNT`: each producer has one produce request in flight per broker. */
  count: number;
  eventsTopic: string;
  /** Start-up waits this long for the warm-up before going on (the produce deadline). */
  warmUpWaitMs: number;
  logger: Logger;
}

export interface EventProducers {
  readonly producers: readonly Producer[];
  /** Why the producers cannot serve at speed yet (empty when they can): for /readyz. */
  notReadyReasons(): string[];
  disconnect(): Promise<void>;
}

/**
 * The gateway's idempotent producers: connected, warmed on the events topic, watched for
 * disconnects. The event publisher (event-publisher.ts) writes through them.
 *
 * Ready means ready to serve at speed: each producer fetches the events topic's metadata before
 * /readyz says yes (an empty batch writes nothing), not inside the first admitted requests' produce.
 * Start-up waits for it up to `warmUpWaitMs` (it takes milliseconds); past that it goes on in the
 * background, so a missing topic or a broker outage at start-up leaves the gateway running and not
 * ready, saying why, rather than crash-looping.
 */
export async function startEventProducers(options: EventProducersOptions): Promise<EventProducers> {
  const { logger, eventsTopic } = options;
  const producers = Array.from({ length: options.count }, () =>
    options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: KeyPartitioner,
      // No retry override: kafkajs retries an idempotent send until it succeeds, which keeps
      // exactly-once sequencing; callers are bounded by the publisher's deadline instead.
    }),
  );
  await Promise.all(producers.map((producer) => producer.connect()));
  const disconnected = new Set<number>();
  producers.forEach((producer, index) => {
    producer.on(producer.events.DISCONNECT, () => disconnected.add(index));
    producer.on(producer.events.CONNECT, () => disconnected.delete(index));
  });

  let stopping = false;
  let warm = false;
  const warmUp = (async () => {
    const warmUpBatch = { topicMessages: [{ topic: eventsTopic, messages: [] }], acks: -1 };
    while (!stopping) {
      try {
        await Promise.all(producers.map((producer) => producer.sendBatch(warmUpBatch)));
        warm = true;
        return;
      } catch (error) {
        if (stopping) return;
        logger.warn(
          { err: error, topic: eventsTopic },
          'producers could not load the events topic metadata; not ready, trying again',
        );
        await sleep(1000);
      }
    }
  })();
  const warmUpWait = new AbortController();
  await Promise.race([
    warmUp,
    sleep(options.warmUpWaitMs, undefined, { signal: warmUpWait.signal }).catch(() => undefined),
  ]);
  warmUpWait.abort();

  return {
    producers,
    notReadyReasons() {
      const reasons: string[] = [];
      if (!warm) reasons.push('Kafka producers loading the events topic metadata');
      if (disconnected.size > 0) reasons.push('Kafka producer disconnected');
      return reasons;
    },
    async disconnect() {
      stopping = true;
      await Promise.all(producers.map((producer) => producer.disconnect()));
    },
  };
}
