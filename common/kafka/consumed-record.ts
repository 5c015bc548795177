import type { IHeaders, KafkaMessage } from 'kafkajs';

// The worker's view of a Kafka record: headers and offsets as strings, read once from kafkajs's
// message so nothing past the consumer depends on kafkajs's types.

/** One record as the delivery worker reads it: headers as strings, offsets as strings. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** The record's Kafka timestamp (ms). */
  readonly timestampMs: number;
}

export function fromKafkaMessage(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: headersToStrings(message.headers),
    timestampMs: Number(message.timestamp),
  };
}

export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (headers === undefined) return result;
  // for-in, not Object.entries: no array of pairs per record on the worker's hottest path.
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    result[name] = Array.isArray(value) ? String(value[0] ?? '') : String(value);
  }
  return result;
}

/** `topic/partition/offset` of a record, for logs and dead letters. */
export function recordPosition(record: Pick<ConsumedRecord, 'topic' | 'partition' | 'offset'>): string {
  return `${record.topic}/${record.partition}/${record.offset}`;
}
