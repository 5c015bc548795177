import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installProduceRequest } from './install-produce-request.js';
import { installRecordEncoder } from './install-record-encoder.js';
import { createProduceRequestFactory, type ProduceRequestInput } from './produce-request.js';
import { loadKafkajsOriginal, randomSource, randomText } from '../../test/support/kafkajs-original.js';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: number | string): object };

type Factory = Parameters<typeof createProduceRequestFactory>[0];

function randomInput(seed: number): ProduceRequestInput {
  const next = randomSource(seed);
  const text = (length: number) => randomText(next, length);
  const message = () => ({
    key: [null, `order-${next(1000)}`, Buffer.from(text(next(20)))][next(3)],
    value: [null, Buffer.alloc(next(300), next(256)), text(next(50))][next(3)],
    headers: Object.fromEntries(
      Array.from({ length: next(9) }, () => [
        `ce_${text(next(6))}`,
        next(5) ? text(next(40)) : [text(3), text(4)],
      ]),
    ),
    timestamp: [undefined, String(1_764_000_000_000 + next(5000)), 1_764_000_000_000 + next(5000)][next(3)],
  });
  return {
    acks: [-1, 1, 0][next(3)]!,
    timeout: 30_000,
    transactionalId: next(4) === 0 ? `tx-${text(next(10))}` : null,
    producerId: next(2) ? Long.fromValue(next(100_000)) : Long.fromValue(-1),
    producerEpoch: next(5),
    compression: 0,
    topicData: Array.from({ length: 1 + next(3) }, () => ({
      topic: `sluice.events.${text(next(8))}`,
      partitions: Array.from({ length: 1 + next(4) }, () => ({
        partition: next(12),
        firstSequence: next(1_000_000),
        messages: Array.from({ length: next(40) }, message),
      })),
    })),
  };
}

describe('createProduceRequestFactory', () => {
  afterEach(() => vi.restoreAllMocks());
  // With kafkajs's own record and batch encoders too, so the comparison is with kafkajs alone.
  const kafkajsRequest = loadKafkajsOriginal<Factory>('kafkajs/src/protocol/requests/produce/v3/request.js', [
    'kafkajs/src/protocol/recordBatch/record/v0/index.js',
    'kafkajs/src/protocol/recordBatch/v0/index.js',
  ]);
  const ours = createProduceRequestFactory(kafkajsRequest);

  it('encodes the same bytes as kafkajs for 300 varied requests', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_764_000_002_500);
    for (let seed = 1; seed <= 300; seed++) {
      const input = randomInput(seed);
      const expected = (await kafkajsRequest(input).encode()).buffer;
      const request = ours(input);
      const actual = await request.encode();
      expect(actual.offset, `seed ${seed}`).toBe(actual.buf.length);
      expect(actual.buffer.equals(expected), `seed ${seed}`).toBe(true);
      expect(request).toMatchObject({ apiKey: 0, apiVersion: 3, apiName: 'Produce' });
      expect(request.expectResponse()).toBe(input.acks !== 0);
    }
  });

  it('hands compressed batches to kafkajs’s own request', () => {
    const fallback = vi.fn(kafkajsRequest);
    const input = { ...randomInput(7), compression: 1 };
    createProduceRequestFactory(fallback)(input);
    expect(fallback).toHaveBeenCalledWith(input);
  });
});

describe('installProduceRequest', () => {
  it('puts the factory where kafkajs’s produce requests v3–v7 load it', () => {
    installRecordEncoder();
    installProduceRequest();
    installProduceRequest();
    const v7 = require('kafkajs/src/protocol/requests/produce/v7/request.js') as Factory;
    const request = v7(randomInput(3)) as ReturnType<Factory> & { apiVersion: number };
    expect(request.apiVersion).toBe(7);
    // The v7 request carries the single-buffer encoder (kafkajs's encode has no allocUnsafe).
    expect(String(request.encode)).toContain('Buffer.allocUnsafe(size)');
  });
});
