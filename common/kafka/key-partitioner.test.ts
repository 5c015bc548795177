import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyPartitioner, murmur2 } from './key-partitioner.js';
import { randomSource, randomText, randomBytes } from '../../test/support/kafkajs-original.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer | string,
) => number;

/** The rest of a partition's metadata, which partitioners do not read. */
const replicated = { partitionErrorCode: 0, replicas: [1], isr: [1] };

describe('murmur2 and KeyPartitioner', () => {
  it('hashes like kafkajs’s murmur2 (Java-compatible) for keys of every length', () => {
    const next = randomSource(11);
    for (let length = 0; length <= 64; length++) {
      for (let round = 0; round < 20; round++) {
        const bytes = randomBytes(next, length);
        expect(murmur2(bytes), `length ${length}`).toBe(kafkajsMurmur2(bytes));
      }
    }
    // Values the Java client gives (Utils.murmur2 on the UTF-8 bytes).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
  });

  it('picks the partition kafkajs’s DefaultPartitioner picks for keyed and explicit messages', () => {
    const next = randomSource(5);
    const ours = KeyPartitioner();
    const theirs = kafkajs.Partitioners.DefaultPartitioner();
    const text = (length: number) => randomText(next, length);
    for (let i = 0; i < 3000; i++) {
      const partitions = 1 + next(64);
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: next(10) === 0 ? -1 : 1,
        ...replicated,
      }));
      const key = [text(next(40)), Buffer.from(text(next(20))), text(400 + next(200))][next(3)]!;
      const message =
        next(10) === 0 ? { key, value: null, partition: next(partitions) } : { key, value: null };
      const args = { topic: 't', partitionMetadata, message };
      expect(ours(args), `message ${i}`).toBe(theirs(args));
    }
  });

  it('spreads keyless messages round robin over partitions that have a leader', () => {
    const partition = KeyPartitioner();
    const partitionMetadata = [0, 1, 2, 3].map((partitionId) => ({
      partitionId,
      leader: partitionId === 2 ? -1 : 1,
      ...replicated,
    }));
    const picked = Array.from({ length: 30 }, () =>
      partition({ topic: 't', partitionMetadata, message: { value: null } }),
    );
    expect(new Set(picked)).toEqual(new Set([0, 1, 3]));
    expect(picked.filter((p) => p === 0)).toHaveLength(10);
  });
});
