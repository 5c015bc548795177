import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { installRecordEncoder } from './install-record-encoder.js';
import { encodeRecord, type RecordInput } from './record-encoder.js';
import {
  loadKafkajsOriginal,
  randomSource,
  randomText,
  randomBytes,
} from '../../test/support/kafkajs-original.js';

const require = createRequire(import.meta.url);
const recordModulePath = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js');

function randomRecord(seed: number): RecordInput {
  const next = randomSource(seed);
  const text = (length: number) => randomText(next, length);
  const bytes = (length: number) => randomBytes(next, length);
  const keyOrValue = () => [null, text(next(40)), bytes(next(300))][next(3)]!;
  const headers: NonNullable<RecordInput['headers']> = {};
  for (let i = next(10); i > 0; i--) {
    const name = `ce_${text(next(12))}`;
    headers[name] =
      next(4) === 0 ? [text(next(20)), bytes(next(20))] : next(2) ? text(next(60)) : bytes(next(60));
  }
  // Both sides of the 32-bit fast path: ±2^31 are its edges.
  const deltas = [
    0,
    1,
    next(1000),
    -next(1000),
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 31 + next(1000),
    1_764_000_000_000,
  ];
  return {
    offsetDelta: [0, next(128), next(100_000)][next(3)],
    timestampDelta: deltas[next(deltas.length)],
    key: keyOrValue(),
    value: keyOrValue(),
    headers,
  };
}

describe('encodeRecord', () => {
  const kafkajsRecord = loadKafkajsOriginal<(record: RecordInput) => { buffer: Buffer }>(
    'kafkajs/src/protocol/recordBatch/record/v0/index.js',
  );

  it('writes the same bytes as kafkajs for 2 000 varied records', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const record = randomRecord(seed);
      const ours = encodeRecord(record);
      expect(ours.offset, `seed ${seed}`).toBe(ours.buf.length);
      expect(ours.buffer.equals(kafkajsRecord(record).buffer), `seed ${seed}`).toBe(true);
    }
  });

  it('matches kafkajs for the defaults: no key, value or headers', () => {
    expect(encodeRecord({}).buffer).toEqual(kafkajsRecord({}).buffer);
  });

  it('encodes a record with a known layout', () => {
    const encoded = encodeRecord({ key: 'k', value: Buffer.from([1, 2]), headers: { h: 'v' } });
    // length 13 (zigzag 26), attributes, timestampDelta 0, offsetDelta 0, key "k", value [1,2], 1 header h=v
    expect([...encoded.buffer]).toEqual([26, 0, 0, 0, 2, 107, 4, 1, 2, 2, 2, 104, 2, 118]);
  });
});

describe('installRecordEncoder', () => {
  it('puts encodeRecord where kafkajs produce requests load their record encoder', () => {
    installRecordEncoder();
    installRecordEncoder();
    expect(require.cache[recordModulePath]?.exports).toBe(encodeRecord);
    expect(require(recordModulePath)).toBe(encodeRecord);
  });
});
