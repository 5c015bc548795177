/**
 * The Kafka client's own cost, without HTTP: an idempotent acks=all producer sending batches of
 * CloudEvents-shaped records (8 headers, 180-byte Avro-sized value, as the gateway writes them),
 * once with kafkajs's own encoding, grouping and partitioner and once with Sluice's replacements
 * (README, "The Kafka client"), interleaved, each run in a fresh process (producer-bench-child.ts)
 * because the replacements are installed process-wide.
 *
 * `npm run bench -- --only producer` runs it (KAFKA_BROKERS for a broker other than the stack's).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTopicsWithLeaders, Kafka, logLevel } from '../../common/kafka/index.js';
import { median } from './open-loop-load.js';
import { batchSize } from './producer-bench-child.js';

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

function runChild(brokers: string, topic: string, encoder: ProducerEncoder, durationSeconds: number) {
  return new Promise<ProducerRun>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        fileURLToPath(new URL('./producer-bench-child.ts', import.meta.url)),
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
  const admin = new Kafka({
    brokers: options.kafkaBrokers,
    logLevel: logLevel.NOTHING,
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
