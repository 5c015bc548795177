// The public surface of the schemas layer; other folders import from here, not from its modules.
export { avroPathKinds, createFilterFieldTypes } from './avro-field-path.js';
export { avroToJsonSchema, JSON_SCHEMA_DIALECT, type JsonSchema } from './avro-to-json-schema.js';
export { checkSchemas } from './check-schemas.js';
export { checkCatalogCompatibility } from './compatibility.js';
export {
  createEventEncoder,
  decodeEvent,
  encodeEvent,
  type EventEncoder,
  type DecodeFailureReason,
  type DecodeResult,
  type EncodeResult,
} from './event-codec.js';
export { checkManifest, findSchemasDir, type ManifestEntry } from './manifest.js';
export { isRfc3339Timestamp } from './rfc3339-timestamp.js';
export {
  createSchemaCatalog,
  loadSchemaCatalog,
  type AvroSchemaJson,
  type RegisteredSchema,
  type SchemaCatalog,
  type SchemaSource,
} from './schema-catalog.js';
export type { SchemaViolation } from './schema-violation.js';
export { readWireHeader, WIRE_HEADER_BYTES, WIRE_MAGIC_BYTE } from './wire-format.js';
