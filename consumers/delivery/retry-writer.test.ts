import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../common/errors.js';
import type { OutgoingRecord, Producer } from '../../common/kafka/index.js';
import { createLogger } from '../../common/logger.js';
import { createRetryWriter } from './retry-writer.js';

type SendBatchArgs = Parameters<Producer['sendBatch']>[0];

/** A producer that answers each produce request with the next of `answers` ('ok' or an error). */
function scriptedProducer(answers: Array<'ok' | Error>) {
  const sends: SendBatchArgs[] = [];
  const producer = {
    sendBatch: async (args: SendBatchArgs) => {
      sends.push(args);
      const answer = answers.shift() ?? 'ok';
      if (answer !== 'ok') throw answer;
      return [];
    },
  };
  return { producer, sends };
}

const retryRecord: OutgoingRecord = {
  topic: 'sluice.retry.5s',
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  headers: { sluice_attempt: '2' },
};

const writerWith = (producer: Pick<Producer, 'sendBatch'>) =>
  createRetryWriter({ producer, timeoutMs: 5000, logger: createLogger('test', 'silent') });

describe('retry writer', () => {
  it('write rejects with the produce request’s own error', async () => {
    const broken = new Error('not enough replicas');
    const kafka = scriptedProducer([broken]);
    const writer = writerWith(kafka.producer);
    await expect(writer.write([retryRecord])).rejects.toBe(broken);
    await writer.write([retryRecord]);
    expect(kafka.sends).toHaveLength(2);
    expect(kafka.sends[1]).toMatchObject({ acks: -1, topicMessages: [{ topic: 'sluice.retry.5s' }] });
  });

  it('writeDurably tries again with backoff until Kafka acknowledges', async () => {
    const kafka = scriptedProducer([new Error('leader not available'), new Error('leader not available')]);
    const writer = writerWith(kafka.producer);
    await writer.writeDurably([retryRecord], new AbortController().signal);
    expect(kafka.sends).toHaveLength(3);
  });

  it('writeDurably gives up when its signal aborts', async () => {
    const kafka = scriptedProducer(Array.from({ length: 100 }, () => new Error('broker down')));
    const writer = writerWith(kafka.producer);
    const controller = new AbortController();
    const writing = writer.writeDurably([retryRecord], controller.signal);
    setTimeout(() => controller.abort(new Error('partition revoked')), 50);
    await expect(writing).rejects.toThrow('partition revoked');
  });

  it('close waits for the writes made, then refuses new ones', async () => {
    const kafka = scriptedProducer([]);
    const writer = writerWith(kafka.producer);
    const written = writer.write([retryRecord]);
    await writer.close();
    await written;
    const refused = await writer.write([retryRecord]).catch((error: unknown) => error);
    expect(isSluiceError(refused, 'SLUICE_SHUTTING_DOWN')).toBe(true);
    expect(kafka.sends).toHaveLength(1);
  });
});
