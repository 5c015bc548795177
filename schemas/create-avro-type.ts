import avro from 'avsc';
import type { Schema, Type } from 'avsc';
import { GuardedArrayType, GuardedMapType } from './guarded-collection-types.js';
import { RFC3339_TIMESTAMP_LOGICAL_TYPE, Rfc3339TimestampType } from './rfc3339-timestamp.js';

/**
 * Builds the avsc Type for one event schema with the options every Sluice codec must share. Build
 * each Type once at start-up: avsc generates its readers and writers as code when it builds one.
 */
export function createAvroType(schema: Schema): Type {
  return avro.Type.forSchema(schema, {
    // Unions take the plain JSON value (`"x"` or `null`), never `{"string": "x"}`; a union whose
    // branches plain JSON cannot tell apart (e.g. int and long) fails here, at load.
    wrapUnions: 'never',
    logicalTypes: { [RFC3339_TIMESTAMP_LOGICAL_TYPE]: Rfc3339TimestampType },
    // A misdeclared logical type must fail at load, not silently become a plain string.
    assertLogicalTypes: true,
    // Decoded records are plain data objects for JSON payloads, without avsc's helper methods.
    omitRecordMethods: true,
    typeHook: (definition, options) => {
      if (typeof definition !== 'object' || Array.isArray(definition) || 'logicalType' in definition) {
        return undefined;
      }
      const kind = (definition as { type?: unknown }).type;
      if (kind === 'array') return new GuardedArrayType(definition, options);
      if (kind === 'map') return new GuardedMapType(definition, options);
      return undefined;
    },
  });
}
