import type {
  HeaderObject,
  OperationObject,
  ParameterObject,
  PathItemObject,
  RequestBodyObject,
  ResponseObject,
  SchemaObject,
  SecuritySchemeObject,
  TagObject,
} from 'openapi3-ts/oas31';
import { COMPATIBILITY_LEVELS } from '../../schemas/registry/compatibility-level.js';
import { registryErrorCatalog } from '../../schemas/registry/registry-error.js';
import { registryContentType } from '../registry/registry-error-response.js';
import { registryPrefix } from '../registry/registry-routes.js';

// The /registry routes: Confluent Schema Registry's REST API, for Confluent's own clients. Their
// shapes and error format are Confluent's, not Sluice's problem documents, so they are described
// here apart, under one tag, and merged into openapi-document.ts.

export const registryTag: TagObject = {
  name: 'schema-registry',
  description: [
    "Confluent Schema Registry's REST API (the subset Confluent's serializers and clients use), at the",
    'registry URL `http://<gateway>/registry`. A subject is an event type; ids are those in the wire',
    'header of every record. Errors are Confluent\'s `{"error_code", "message"}` in',
    `\`${registryContentType}\`, also for unknown paths (404, \`error_code\` 404) and methods (405).`,
    'Reads take any API key, writes an admin key, as HTTP Basic (the key as the password) or Bearer.',
  ].join(' '),
};

export const registrySecuritySchemes: Record<string, SecuritySchemeObject> = {
  registryBasic: {
    type: 'http',
    scheme: 'basic',
    description:
      'For /registry only: HTTP Basic with an API key as the password (`basic.auth.user.info` = `<producer id>:<API key>`); the user is not checked.',
  },
};

const registryJson = (schema: SchemaObject) => ({ [registryContentType]: { schema } });

const errorBody: SchemaObject = {
  type: 'object',
  required: ['error_code', 'message'],
  additionalProperties: false,
  properties: {
    error_code: {
      type: 'integer',
      description: "Confluent's code: the HTTP status, or a finer code such as 40401 or 42201.",
    },
    message: { type: 'string' },
  },
};

/** The Confluent codes an answer of `status` can carry: the status itself and the catalog's finer codes. */
function errorCodes(status: number): number[] {
  const finer = Object.values(registryErrorCatalog)
    .filter((row) => row.status === status)
    .map((row) => row.errorCode);
  return [...new Set([status, ...finer])];
}

function registryError(
  status: number,
  description: string,
  headers: Record<string, HeaderObject> = {},
): ResponseObject {
  return {
    description,
    headers,
    content: registryJson({
      type: 'object',
      allOf: [errorBody],
      properties: { error_code: { enum: errorCodes(status) } },
    }),
  };
}

const commonErrors: Record<string, ResponseObject> = {
  '400': registryError(
    400,
    'Malformed request: headers larger than SLUICE_MAX_HEADER_BYTES, or a body that is not a JSON object.',
  ),
  '401': registryError(401, 'No, a malformed or an unknown API key.', {
    'WWW-Authenticate': { required: true, schema: { type: 'string', pattern: '^Basic realm="sluice"' } },
  }),
  '500': registryError(
    500,
    'An internal fault (the detail is generic and the fault is logged), or a write not read back in time (50002).',
  ),
  '503': registryError(503, 'Shutting down.', {
    'Retry-After': { required: true, schema: { type: 'string', pattern: '^[1-9][0-9]*$' } },
  }),
};
const writeErrors: Record<string, ResponseObject> = {
  '403': registryError(403, 'Writes need an admin API key.'),
};
const bodyErrors: Record<string, ResponseObject> = {
  '413': registryError(413, 'The body is larger than 512 KiB.'),
  '415': registryError(
    415,
    'The body is not JSON (application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json or application/json).',
  ),
};

