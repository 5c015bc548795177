import { describe, expect, it } from 'vitest';
import { createAvroType } from './create-avro-type.js';
import { isRfc3339Timestamp } from './rfc3339-timestamp.js';

const timestampSchema = { type: 'string', logicalType: 'rfc3339-timestamp' } as const;

describe('isRfc3339Timestamp', () => {
  it.each([
    '2024-11-05T14:32:07Z',
    '2024-11-05T14:32:07.412Z',
    '2024-11-05T14:32:07.123456789+09:00',
    '2024-11-05t14:32:07z',
    '2024-02-29T00:00:00-05:30',
    '2000-02-29T23:59:59Z',
    '2024-11-05T14:32:07.5-23:59',
  ])('accepts %s', (text) => {
    expect(isRfc3339Timestamp(text)).toBe(true);
  });

  it.each([
    ['a date without a time', '2024-11-05'],
    ['a time without an offset', '2024-11-05T14:32:07'],
    ['a space instead of T', '2024-11-05 14:32:07Z'],
    ['epoch seconds', '1730817127'],
    ['month 13', '2024-13-01T00:00:00Z'],
    ['April 31', '2024-04-31T00:00:00Z'],
    ['February 29 in a common year', '2023-02-29T00:00:00Z'],
    ['February 29 in a century year', '1900-02-29T00:00:00Z'],
    ['hour 24', '2024-11-05T24:00:00Z'],
    ['a leap second', '2024-12-31T23:59:60Z'],
    ['an offset of 24 hours', '2024-11-05T12:00:00+24:00'],
    ['an offset of 60 minutes', '2024-11-05T12:00:00+05:60'],
    ['minute 60', '2024-11-05T12:60:00Z'],
    ['trailing text', '2024-11-05T12:00:00Z yesterday'],
  ])('refuses %s', (_label, text) => {
    expect(isRfc3339Timestamp(text)).toBe(false);
  });
});

describe('rfc3339-timestamp logical type', () => {
  it('validates values and encodes them as plain Avro strings', () => {
    const type = createAvroType(timestampSchema);
    expect(type.isValid('2024-11-05T14:32:07Z')).toBe(true);
    expect(type.isValid('next tuesday')).toBe(false);
    const plainString = createAvroType('string');
    const bytes = type.toBuffer('2024-11-05T14:32:07Z');
    expect(plainString.fromBuffer(bytes)).toBe('2024-11-05T14:32:07Z');
    expect(type.fromBuffer(bytes)).toBe('2024-11-05T14:32:07Z');
  });

  it('can read data written as a plain string, so a field can be tightened later', () => {
    const reader = createAvroType(timestampSchema);
    const writer = createAvroType('string');
    const resolver = reader.createResolver(writer);
    expect(reader.fromBuffer(writer.toBuffer('2024-11-05T14:32:07Z'), resolver)).toBe('2024-11-05T14:32:07Z');
  });

  it('fails at load when it annotates something other than a string', () => {
    expect(() => createAvroType({ type: 'long', logicalType: 'rfc3339-timestamp' })).toThrow(
      /must annotate a string/,
    );
  });
});
