import type { Type } from 'avsc';
import { compileEventTypeMatcher } from '../common/event-type-matcher.js';
import type { FilterFieldTypes } from '../common/subscriptions/payload-filter-fields.js';
import type { ValueKind } from '../common/subscriptions/payload-filter.js';
import type { SchemaCatalog } from './schema-catalog.js';

/** The parts of avsc's Type classes a path walk reads (avsc's typings do not expose them). */
interface AvroTypeShape {
  readonly typeName: string;
  readonly fields?: ReadonlyArray<{ readonly name: string; readonly type: AvroTypeShape }>;
  readonly itemsType?: AvroTypeShape;
  readonly valuesType?: AvroTypeShape;
  readonly types?: readonly AvroTypeShape[];
  readonly underlyingType?: AvroTypeShape;
}

const arrayIndexPattern = /^(?:0|[1-9][0-9]*)$/;

/**
 * The kinds of JSON value the decoded data holds at `segments` (a path below the record, MongoDB
 * style), or undefined when the schema has no such field. Records are entered by field name, maps
 * by any key, arrays by an index or, as MongoDB does, by the field of their items; a union is
 * entered through every branch that has the field. At an array the kinds are the array's and its
 * items' (equality and `$in` look into arrays).
 */
export function avroPathKinds(type: Type, segments: readonly string[]): ValueKind[] | undefined {
  const kinds = new Set<ValueKind>();
  collect(type as unknown as AvroTypeShape, segments, kinds);
  return kinds.size === 0 ? undefined : [...kinds];
}

function collect(type: AvroTypeShape, segments: readonly string[], kinds: Set<ValueKind>): void {
  if (type.underlyingType !== undefined) {
    collect(type.underlyingType, segments, kinds);
    return;
  }
  if (type.types !== undefined) {
    for (const branch of type.types) collect(branch, segments, kinds);
    return;
  }
  const [segment, ...rest] = segments;
  if (segment === undefined) {
    leafKinds(type, kinds);
    return;
  }
  if (type.fields !== undefined) {
    const field = type.fields.find((candidate) => candidate.name === segment);
    if (field !== undefined) collect(field.type, rest, kinds);
  } else if (type.valuesType !== undefined) {
    collect(type.valuesType, rest, kinds);
  } else if (type.itemsType !== undefined) {
    collect(type.itemsType, arrayIndexPattern.test(segment) ? rest : segments, kinds);
  }
}

function leafKinds(type: AvroTypeShape, kinds: Set<ValueKind>): void {
  switch (type.typeName) {
    case 'null':
      kinds.add('null');
      return;
    case 'boolean':
      kinds.add('boolean');
      return;
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      kinds.add('number');
      return;
    case 'string':
    case 'enum':
      kinds.add('string');
      return;
    case 'bytes':
    case 'fixed':
      kinds.add('bytes');
      return;
    case 'record':
    case 'error':
    case 'map':
      kinds.add('object');
      return;
    default:
      if (type.itemsType !== undefined) {
        kinds.add('array');
        // An array of arrays: MongoDB compares with the inner arrays whole, not their items.
        if (type.itemsType.itemsType === undefined) leafKinds(type.itemsType, kinds);
        else kinds.add('array');
      }
  }
}

/** `FilterFieldTypes` over a live catalog (the registry's state): every version of each type counts. */
export function createFilterFieldTypes(catalog: Pick<SchemaCatalog, 'types' | 'versions'>): FilterFieldTypes {
  return {
    typesMatching(eventTypes) {
      const matches = compileEventTypeMatcher(eventTypes);
      return catalog.types().filter(matches).sort();
    },
    dataFieldKinds(type, segments) {
      const kinds = new Set<ValueKind>();
      for (const version of catalog.versions(type)) {
        for (const kind of avroPathKinds(version.avroType, segments) ?? []) kinds.add(kind);
      }
      return kinds.size === 0 ? undefined : [...kinds];
    },
  };
}
