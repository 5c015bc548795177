import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

/**
 * The partitioner Sluice's producers use: the same choice as kafkajs's DefaultPartitioner (and the
 * Java client's): an explicit partition wins, a key goes to murmur2(key) mod partitions, no key
 * goes round robin over partitions that have a leader. kafkajs computes murmur2 with 64-bit
 * `Long` objects (a dozen allocations per key) and filters the partition list for every message;
 * murmur2 is 32-bit arithmetic, which Math.imul does exactly, so this gives the same partitions
 * (key-partitioner.test.ts checks it against kafkajs's) at a fraction of the cost.
 */

const seed = 0x9747b28c;
const m = 0x5bd1e995;

/** Kafka's murmur2 of `bytes`, as a signed 32-bit integer (Java's `Utils.murmur2`). */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = seed ^ length;
  const end4 = length - (length % 4);
  for (let i = 0; i < end4; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length - end4;
  if (tail === 3) h ^= bytes[end4 + 2]! << 16;
  if (tail >= 2) h ^= bytes[end4 + 1]! << 8;
  if (tail >= 1) h = Math.imul(h ^ bytes[end4]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Keys are mostly short: their UTF-8 goes through one reused buffer instead of a new one each. */
const scratch = Buffer.allocUnsafe(1024);

function keyBytes(key: Buffer | string): Uint8Array {
  if (Buffer.isBuffer(key)) return key;
  const text = String(key);
  // At most three UTF-8 bytes per UTF-16 unit, so a short key always fits.
  if (text.length * 3 > scratch.length) return Buffer.from(text);
  return scratch.subarray(0, scratch.write(text, 0, 'utf8'));
}

const toPositive = (value: number) => value & 0x7fffffff;

export const KeyPartitioner: ICustomPartitioner = () => {
  const roundRobin = new Map<string, number>();
  return ({ topic, partitionMetadata, message }: PartitionerArgs) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) {
      return toPositive(murmur2(keyBytes(message.key))) % partitionMetadata.length;
    }
    const counter = (roundRobin.get(topic) ?? Math.floor(Math.random() * 0x7fffffff)) + 1;
    roundRobin.set(topic, counter);
    const available = partitionMetadata.filter((partition) => partition.leader >= 0);
    if (available.length > 0) return available[toPositive(counter) % available.length]!.partitionId;
    return toPositive(counter) % partitionMetadata.length;
  };
};
