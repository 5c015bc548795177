import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';

const require = createRequire(import.meta.url);
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
  buffer: Buffer,
) => number;

describe('crc32c', () => {
  it('gives the known check value of CRC-32C', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('agrees with kafkajs’s on random data of every length up to 300 bytes and on large buffers', () => {
    let state = 7;
    const nextByte = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24;
    for (let length = 0; length <= 300; length++) {
      const bytes = Buffer.from(Array.from({ length }, nextByte));
      expect(crc32c(bytes), `length ${length}`).toBe(kafkajsCrc32c(bytes));
      // At an odd offset inside a larger buffer, as record batches are.
      const inner = Buffer.concat([Buffer.from([1, 2, 3]), bytes]).subarray(3);
      expect(crc32c(inner), `length ${length}, offset 3`).toBe(kafkajsCrc32c(bytes));
    }
    const large = Buffer.from(Array.from({ length: 100_003 }, nextByte));
    expect(crc32c(large)).toBe(kafkajsCrc32c(large));
  });
});
