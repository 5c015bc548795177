import { crc32c } from './crc32c.js';
import { encodeRecord, type EncodedRecord, type RecordInput } from './record-encoder.js';

/**
 * Kafka's Produce request v3 (kafkajs reuses it for v4–v7), built into one exactly-sized buffer.
 *
 * kafkajs 2.2.4 copies every message object once more (`{ ...message, offsetDelta, ... }`) to
 * encode it, then assembles each record batch, partition and topic in its own growing `Encoder`,
 * each copied into the next. With the record encoder already ours, that assembly was the largest
 * part left of the producer's cost per event. This builds the same bytes (checked byte for byte
 * against kafkajs's request in produce-request.test.ts) with one copy of each record. Compressed
 * batches, which Sluice does not write by default, go through kafkajs's own request.
 */

/** What kafkajs passes the request factory (producer/sendMessages.js, through produce/index.js). */
export interface ProduceRequestInput {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: { toString(): string } | number | string;
  producerEpoch?: number;
  compression?: number;
  topicData: Array<{
    topic: string;
    partitions: Array<{
      partition: number;
      firstSequence?: number;
      messages: Array<
        Pick<RecordInput, 'key' | 'value' | 'headers'> & { timestamp?: number | string | null }
      >;
    }>;
  }>;
}

export interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: 'Produce';
  expectResponse: () => boolean;
  encode: () => Promise<EncodedRecord>;
}

type ProduceRequestFactory = (input: ProduceRequestInput) => ProduceRequest;

const produceApiKey = 0;
const magicByte = 2;
const transactionalFlag = 16;
/** Everything of a record batch before its records, after its length (see writeRecordBatch). */
const batchHeaderBytes = 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

const toInt64 = (value: { toString(): string } | number | string): bigint =>
  BigInt.asIntN(64, BigInt(typeof value === 'number' ? Math.trunc(value) : String(value)));

interface EncodedPartition {
  partition: number;
  records: EncodedRecord[];
  recordBytes: number;
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  firstSequence: number;
}

function encodePartition(
  partition: ProduceRequestInput['topicData'][number]['partitions'][number],
): EncodedPartition {
  const dateNow = Date.now();
  // As kafkajs does, including its default (string-wise) sort of the producer's timestamps.
  const stamps = partition.messages
    .map((message) => message.timestamp)
    .filter((timestamp) => timestamp != null)
    .sort();
  const timestamps = stamps.length === 0 ? [dateNow] : stamps;
  const firstTimestamp = timestamps[0]!;
  const maxTimestamp = timestamps[timestamps.length - 1]!;
  let recordBytes = 0;
  const records = partition.messages.map((message, index) => {
    const record = encodeRecord({
      key: message.key,
      value: message.value,
      headers: message.headers,
      offsetDelta: index,
      timestampDelta: Number(message.timestamp || dateNow) - Number(firstTimestamp),
    });
    recordBytes += record.offset;
    return record;
  });
  return {
    partition: partition.partition,
    records,
    recordBytes,
    firstTimestamp: toInt64(firstTimestamp),
    maxTimestamp: toInt64(maxTimestamp),
    firstSequence: partition.firstSequence ?? 0,
  };
}

/** Bytes of one partition's entry: partition, record-set size, then the record batch. */
const partitionEntryBytes = (encoded: EncodedPartition) =>
  4 + 4 + 8 + 4 + batchHeaderBytes + encoded.recordBytes;

function writePartition(
  buf: Buffer,
  start: number,
  encoded: EncodedPartition,
  batch: { attributes: number; producerId: bigint; producerEpoch: number },
): number {
  let at = buf.writeInt32BE(encoded.partition, start);
  const batchLength = batchHeaderBytes + encoded.recordBytes;
  at = buf.writeInt32BE(8 + 4 + batchLength, at); // record set: first offset, length, batch
  at = buf.writeBigInt64BE(0n, at); // first offset
  at = buf.writeInt32BE(batchLength, at);
  at = buf.writeInt32BE(0, at); // partition leader epoch
  at = buf.writeInt8(magicByte, at);
  const crcAt = at;
  at += 4;
  const crcFrom = at;
  at = buf.writeInt16BE(batch.attributes, at);
  at = buf.writeInt32BE(encoded.records.length - 1, at); // last offset delta
  at = buf.writeBigInt64BE(encoded.firstTimestamp, at);
  at = buf.writeBigInt64BE(encoded.maxTimestamp, at);
  at = buf.writeBigInt64BE(batch.producerId, at);
  at = buf.writeInt16BE(batch.producerEpoch, at);
  at = buf.writeInt32BE(encoded.firstSequence, at);
  at = buf.writeInt32BE(encoded.records.length, at);
  for (const record of encoded.records) at += record.buf.copy(buf, at, 0, record.offset);
  buf.writeUInt32BE(crc32c(buf.subarray(crcFrom, at)), crcAt);
  return at;
}

/** The request factory that replaces kafkajs's v3 one; `fallback` is kafkajs's, for compression. */
export function createProduceRequestFactory(fallback: ProduceRequestFactory): ProduceRequestFactory {
  return (input) => {
    if ((input.compression ?? 0) !== 0) return fallback(input);
    const { acks, timeout, transactionalId = null, producerEpoch = 0, topicData } = input;
    return {
      apiKey: produceApiKey,
      apiVersion: 3,
      apiName: 'Produce',
      expectResponse: () => acks !== 0,
      encode: async () => {
        const batch = {
          attributes: transactionalId ? transactionalFlag : 0,
          producerId: toInt64(input.producerId ?? -1),
          producerEpoch,
        };
        const topics = topicData.map((data) => ({
          name: data.topic,
          nameBytes: Buffer.byteLength(data.topic),
          partitions: data.partitions.map(encodePartition),
        }));
        const transactionalIdBytes = transactionalId === null ? -1 : Buffer.byteLength(transactionalId);
        let size = 2 + Math.max(0, transactionalIdBytes) + 2 + 4 + 4;
        for (const topic of topics) {
          size += 2 + topic.nameBytes + 4;
          for (const partition of topic.partitions) size += partitionEntryBytes(partition);
        }
        const buf = Buffer.allocUnsafe(size);
        let at = buf.writeInt16BE(transactionalIdBytes, 0);
        if (transactionalId !== null) at += buf.write(transactionalId, at, 'utf8');
        at = buf.writeInt16BE(acks, at);
        at = buf.writeInt32BE(timeout, at);
        at = buf.writeInt32BE(topics.length, at);
        for (const topic of topics) {
          at = buf.writeInt16BE(topic.nameBytes, at);
          at += buf.write(topic.name, at, 'utf8');
          at = buf.writeInt32BE(topic.partitions.length, at);
          for (const partition of topic.partitions) at = writePartition(buf, at, partition, batch);
        }
        return { buf, buffer: buf, offset: at };
      },
    };
  };
}
