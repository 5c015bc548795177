import { describe, expect, it } from 'vitest';
import type { KafkaClient, OutgoingRecord, Producer } from '../../common/kafka/index.js';
import type { ReplayProgress } from './replay-failure.js';
import { openReplayWriter } from './replay-writer.js';

type SendBatchArgs = Parameters<Producer['sendBatch']>[0];

/** A client whose one producer's produce requests the test answers by hand. */
function controlledKafka() {
  const sends: Array<{ args: SendBatchArgs; ack: () => void; fail: (error: Error) => void }> = [];
  let disconnected = false;
  const producer = {
    connect: async () => undefined,
    disconnect: async () => void (disconnected = true),
    sendBatch: (args: SendBatchArgs) =>
      new Promise<never[]>((resolve, reject) => {
        sends.push({ args, ack: () => resolve([]), fail: reject });
      }),
  };
  const kafka = { producer: () => producer as unknown as Producer } satisfies Pick<KafkaClient, 'producer'>;
  const valuesOf = (index: number) =>
    sends[index]!.args.topicMessages!.flatMap((topic) => topic.messages.map((m) => String(m.value)));
  return { kafka, sends, valuesOf, disconnected: () => disconnected };
}

const record = (value: string): OutgoingRecord => ({
  topic: 'sluice.retry.5s',
  key: Buffer.from('same-key'),
  value: Buffer.from(value),
  headers: {},
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function open(kafka: Pick<KafkaClient, 'producer'>, progress: ReplayProgress) {
  return openReplayWriter({
    kafka,
    produceTimeoutMs: 5000,
    maxBatchBytes: 1024 * 1024,
    maxBatchRecords: 3,
    progress,
  });
}

describe('replay writer', () => {
  it('sends one produce request at a time, so a key’s records stay in the order read, and holds the reader back', async () => {
    const { kafka, sends, valuesOf } = controlledKafka();
    const progress = { scanned: 0, matched: 0, queued: 0, unconfirmed: 0 };
    const writer = await open(kafka, progress);
    for (const value of ['1', '2', '3']) await writer.add(record(value));
    // A full batch (3 records) is queued behind the request in flight: the reader waits.
    let added = false;
    const fourth = writer.add(record('4')).then(() => (added = true));
    await turn();
    expect(added).toBe(false);
    expect(sends).toHaveLength(1);
    sends[0]!.ack();
    await fourth;
    expect(sends).toHaveLength(2);
    expect(valuesOf(1)).toEqual(['2', '3', '4']);
    const finishing = writer.finish();
    sends[1]!.ack();
    await finishing;
    expect(progress).toMatchObject({ queued: 4, unconfirmed: 0 });
  });

  it('throws the first failure on the next add, counting what may have been written', async () => {
    const { kafka, sends } = controlledKafka();
    const progress = { scanned: 0, matched: 0, queued: 0, unconfirmed: 0 };
    const writer = await open(kafka, progress);
    await writer.add(record('1'));
    const broken = new Error('not enough replicas');
    sends[0]!.fail(broken);
    await turn();
    await expect(writer.add(record('2'))).rejects.toBe(broken);
    expect(progress).toMatchObject({ queued: 0, unconfirmed: 1 });
  });

  it('close drops what is still queued, never written, waits for the request in flight and disconnects', async () => {
    const { kafka, sends, disconnected } = controlledKafka();
    const progress = { scanned: 0, matched: 0, queued: 0, unconfirmed: 0 };
    const writer = await open(kafka, progress);
    await writer.add(record('1'));
    await writer.add(record('2'));
    const closing = writer.close();
    sends[0]!.ack();
    await closing;
    expect(sends).toHaveLength(1);
    expect(progress).toMatchObject({ queued: 1, unconfirmed: 0 });
    expect(disconnected()).toBe(true);
  });
});
