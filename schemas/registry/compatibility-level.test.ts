import type { Schema } from 'avsc';
import { describe, expect, it } from 'vitest';
import { createAvroType } from '../create-avro-type.js';
import { compatibilityProblems, findCompatibilityProblems } from './compatibility-level.js';

const record = (fields: object[]) =>
  createAvroType({
    type: 'record',
    name: 'Order',
    fields: [{ name: 'id', type: 'string' }, ...fields],
  } as Schema);

describe('findCompatibilityProblems', () => {
  const v1 = [{ version: 1, type: record([]) }];

  it('names the field a BACKWARD-incompatible version breaks', () => {
    const problems = findCompatibilityProblems('BACKWARD', record([{ name: 'total', type: 'long' }]), v1);
    expect(problems).toEqual([
      {
        field: 'data.total',
        message: expect.stringMatching(
          /^the new schema cannot read data written with version 1: data\.total is required/,
        ),
      },
    ]);
    expect(compatibilityProblems('BACKWARD', record([{ name: 'total', type: 'long' }]), v1)).toEqual([
      problems[0]!.message,
    ]);
  });

  it('names a nested field whose type changed, in both directions under FULL', () => {
    const nested = (type: string) =>
      record([{ name: 'line', type: { type: 'record', name: 'Line', fields: [{ name: 'qty', type }] } }]);
    const problems = findCompatibilityProblems('FULL', nested('string'), [
      { version: 1, type: nested('int') },
    ]);
    expect(problems.map((problem) => problem.field)).toEqual(['data.line.qty', 'data.line.qty']);
  });

  it('finds nothing for a field added with a default, or at NONE', () => {
    expect(
      findCompatibilityProblems('FULL', record([{ name: 'note', type: 'string', default: '' }]), v1),
    ).toEqual([]);
    expect(findCompatibilityProblems('NONE', record([{ name: 'total', type: 'long' }]), v1)).toEqual([]);
  });
});
