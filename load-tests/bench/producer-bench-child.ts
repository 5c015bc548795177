/**
 * One run of the producer benchmark (producer-bench.ts), in a process of its own: Sluice's kafkajs
 * replacements are installed process-wide as soon as the door (common/kafka/index.ts) is imported,
 * so a run imports either the door (Sluice's path) or kafkajs as shipped, dynamically, never both.
 *
 *   node --import tsx load-tests/bench/producer-bench-child.ts --brokers B --topic T
 *     --encoder kafkajs|sluice --duration S        (prints one JSON line: a ProducerRun)
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Message } from '../../common/kafka/index.js';
import type { ProducerEncoder, ProducerRun } from './producer-bench.js';

export const batchSize = 256;

function cloudEventMessage(index: number): Message {
  const id = `evt_${randomUUID()}`;
  return {
    key: `order-${index % 1000}`,
    value: Buffer.alloc(180, index & 0xff),
    headers: {
      ce_specversion: '1.0',
      ce_id: id,
      ce_source: '/producers/bench',
      ce_type: 'order.created',
      ce_time: new Date().toISOString(),
      ce_subject: `order-${index % 1000}`,
      ce_sluiceproducer: 'bench',
      'content-type': 'application/avro',
    },
  };
}

/** Produces for `durationSeconds` with `encoder`'s Kafka path. */
async function produceFor(
  brokers: string[],
  topic: string,
  encoder: ProducerEncoder,
  durationSeconds: number,
): Promise<ProducerRun> {
  const { Kafka, logLevel, createPartitioner } =
    encoder === 'sluice'
      ? await import('../../common/kafka/index.js').then((door) => ({
          Kafka: door.Kafka,
          logLevel: door.logLevel,
          createPartitioner: door.KeyPartitioner,
        }))
      : // The baseline: kafkajs as shipped, its own modules and partitioner (see eslint.config.js).
        await import('kafkajs').then((kafkajs) => ({
          Kafka: kafkajs.Kafka,
          logLevel: kafkajs.logLevel,
          createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
        }));
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, createPartitioner });
  await producer.connect();
  // Warm up connections, metadata and the JIT before measuring.
  for (let i = 0; i < 20; i++) {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: batchSize }, (_, n) => cloudEventMessage(n)),
    });
  }
  const inFlight = 4;
  let sent = 0;
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  const deadline = startedAt + durationSeconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        const messages = Array.from({ length: batchSize }, (_, n) => cloudEventMessage(sent + n));
        await producer.send({ topic, acks: -1, messages });
        sent += batchSize;
      }
    }),
  );
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  await producer.disconnect();
  return {
    encoder,
    eventsPerSecond: Math.round((sent * 1000) / elapsedMs),
    cpuMicrosPerEvent: Number(((cpu.user + cpu.system) / sent).toFixed(2)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
      topic: { type: 'string' },
      encoder: { type: 'string', default: 'sluice' },
      duration: { type: 'string', default: '10' },
    },
  });
  const run = await produceFor(
    values.brokers.split(','),
    values.topic!,
    values.encoder as ProducerEncoder,
    Number(values.duration),
  );
  process.stdout.write(JSON.stringify(run));
}
