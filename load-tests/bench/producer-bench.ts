/**
 * The Kafka client's own cost, without HTTP: an idempotent acks=all producer sending batches of
 * CloudEvents-shaped records (8 headers, 180-byte Avro-sized value, as the gateway writes them),
 * once with kafkajs's own encoding and partitioner and once with Sluice's (common/kafka/
 * record-encoder.ts, produce-request.ts, key-partitioner.ts), interleaved, each in a fresh process because they are installed process-wide.
 *
 * Run alone: `npx tsx load-tests/bench/producer-bench.ts --brokers 127.0.0.1:9092`.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { installProduceRequest } from '../../common/kafka/install-produce-request.js';
import { installRecordEncoder } from '../../common/kafka/install-record-encoder.js';
import { KeyPartitioner } from '../../common/kafka/key-partitioner.js';
import { createTopicsWithLeaders } from '../../common/kafka/create-topics.js';
import { median } from './open-loop-load.js';

export const producerEncoders = ['kafkajs', 'sluice'] as const;
export type ProducerEncoder = (typeof producerEncoders)[number];

export interface ProducerRun {
  encoder: ProducerEncoder;
  eventsPerSecond: number;
  /** Producer process CPU (user + system) per event: what the gateway pays on its main thread. */
  cpuMicrosPerEvent: number;
}

export interface ProducerBenchReport {
  batchSize: number;
  runs: ProducerRun[];
  medianEventsPerSecond: Record<ProducerEncoder, number>;
  medianCpuMicrosPerEvent: Record<ProducerEncoder, number>;
  /** Sluice's encoder over kafkajs's, events/s. */
  speedup: number;
}

const batchSize = 256;

function cloudEventMessage(index: number): kafkajs.Message {
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

/** In the child: produce for `durationSeconds` with `encoder`, print one JSON line. */
async function produceFor(
  brokers: string[],
  topic: string,
  encoder: ProducerEncoder,
  durationSeconds: number,
): Promise<ProducerRun> {
  if (encoder === 'sluice') {
    installRecordEncoder();
    installProduceRequest();
  }
  const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    createPartitioner: encoder === 'sluice' ? KeyPartitioner : kafkajs.Partitioners.DefaultPartitioner,
  });
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

function runChild(brokers: string, topic: string, encoder: ProducerEncoder, durationSeconds: number) {
  return new Promise<ProducerRun>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        fileURLToPath(import.meta.url),
        '--child',
        '--brokers',
        brokers,
        '--topic',
        topic,
        '--encoder',
        encoder,
        '--duration',
        String(durationSeconds),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(output) as ProducerRun);
      else reject(new Error(`producer bench child (${encoder}) exited with ${code}`));
    });
  });
}

export async function benchProducer(options: {
  kafkaBrokers: string[];
  rounds: number;
  durationSeconds: number;
  log: (line: string) => void;
}): Promise<ProducerBenchReport> {
  const topic = `bench.producer.${Date.now()}`;
  const admin = new kafkajs.Kafka({
    brokers: options.kafkaBrokers,
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await createTopicsWithLeaders(admin, [{ topic, numPartitions: 12, replicationFactor: 1 }]);
  const runs: ProducerRun[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const encoder of producerEncoders) {
        const run = await runChild(options.kafkaBrokers.join(','), topic, encoder, options.durationSeconds);
        options.log(
          `producer round ${round}/${options.rounds} ${encoder}: ${run.eventsPerSecond} events/s, ${run.cpuMicrosPerEvent} µs CPU/event`,
        );
        runs.push(run);
      }
    }
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
  const pick = (encoder: ProducerEncoder, field: 'eventsPerSecond' | 'cpuMicrosPerEvent') =>
    median(runs.filter((run) => run.encoder === encoder).map((run) => run[field]));
  const medianEventsPerSecond = {
    kafkajs: pick('kafkajs', 'eventsPerSecond'),
    sluice: pick('sluice', 'eventsPerSecond'),
  };
  return {
    batchSize,
    runs,
    medianEventsPerSecond,
    medianCpuMicrosPerEvent: {
      kafkajs: pick('kafkajs', 'cpuMicrosPerEvent'),
      sluice: pick('sluice', 'cpuMicrosPerEvent'),
    },
    speedup: Number((medianEventsPerSecond.sluice / medianEventsPerSecond.kafkajs).toFixed(2)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean', default: false },
      brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
      topic: { type: 'string' },
      encoder: { type: 'string', default: 'sluice' },
      duration: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const brokers = values.brokers.split(',');
  if (values.child) {
    const run = await produceFor(
      brokers,
      values.topic!,
      values.encoder as ProducerEncoder,
      Number(values.duration),
    );
    process.stdout.write(JSON.stringify(run));
  } else {
    const report = await benchProducer({
      kafkaBrokers: brokers,
      rounds: Number(values.rounds),
      durationSeconds: Number(values.duration),
      log: (line) => process.stderr.write(`bench: ${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  }
}
