import { describe, expect, it } from 'vitest';
import { createAvroType } from './create-avro-type.js';
import { findAvroPolicyProblems, isReservedSubject } from './avro-policy.js';

const withBytes = createAvroType({
  type: 'record',
  name: 'WithBytes',
  fields: [{ name: 'body', type: 'bytes' }],
});

describe('the bytes exemption', () => {
  it('refuses bytes in a producer’s type and allows it only when asked (Sluice’s reserved types)', () => {
    expect(findAvroPolicyProblems(withBytes)).toEqual([
      'data.body: bytes has no JSON form; use a string (e.g. base64) instead',
    ]);
    expect(findAvroPolicyProblems(withBytes, { allowBytes: true })).toEqual([]);
  });
  it('reserves the sluice. subjects', () => {
    expect(isReservedSubject('sluice.inbound_webhook')).toBe(true);
    expect(isReservedSubject('order.created')).toBe(false);
  });
});