const subject: ParameterObject = {
  name: 'subject',
  in: 'path',
  required: true,
  description:
    'An event type, lowercase and dotted (`order.created`): the subject naming strategy of Sluice.',
  schema: { type: 'string' },
};
const version: ParameterObject = {
  name: 'version',
  in: 'path',
  required: true,
  description: 'A version number, `latest` or `-1` (latest).',
  schema: { type: 'string' },
};
const schemaId: ParameterObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'A schema id, as in the wire header of a record.',
  schema: { type: 'integer', minimum: 1 },
};
const flag = (name: string, description: string): ParameterObject => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type: 'string', enum: ['true', 'false', 'True', 'False'] },
});
const deleted = flag('deleted', 'Include soft-deleted (deprecated) subjects or versions.');

const schemaRequest: RequestBodyObject = {
  required: true,
  content: Object.fromEntries(
    [registryContentType, 'application/vnd.schemaregistry+json', 'application/json'].map((type) => [
      type,
      {
        schema: {
          type: 'object',
          required: ['schema'],
          properties: {
            schema: { type: 'string', description: 'The Avro schema as JSON text; a record.' },
            schemaType: { const: 'AVRO', description: 'Absent means AVRO; other types are refused (42201).' },
            references: { type: 'array', maxItems: 0, description: 'Not supported.' },
          },
        },
      },
    ]),
  ),
};
const configRequest: RequestBodyObject = {
  required: true,
  content: registryJson({
    type: 'object',
    required: ['compatibility'],
    properties: { compatibility: { enum: [...COMPATIBILITY_LEVELS] } },
  }),
};

const positive: SchemaObject = { type: 'integer', minimum: 1 };
const subjectVersion: SchemaObject = {
  type: 'object',
  required: ['subject', 'version', 'id', 'schema'],
  additionalProperties: false,
  properties: { subject: { type: 'string' }, version: positive, id: positive, schema: { type: 'string' } },
};
const subjectVersionPairs: SchemaObject = {
  type: 'array',
  items: {
    type: 'object',
    required: ['subject', 'version'],
    additionalProperties: false,
    properties: { subject: { type: 'string' }, version: positive },
  },
};
const rawSchema: SchemaObject = {
  type: 'object',
  description: 'The Avro schema itself (JSON), with its keys in sorted order.',
};
const levelRead: SchemaObject = {
  type: 'object',
  required: ['compatibilityLevel'],
  additionalProperties: false,
  properties: { compatibilityLevel: { enum: [...COMPATIBILITY_LEVELS] } },
};
const levelWritten: SchemaObject = {
  type: 'object',
  required: ['compatibility'],
  additionalProperties: false,
  properties: { compatibility: { enum: [...COMPATIBILITY_LEVELS] } },
};

interface RegistryOperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  access: 'read' | 'write';
  parameters?: ParameterObject[];
  requestBody?: RequestBodyObject;
  success: { description: string; schema: SchemaObject };
  /** Statuses of errors this operation adds to the common ones, with what they mean here. */
  errors?: Record<number, string>;
}

function operation(spec: RegistryOperationSpec): OperationObject {
  const responses: Record<string, ResponseObject> = {
    '200': { description: spec.success.description, content: registryJson(spec.success.schema) },
    ...commonErrors,
    ...(spec.access === 'write' ? writeErrors : {}),
    ...(spec.requestBody !== undefined ? bodyErrors : {}),
  };
  for (const [status, description] of Object.entries(spec.errors ?? {})) {
    responses[status] = registryError(Number(status), description);
  }
  return {
    operationId: spec.operationId,
    tags: [registryTag.name],
    summary: spec.summary,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    security: [{ registryBasic: [] }, { apiKey: [] }],
    ...(spec.parameters === undefined ? {} : { parameters: spec.parameters }),
    ...(spec.requestBody === undefined ? {} : { requestBody: spec.requestBody }),
    responses,
  };
}

const noSubject = 'Unknown subject (40401), version (40402) or schema (40403).';
const badSchema =
  'Invalid schema (42201: not Avro, not a record, a record name of another type, another schemaType, too large) or version (42202).';

