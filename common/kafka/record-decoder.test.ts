import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { installRecordDecoder } from './install-record-decoder.js';
import { decodeRecord, type RecordBatchContext } from './record-decoder.js';
import { encodeRecord, type RecordInput } from './record-encoder.js';
import {
  loadKafkajsOriginal,
  randomSource,
  randomText,
  randomBytes,
} from '../../test/support/kafkajs-original.js';

const require = createRequire(import.meta.url);
const decoderModulePath = require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder.js');
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => {
  buffer: Buffer;
  offset: number;
};

type RecordDecoder = (decoder: { buffer: Buffer; offset: number }, context: RecordBatchContext) => unknown;

function randomCase(seed: number): { record: RecordInput; context: RecordBatchContext } {
  const next = randomSource(seed);
  const text = (length: number) => randomText(next, length);
  const bytes = (length: number) => randomBytes(next, length);
  const keyOrValue = () => [null, bytes(next(40)), bytes(next(300))][next(3)]!;
  const headers: NonNullable<RecordInput['headers']> = {};
  for (let i = next(12); i > 0; i--) {
    // Few distinct names, so some repeat (and decode into arrays).
    const name = `ce_${['id', 'type', text(next(8))][next(3)]}`;
    headers[name] = next(4) === 0 ? [bytes(next(20)), null] : next(5) === 0 ? null : bytes(next(60));
  }
  const deltas = [0, 1, next(1000), -next(1000), 2 ** 31 + next(1000), 2 ** 50 + next(1000), -(2 ** 52)];
  const offsets = ['0', String(next(1_000_000)), '9007199254740000', '9223372036854775000'];
  const timestamps = ['-1', '1764000000000', String(2 ** 62)];
  return {
    record: {
      offsetDelta: [0, next(128), next(100_000)][next(3)],
      timestampDelta: deltas[next(deltas.length)],
      key: keyOrValue(),
      value: keyOrValue(),
      headers,
    },
    context: {
      firstOffset: offsets[next(offsets.length)],
      firstTimestamp: timestamps[next(timestamps.length)],
      maxTimestamp: String(1_764_000_000_000 + next(1000)),
      timestampType: next(3) === 0 ? 1 : 0,
      magicByte: 2,
      isControlBatch: next(10) === 0,
      producerId: '-1',
    },
  };
}

describe('decodeRecord', () => {
  const kafkajsDecode = loadKafkajsOriginal<RecordDecoder>(
    'kafkajs/src/protocol/recordBatch/record/v0/decoder.js',
  );

  it('reads back what kafkajs reads, for 3 000 varied records and batch contexts', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const { record, context } = randomCase(seed);
      const bytes = encodeRecord(record).buffer;
      // What kafkajs's batch decoder hands a record decoder: the record after its length prefix.
      const lengthBytes = new KafkajsDecoder(bytes);
      const length = (lengthBytes as unknown as { readVarInt(): number }).readVarInt();
      const body = bytes.subarray(lengthBytes.offset, lengthBytes.offset + length);
      const ours = new KafkajsDecoder(body);
      const theirs = new KafkajsDecoder(body);
      expect(decodeRecord(ours, context), `seed ${seed}`).toEqual(kafkajsDecode(theirs, context));
      expect(ours.offset, `seed ${seed}`).toBe(body.length);
    }
  });

  it('keeps header names that are Object.prototype members as plain own headers', () => {
    const bytes = encodeRecord({
      value: Buffer.from('v'),
      headers: { toString: 'a', ['__proto__']: 'b', constructor: ['c', 'd'] },
    }).buffer;
    const decoder = new KafkajsDecoder(bytes);
    (decoder as unknown as { readVarInt(): number }).readVarInt();
    const { headers } = decodeRecord(decoder, { firstOffset: '0', firstTimestamp: '0' });
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.keys(headers)).toEqual(['toString', '__proto__', 'constructor']);
    expect(String(headers.toString)).toBe('a');
    expect(String(Object.getOwnPropertyDescriptor(headers, '__proto__')!.value)).toBe('b');
    expect((headers['constructor'] as unknown as Buffer[]).map(String)).toEqual(['c', 'd']);
  });
});

describe('installRecordDecoder', () => {
  it('puts decodeRecord where kafkajs record-batch decoders load their record decoder', () => {
    installRecordDecoder();
    installRecordDecoder();
    expect(require(decoderModulePath)).toBe(decodeRecord);
    const batchDecoder = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder.js');
    expect(require.cache[batchDecoder]).toBeUndefined();
  });
});
