import avro from 'avsc';
import type { Type } from 'avsc';
import { Rfc3339TimestampType } from './rfc3339-timestamp.js';

export const JSON_SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

export type JsonSchemaTypeName = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

/** The subset of JSON Schema 2020-12 that Avro event schemas translate to. */
export interface JsonSchema {
  $schema?: string;
  title?: string;
  description?: string;
  type?: JsonSchemaTypeName | JsonSchemaTypeName[];
  format?: string;
  contentEncoding?: string;
  minimum?: number;
  maximum?: number;
  enum?: (string | null)[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  default?: unknown;
}

/**
 * The JSON Schema that accepts exactly the JSON the gateway accepts for `type` (see README.md,
 * "JSON to Avro"): fields without a default are required, undeclared fields are refused, longs
 * are bounded to what avsc holds exactly, and a union with null is a nullable type.
 */
export function avroToJsonSchema(type: Type, options: { title?: string } = {}): JsonSchema {
  const root = convert(type, new Set());
  return {
    $schema: JSON_SCHEMA_DIALECT,
    ...root,
    ...(options.title === undefined ? {} : { title: options.title }),
  };
}

function convert(type: Type, recordsInProgress: Set<Type>): JsonSchema {
  if (type instanceof Rfc3339TimestampType) return { type: 'string', format: 'date-time' };
  if (type instanceof avro.types.NullType) return { type: 'null' };
  if (type instanceof avro.types.BooleanType) return { type: 'boolean' };
  if (type instanceof avro.types.IntType)
    return { type: 'integer', minimum: -2147483648, maximum: 2147483647 };
  if (type instanceof avro.types.LongType) {
    return { type: 'integer', minimum: -9007199254740990, maximum: 9007199254740990 };
  }
  if (type instanceof avro.types.DoubleType || type instanceof avro.types.FloatType)
    return { type: 'number' };
  if (type instanceof avro.types.StringType) return { type: 'string' };
  // Only Sluice's own reserved types have bytes (avro-policy.ts); their JSON form is base64.
  if (type instanceof avro.types.BytesType) return { type: 'string', contentEncoding: 'base64' };
  if (type instanceof avro.types.EnumType) {
    return { ...named(type), type: 'string', enum: [...type.symbols] };
  }
  if (type instanceof avro.types.ArrayType) {
    return { type: 'array', items: convert(type.itemsType, recordsInProgress) };
  }
  if (type instanceof avro.types.MapType) {
    return { type: 'object', additionalProperties: convert(type.valuesType as Type, recordsInProgress) };
  }
  if (type instanceof avro.types.RecordType) return convertRecord(type, recordsInProgress);
  if (type instanceof avro.types.UnwrappedUnionType) return convertUnion(type, recordsInProgress);
  throw new Error(`no JSON Schema for Avro ${type.typeName}`);
}

function convertRecord(type: InstanceType<typeof avro.types.RecordType>, inProgress: Set<Type>): JsonSchema {
  // Schemas are inlined so producers read one self-contained document; a recursive record
  // would inline forever, and no event type needs one.
  if (inProgress.has(type)) throw new Error(`recursive record ${type.name ?? ''} has no inline JSON Schema`);
  inProgress.add(type);
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const field of type.fields) {
    const property = convert(field.type, inProgress);
    const doc = (field as { doc?: string }).doc;
    if (doc !== undefined) property.description = doc;
    const defaultValue: unknown = field.defaultValue();
    if (defaultValue === undefined) required.push(field.name);
    else property.default = defaultValue;
    properties[field.name] = property;
  }
  inProgress.delete(type);
  return { ...named(type), type: 'object', properties, required, additionalProperties: false };
}

function convertUnion(
  type: InstanceType<typeof avro.types.UnwrappedUnionType>,
  inProgress: Set<Type>,
): JsonSchema {
  const branches = type.types.map((branch) => convert(branch, inProgress));
  const others = branches.filter((branch) => branch.type !== 'null');
  const only = others[0];
  if (others.length !== 1 || branches.length !== 2 || only === undefined) return { anyOf: branches };
  // Type-specific keywords ignore other types, so adding "null" to `type` suffices, except for
  // `enum`, which constrains every value.
  if (typeof only.type !== 'string') return { anyOf: [only, { type: 'null' }] };
  return { ...only, type: [only.type, 'null'], ...(only.enum ? { enum: [...only.enum, null] } : {}) };
}

function named(type: Type): Pick<JsonSchema, 'title' | 'description'> {
  const title = type.name?.split('.').pop();
  return {
    ...(title === undefined ? {} : { title }),
    ...(type.doc === undefined ? {} : { description: type.doc }),
  };
}