const paths: Record<string, PathItemObject> = {
  '/schemas/types': {
    get: operation({
      operationId: 'registryGetSchemaTypes',
      summary: 'The schema types held: AVRO',
      access: 'read',
      success: { description: 'Always `["AVRO"]`.', schema: { type: 'array', items: { const: 'AVRO' } } },
    }),
  },
  '/schemas/ids/{id}': {
    get: operation({
      operationId: 'registryGetSchemaById',
      summary: 'The schema of an id (what deserializers ask)',
      description:
        'Ids are global and never reused; a deprecated type keeps its ids. Query parameters such as `subject` and `format` are accepted and ignored.',
      access: 'read',
      parameters: [schemaId],
      success: {
        description: 'The schema as JSON text.',
        schema: {
          type: 'object',
          required: ['schema'],
          additionalProperties: false,
          properties: { schema: { type: 'string' } },
        },
      },
      errors: { 404: 'No schema has this id (40403).' },
    }),
  },
  '/schemas/ids/{id}/schema': {
    get: operation({
      operationId: 'registryGetRawSchemaById',
      summary: 'The schema of an id, as JSON',
      access: 'read',
      parameters: [schemaId],
      success: { description: 'The schema itself.', schema: rawSchema },
      errors: { 404: 'No schema has this id (40403).' },
    }),
  },
  '/schemas/ids/{id}/versions': {
    get: operation({
      operationId: 'registryGetSchemaVersions',
      summary: 'The subject versions that hold an id',
      access: 'read',
      parameters: [schemaId, deleted],
      success: { description: 'Subject-version pairs.', schema: subjectVersionPairs },
      errors: { 404: 'No schema has this id (40403).' },
    }),
  },
  '/schemas/ids/{id}/subjects': {
    get: operation({
      operationId: 'registryGetSchemaSubjects',
      summary: 'The subjects that hold an id',
      access: 'read',
      parameters: [schemaId, deleted],
      success: { description: 'Subjects.', schema: { type: 'array', items: { type: 'string' } } },
      errors: { 404: 'No schema has this id (40403).' },
    }),
  },
  '/subjects': {
    get: operation({
      operationId: 'registryListSubjects',
      summary: 'The subjects (event types)',
      access: 'read',
      parameters: [
        deleted,
        flag('deletedOnly', 'Only soft-deleted subjects.'),
        { name: 'subjectPrefix', in: 'query', required: false, schema: { type: 'string' } },
      ],
      success: { description: 'Subjects, sorted.', schema: { type: 'array', items: { type: 'string' } } },
    }),
  },
  '/subjects/{subject}': {
    post: operation({
      operationId: 'registryLookUpSchema',
      summary: 'The version of a subject that holds a schema',
      access: 'read',
      parameters: [subject, deleted],
      requestBody: schemaRequest,
      success: { description: 'The version holding it.', schema: subjectVersion },
      errors: { 404: 'Unknown subject (40401) or schema not under it (40403).', 422: badSchema },
    }),
    delete: operation({
      operationId: 'registryDeleteSubject',
      summary: 'Soft delete: deprecate the event type',
      description:
        'New events of the type are refused; its ids stay resolvable and registering into it brings it back. `permanent=true` is refused (42205): Sluice never removes a schema.',
      access: 'write',
      parameters: [subject, flag('permanent', 'Refused.')],
      success: { description: 'The versions deleted.', schema: { type: 'array', items: positive } },
      errors: { 404: 'Unknown or already deleted subject (40401).', 422: 'permanent=true (42205).' },
    }),
  },
  '/subjects/{subject}/versions': {
    get: operation({
      operationId: 'registryListVersions',
      summary: 'The versions of a subject',
      access: 'read',
      parameters: [subject, deleted],
      success: { description: 'Version numbers, ascending.', schema: { type: 'array', items: positive } },
      errors: { 404: 'Unknown subject (40401).' },
    }),
    post: operation({
      operationId: 'registryRegisterSchema',
      summary: 'Register a schema under a subject (event type)',
      description:
        'Answers the existing id when the subject already holds the schema. Checked against the compatibility level (BACKWARD by default). `normalize` is accepted: schemas are always compared in a canonical form.',
      access: 'write',
      parameters: [subject, flag('normalize', 'Accepted; schemas are always canonicalised.')],
      requestBody: schemaRequest,
      success: {
        description: 'The schema id.',
        schema: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: positive },
        },
      },
      errors: {
        409: "Incompatible with earlier versions at the subject's level (409).",
        422: `${badSchema} Invalid subject (42208): not an event type name.`,
      },
    }),
  },
  '/subjects/{subject}/versions/{version}': {
    get: operation({
      operationId: 'registryGetVersion',
      summary: 'One version of a subject',
      access: 'read',
      parameters: [subject, version, deleted],
      success: { description: 'The version.', schema: subjectVersion },
      errors: { 404: noSubject, 422: 'Invalid version (42202).' },
    }),
    delete: operation({
      operationId: 'registryDeleteVersion',
      summary: 'Soft delete of one version',
      access: 'write',
      parameters: [subject, version, flag('permanent', 'Refused.')],
      success: { description: 'The version deleted.', schema: positive },
      errors: { 404: noSubject, 422: 'Invalid version (42202) or permanent=true (42205).' },
    }),
  },
  '/subjects/{subject}/versions/{version}/schema': {
    get: operation({
      operationId: 'registryGetRawVersionSchema',
      summary: 'The schema of one version, as JSON',
      access: 'read',
      parameters: [subject, version, deleted],
      success: { description: 'The schema itself.', schema: rawSchema },
      errors: { 404: noSubject, 422: 'Invalid version (42202).' },
    }),
  },
  ...Object.fromEntries(
    [true, false].map((one) => [
      one
        ? '/compatibility/subjects/{subject}/versions/{version}'
        : '/compatibility/subjects/{subject}/versions',
      {
        post: operation({
          operationId: one ? 'registryTestCompatibility' : 'registryTestCompatibilityAll',
          summary: one ? 'Test a schema against one version' : 'Test a schema as registering it would',
          description:
            'Nothing is written. With `verbose=true` the answer lists every problem, naming the field.',
          access: 'read',
          parameters: [
            subject,
            ...(one ? [version] : []),
            flag('verbose', 'List the problems.'),
            flag('normalize', 'Accepted.'),
          ],
          requestBody: schemaRequest,
          success: {
            description: 'Whether the schema is compatible.',
            schema: {
              type: 'object',
              required: ['is_compatible'],
              additionalProperties: false,
              properties: {
                is_compatible: { type: 'boolean' },
                messages: { type: 'array', items: { type: 'string' } },
              },
            },
          },
          errors: { 404: noSubject, 422: badSchema },
        }),
      } satisfies PathItemObject,
    ]),
  ),
  '/config': {
    get: operation({
      operationId: 'registryGetGlobalConfig',
      summary: 'The global compatibility level',
      access: 'read',
      success: { description: 'The level.', schema: levelRead },
    }),
    put: operation({
      operationId: 'registrySetGlobalConfig',
      summary: 'Set the global compatibility level',
      access: 'write',
      requestBody: configRequest,
      success: { description: 'The level set.', schema: levelWritten },
      errors: { 422: 'Invalid compatibility level (42203).' },
    }),
  },
  '/config/{subject}': {
    get: operation({
      operationId: 'registryGetSubjectConfig',
      summary: "A subject's own compatibility level",
      access: 'read',
      parameters: [
        subject,
        flag('defaultToGlobal', 'Answer the global level when the subject has none of its own.'),
      ],
      success: { description: 'The level.', schema: levelRead },
      errors: { 404: 'The subject has no level of its own (40408).' },
    }),
    put: operation({
      operationId: 'registrySetSubjectConfig',
      summary: "Set a subject's compatibility level",
      access: 'write',
      parameters: [subject],
      requestBody: configRequest,
      success: { description: 'The level set.', schema: levelWritten },
      errors: { 422: 'Invalid compatibility level (42203) or subject (42208).' },
    }),
    delete: operation({
      operationId: 'registryDeleteSubjectConfig',
      summary: "Remove a subject's own level: it follows the global one again",
      access: 'write',
      parameters: [subject],
      success: { description: 'The level removed.', schema: levelRead },
      errors: { 404: 'The subject has no level of its own (40408).' },
    }),
  },
};

/** The /registry path items, keyed by their full path. */
export const registryPathItems: Record<string, PathItemObject> = Object.fromEntries(
  Object.entries(paths).map(([path, item]) => [`${registryPrefix}${path}`, item]),
);
