import avro from 'avsc';
import type { Type } from 'avsc';
import { Rfc3339TimestampType } from './rfc3339-timestamp.js';

/** The first place where data breaks its schema, for a 422 answer. */
export interface SchemaViolation {
  /** Where, e.g. `data.items[2].sku` or `data.attributes["utm-source"]`. */
  path: string;
  /** A sentence that starts with the path, e.g. `data.items[2].sku is required (a string)`. */
  message: string;
}

interface Failure {
  segments: string[];
  value: unknown;
  type: Type;
}

// Fields the schema does not declare are refused, so a typo (`totalMinr`) fails loudly instead of
// being dropped silently by the encoder.
const checkOptions = { noUndeclaredFields: true } as const;

/**
 * Validates `data` against `type` and describes the first problem, or returns undefined when the
 * data is valid. `rootPath` names the value itself in paths (`data` for an event's payload).
 */
export function findSchemaViolation(
  type: Type,
  data: unknown,
  rootPath = 'data',
): SchemaViolation | undefined {
  // Valid events, the common case, skip avsc's slower path bookkeeping.
  if (type.isValid(data, checkOptions)) return undefined;
  const failures: Failure[] = [];
  type.isValid(data, {
    ...checkOptions,
    errorHook: (segments, value, failingType) => {
      if (failures.length === 0) failures.push({ segments, value, type: failingType });
    },
  });
  const first = failures[0];
  if (first === undefined) return { path: rootPath, message: `${rootPath} does not match its schema` };
  return describeFailure(data, first, rootPath);
}

function describeFailure(root: unknown, failure: Failure, rootPath: string): SchemaViolation {
  let path = rootPath;
  let value = root;
  for (const segment of failure.segments) {
    if (Array.isArray(value)) {
      // avsc accepts an empty array where a record is expected, then finds its fields missing.
      if (!/^\d+$/.test(segment)) return violation(path, `must be an object, got an array`);
      path += `[${segment}]`;
    } else {
      path = appendKey(path, segment);
    }
    value = (value as Record<string, unknown>)[segment];
  }

  const { value: bad, type } = failure;
  if (bad === undefined) return violation(path, `is required (${describeAvroType(type)})`);
  if (
    type instanceof avro.types.RecordType &&
    typeof bad === 'object' &&
    bad !== null &&
    !Array.isArray(bad)
  ) {
    const declared = type.fields.map((field) => field.name);
    const undeclared = Object.keys(bad).find((key) => !declared.includes(key));
    if (undeclared !== undefined) {
      return violation(
        appendKey(path, undeclared),
        `is not a field of this schema (expected one of: ${declared.join(', ')})`,
      );
    }
  }
  return violation(path, `must be ${describeAvroType(type)}, got ${describeValue(bad)}`);
}

function violation(path: string, problem: string): SchemaViolation {
  return { path, message: `${path} ${problem}` };
}

function appendKey(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** What a value of this type looks like in JSON, for messages. */
export function describeAvroType(type: Type): string {
  if (type instanceof Rfc3339TimestampType) return 'an RFC 3339 timestamp such as 2024-05-01T12:00:00Z';
  if (type instanceof avro.types.NullType) return 'null';
  if (type instanceof avro.types.BooleanType) return 'true or false';
  if (type instanceof avro.types.IntType) return 'an integer from -2147483648 to 2147483647';
  // avsc refuses longs it cannot hold exactly in a double (one below 2^53 for rounding margin).
  if (type instanceof avro.types.LongType) return 'an integer from -9007199254740990 to 9007199254740990';
  if (type instanceof avro.types.DoubleType || type instanceof avro.types.FloatType) return 'a number';
  if (type instanceof avro.types.StringType) return 'a string';
  if (type instanceof avro.types.EnumType) return `one of ${type.symbols.join(', ')}`;
  if (type instanceof avro.types.ArrayType) return 'an array';
  if (type instanceof avro.types.MapType || type instanceof avro.types.RecordType) return 'an object';
  if (type instanceof avro.types.UnwrappedUnionType) return type.types.map(describeAvroType).join(' or ');
  return type.typeName;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    // Echo enough to recognise the value without reflecting a whole payload back.
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  return String(value);
}
