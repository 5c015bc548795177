import type {
  HeaderObject,
  OpenAPIObject,
  OperationObject,
  ParameterObject,
  PathItemObject,
  ReferenceObject,
  ResponseObject,
  ResponsesObject,
  SchemaObject,
} from 'openapi3-ts/oas31';
import { errorCatalog, type ErrorCode } from '../../common/errors.js';
import { customHeaderLimits } from '../../common/subscriptions/custom-headers.js';
import {
  fieldOperators,
  logicalOperators,
  payloadFilterLimits,
} from '../../common/subscriptions/payload-filter.js';
import { subscriptionLimits } from '../../common/subscriptions/subscription-input.js';
import { tenantIdPattern } from '../../common/tenant-id.js';
import { schemes } from '../inbound/schemes/verification.js';
import { sourceLimits } from '../sources/source-input.js';
import { EVENT_TYPE_PATTERN } from '../../schemas/manifest.js';
import { COMPATIBILITY_LEVELS } from '../../schemas/registry/compatibility-level.js';
import { eventTypeLimits } from '../event-types/event-type-input.js';
import { problemContentType, problemTypeBase } from '../http/problem.js';
import { registryPathItems, registrySecuritySchemes, registryTag } from './registry-paths.js';

/**
 * The OpenAPI 3.1 description of every HTTP route: the gateway's public port and the admin port's
 * probes. One source of truth, served as GET /openapi.json. Error codes, their statuses and the
 * subscription limits are read from the code that enforces them, so they cannot drift; the tests
 * check the paths against the router and validate real answers against this document.
 */

type Schema = SchemaObject | ReferenceObject;

const ref = (name: string): ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });

/**
 * Codes a client can receive: a 500-class error other than SLUICE_INTERNAL (configuration, local
 * stack) is reported as SLUICE_INTERNAL and never leaves the process (see toClientError).
 */
export const clientErrorCodes: readonly ErrorCode[] = (Object.keys(errorCatalog) as ErrorCode[]).filter(
  (code) => code === 'SLUICE_INTERNAL' || errorCatalog[code].status !== 500,
);

const codesWithStatus = (status: number) =>
  clientErrorCodes.filter((code) => errorCatalog[code].status === status);

// ---- headers -------------------------------------------------------------------------------------

const stringHeader = (description: string, pattern?: string, required = true): HeaderObject => ({
  description,
  required,
  schema: pattern === undefined ? { type: 'string' } : { type: 'string', pattern },
});
const retryAfter = stringHeader('Whole seconds to wait before retrying (at least 1).', '^[1-9][0-9]*$');
const rateLimit = stringHeader(
  'IETF RateLimit (draft-ietf-httpapi-ratelimit-headers-10): events left (`r`) and seconds until more quota (`t`). The quota counts events, not requests: a batch of 100 costs 100.',
  '^"default";r=[0-9]+;t=[0-9]+$',
);
const rateLimitPolicy = stringHeader(
  'IETF RateLimit-Policy: the burst (`q`) and the seconds to refill it (`w`) of this API key.',
  '^"default";q=[0-9]+;w=[0-9]+$',
);
const rateLimitHeaders = { RateLimit: rateLimit, 'RateLimit-Policy': rateLimitPolicy };
const optional = (header: HeaderObject): HeaderObject => ({ ...header, required: false });

/** Headers every problem of a status carries (problem.ts adds them; Retry-After only to retryable codes). */
function problemHeaders(status: number, codes: readonly ErrorCode[]): Record<string, HeaderObject> {
  if (status === 401) {
    return { 'WWW-Authenticate': stringHeader('The accepted scheme.', '^Bearer realm="sluice"$') };
  }
  if (status === 405) {
    return { Allow: stringHeader('The methods this path takes, comma-separated.', '^[A-Z]+(, [A-Z]+)*$') };
  }
  if (status === 409 || status === 429 || status === 503) {
    const retryable = codes.filter((code) => errorCatalog[code].retryable);
    if (retryable.length === codes.length) return { 'Retry-After': retryAfter };
    if (retryable.length > 0) return { 'Retry-After': optional(retryAfter) };
  }
  return {};
}

/**
 * A problem answer of one status. `codes` narrows the codes to those this operation can produce;
 * without it every client-visible code of that status is listed.
 */
function problem(
  status: number,
  description: string,
  options: { codes?: readonly ErrorCode[]; headers?: Record<string, HeaderObject> } = {},
): ResponseObject {
  const codes = options.codes ?? codesWithStatus(status);
  for (const code of codes) {
    if (errorCatalog[code].status !== status || !clientErrorCodes.includes(code)) {
      throw new Error(`${code} is not a client-visible ${status} error`);
    }
  }
  return {
    description,
    headers: { ...problemHeaders(status, codes), ...options.headers },
    content: {
      [problemContentType]: {
        schema: {
          type: 'object',
          allOf: [ref('Problem')],
          properties: { status: { const: status }, code: { enum: [...codes] } },
        },
      },
    },
  };
}

/** Answers the router gives on any operation, before the route's handler runs. */
const routerProblems: ResponsesObject = {
  '400': problem(400, 'Malformed request: headers larger than SLUICE_MAX_HEADER_BYTES.'),
  '500': problem(500, 'An internal fault; the detail is generic and the fault is logged.'),
};

// ---- schemas -------------------------------------------------------------------------------------

const dateTime: SchemaObject = { type: 'string', format: 'date-time' };
const eventTypeName: SchemaObject = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  maxLength: 128,
  examples: ['order.created'],
};
const eventId: SchemaObject = {
  type: 'string',
  pattern: '^[\\x21-\\x7e]{1,128}$',
  description:
    'Idempotency key per producer for SLUICE_IDEMPOTENCY_WINDOW_MS (24 h): 1-128 printable ASCII characters without spaces. A repeat answers the first result with `duplicate: true` and is not written again; without an id the gateway generates a UUID and skips the check.',
};
const webhookSecret: SchemaObject = {
  type: 'string',
  pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$',
  description: 'A Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random bytes.',
};
const count: SchemaObject = { type: 'integer', minimum: 0 };
const compatibilityLevel: SchemaObject = {
  enum: [...COMPATIBILITY_LEVELS],
  description:
    "Confluent's levels. BACKWARD (the default): the new schema reads data written with the latest version; FORWARD: the latest version reads data written with the new one; FULL: both; _TRANSITIVE: against every version; NONE: no check.",
};
const registeredTypeName: SchemaObject = {
  type: 'string',
  pattern: EVENT_TYPE_PATTERN.source,
  maxLength: eventTypeLimits.maxTypeChars,
  description: 'Lowercase words joined by dots.',
  examples: ['shipment.delayed'],
};
const schemaId: SchemaObject = {
  type: 'integer',
  minimum: 1,
  description: 'The id in the Confluent wire header; global, stable, never reused.',
};
const avroSchemaJson: SchemaObject = { type: 'object', description: 'An Avro record schema (JSON).' };

const fieldProblem: SchemaObject = {
  type: 'object',
  required: ['field', 'message'],
  properties: {
    field: { type: 'string', description: 'JSON path of the field; empty for the whole body.' },
    message: { type: 'string' },
    reason: { type: 'string', description: 'Why the SSRF policy refused a URL (loopback, private, …).' },
  },
};

const tenantId: SchemaObject = {
  type: 'string',
  pattern: tenantIdPattern.source,
  description: 'A tenant id: 1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit.',
};
const payloadFilter: SchemaObject = {
  type: 'object',
  minProperties: 1,
  description: `A MongoDB-style query over the event, evaluated by the worker before delivery; an event it does not match is resolved as \`filtered\` at once and never retried. Keys are field paths (\`type\`, \`producer\`, \`tenant\`, or \`data.<field>[.<field>…]\` into the event's data, array items and map keys included) and ${logicalOperators.join(', ')}. A field's condition is a string, number, boolean or null (equality) or an object of ${fieldOperators.join(', ')} (\`$prefix\`: starts with). Every \`data.\` path must exist in some version of at least one event type \`eventTypes\` matches, and operands must be of a kind the field holds; anything else, and any other operator (\`$where\`, \`$regex\`…), is refused when saved, naming it. At most ${payloadFilterLimits.maxConditions} conditions, ${payloadFilterLimits.maxDepth} levels, ${payloadFilterLimits.maxBytes} bytes.`,
  examples: [{ 'data.totalMinor': { $gt: 500 }, $or: [{ producer: 'shop-eu' }, { 'data.currency': 'EUR' }] }],
};
const headerName: SchemaObject = { type: 'string', maxLength: customHeaderLimits.maxNameChars };
const headersDescription = `Static headers sent with every attempt, at most ${customHeaderLimits.maxHeaders} (${customHeaderLimits.maxTotalBytes} bytes of names and values). Names are RFC 9110 tokens, kept in lower case; Sluice's own and the connection's are refused (\`webhook-*\`, \`ce-*\`, \`sluice-*\`, \`proxy-*\`, \`content-type\`, \`content-length\`, \`content-encoding\`, \`host\`, \`user-agent\`, \`connection\`, \`keep-alive\`, \`transfer-encoding\`, \`te\`, \`trailer\`, \`upgrade\`, \`expect\`). Values are visible ASCII, spaces or tabs inside, no line breaks.`;
const retryDescription =
  "The subscription's own retry schedule: `schedule`, an ascending subset of the retry tiers of `SLUICE_RETRY_SCHEDULE` (each tier is a topic), and/or `maxAttempts`, the first attempt included (1: never retried), at most the schedule's length + 1. Null: the global schedule.";
const timeoutDescription =
  'Deadline of one attempt (connect, headers, body) in milliseconds, at most `SLUICE_DELIVERY_ATTEMPT_TIMEOUT_MS`; null: that one.';

const subscriptionProperties: Record<string, Schema> = {
  id: { type: 'string', pattern: '^sub_[a-z0-9]{20,40}$' },
  url: { type: 'string', format: 'uri', maxLength: subscriptionLimits.maxUrlChars },
  eventTypes: {
    type: 'array',
    items: { type: 'string', maxLength: subscriptionLimits.maxEventTypeChars },
    description: 'Exact event types or globs such as `order.*`.',
  },
  description: { type: 'string', maxLength: subscriptionLimits.maxDescriptionChars },
  enabled: { type: 'boolean' },
  disabledReason: {
    enum: ['manual', 'gone', 'failing', null],
    description:
      '`manual`: disabled through the API; `gone`: the endpoint answered 410; `failing`: every attempt failed for SLUICE_AUTO_DISABLE_AFTER_MS (or SLUICE_AUTO_DISABLE_AFTER_DEAD_LETTERS dead letters in a row).',
  },
  disabledAt: {
    type: ['string', 'null'],
    format: 'date-time',
    description: 'When it was disabled; null while enabled. Recovery replays from here.',
  },
  failingSince: {
    type: ['string', 'null'],
    format: 'date-time',
    description: '`failing` only: since when every attempt failed.',
  },
  rateLimitPerSecond: {
    type: ['number', 'null'],
    exclusiveMinimum: 0,
    maximum: subscriptionLimits.maxRateLimitPerSecond,
    description: 'Deliveries per second; null is unlimited.',
  },
  maxConcurrency: { type: 'integer', minimum: 1, maximum: subscriptionLimits.maxConcurrency },
  ordering: { enum: ['none', 'key'] },
  producerIds: {
    type: ['array', 'null'],
    items: { type: 'string' },
    description: 'Only events of these producers; null is every producer.',
  },
  tenant: {
    ...tenantId,
    type: ['string', 'null'],
    description:
      'The tenant whose events alone it receives (events naming that tenant); null: global, it receives every event, whatever its tenant.',
  },
  filter: { oneOf: [payloadFilter, { type: 'null' }] },
  headers: {
    type: 'object',
    description: `${headersDescription} A secret one shows as \`{"secret": true}\`: its value is never shown.`,
    propertyNames: headerName,
    additionalProperties: {
      oneOf: [
        { type: 'string' },
        {
          type: 'object',
          required: ['secret'],
          additionalProperties: false,
          properties: { secret: { const: true } },
        },
      ],
    },
  },
  retry: {
    oneOf: [
      {
        type: 'object',
        required: ['schedule', 'maxAttempts'],
        additionalProperties: false,
        description: retryDescription,
        properties: {
          schedule: {
            type: ['array', 'null'],
            items: { type: 'string' },
            description: 'Tier names such as `30s`; null: the global tiers.',
          },
          maxAttempts: { type: ['integer', 'null'], minimum: 1 },
        },
      },
      { type: 'null' },
    ],
  },
  timeoutMs: { type: ['integer', 'null'], minimum: 100, description: timeoutDescription },
  signingSecrets: {
    type: 'object',
    required: ['active', 'previousExpireAt'],
    additionalProperties: false,
    properties: {
      active: { type: 'integer', minimum: 1, description: 'How many secrets sign each delivery.' },
      previousExpireAt: { type: 'array', items: dateTime, description: 'When rotated-out secrets stop.' },
    },
  },
  createdAt: dateTime,
  updatedAt: dateTime,
};
const subscriptionRequired = Object.keys(subscriptionProperties);

/** The writable fields of a subscription, as create and patch take them. */
const subscriptionInputProperties: Record<string, Schema> = {
  url: {
    type: 'string',
    description:
      'An absolute http(s) URL, checked against the SSRF policy when saved and before every attempt.',
    maxLength: subscriptionLimits.maxUrlChars,
  },
  eventTypes: {
    type: 'array',
    minItems: 1,
    maxItems: subscriptionLimits.maxEventTypes,
    items: { type: 'string', maxLength: subscriptionLimits.maxEventTypeChars },
  },
  description: { type: 'string', maxLength: subscriptionLimits.maxDescriptionChars },
  enabled: { type: 'boolean' },
  rateLimitPerSecond: subscriptionProperties.rateLimitPerSecond!,
  maxConcurrency: {
    type: 'integer',
    minimum: 1,
    maximum: subscriptionLimits.maxConcurrency,
    default: subscriptionLimits.defaultMaxConcurrency,
  },
  ordering: { enum: ['none', 'key'], default: 'none' },
  producerIds: {
    type: ['array', 'null'],
    minItems: 1,
    maxItems: subscriptionLimits.maxProducerIds,
    items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
  },
  tenant: {
    ...tenantId,
    type: ['string', 'null'],
    description:
      'The tenant whose events alone it receives; null or absent: global. A key bound to a tenant may only give its own tenant (absent: its tenant on create, unchanged on patch); another tenant, or null, is 403 SLUICE_TENANT_FORBIDDEN.',
  },
  filter: { oneOf: [payloadFilter, { type: 'null' }] },
  headers: {
    type: ['object', 'null'],
    description: `${headersDescription} \`{"value": "…", "secret": true}\` marks a secret one, encrypted at rest like signing secrets and never shown again; in a PATCH, which replaces the whole set, \`{"secret": true}\` alone keeps the value stored under that name. Null: none.`,
    propertyNames: headerName,
    additionalProperties: {
      oneOf: [
        { type: 'string', minLength: 1, maxLength: customHeaderLimits.maxValueChars },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            value: { type: 'string', minLength: 1, maxLength: customHeaderLimits.maxValueChars },
            secret: { type: 'boolean' },
          },
        },
      ],
    },
    examples: [{ 'X-Api-Key': 'k_live_1', Authorization: { value: 'Bearer eyJhbGciOi…', secret: true } }],
  },
  retry: {
    type: ['object', 'null'],
    description: retryDescription,
    additionalProperties: false,
    minProperties: 1,
    properties: {
      schedule: {
        type: ['array', 'null'],
        minItems: 1,
        items: { type: 'string' },
        examples: [['30s', '10m']],
      },
      maxAttempts: { type: ['integer', 'null'], minimum: 1 },
    },
  },
  timeoutMs: { type: ['integer', 'null'], minimum: 100, description: timeoutDescription },
};

const batchItemErrorCodes: ErrorCode[] = [
  'SLUICE_MALFORMED_REQUEST',
  'SLUICE_EVENT_TYPE_FORBIDDEN',
  'SLUICE_TENANT_FORBIDDEN',
  'SLUICE_IDEMPOTENCY_IN_FLIGHT',
  'SLUICE_EVENT_TOO_LARGE',
  'SLUICE_UNKNOWN_EVENT_TYPE',
  'SLUICE_EVENT_TYPE_DEPRECATED',
  'SLUICE_SCHEMA_INVALID',
];

const verificationSchema: SchemaObject = {
  type: 'object',
  required: ['scheme'],
  description:
    'How requests are verified. Options by scheme: stripe and standard-webhooks `toleranceSeconds` (default 300); hmac `header`, `algorithm` (sha256 | sha512 | sha1), `encoding` (hex | base64), `prefix`, `signed` (body | timestamp.body), `timestampHeader`, `toleranceSeconds`; header-token `header`, `prefix`.',
  properties: {
    scheme: { enum: [...schemes] },
    toleranceSeconds: { type: 'integer', minimum: 1, maximum: sourceLimits.maxToleranceSeconds },
    header: { type: 'string' },
    algorithm: { enum: ['sha256', 'sha512', 'sha1'] },
    encoding: { enum: ['hex', 'base64'] },
    prefix: { type: 'string', maxLength: 50 },
    signed: { enum: ['body', 'timestamp.body'] },
    timestampHeader: { type: 'string' },
  },
};
const eventTypeRuleSchema: SchemaObject = {
  type: 'object',
  description:
    'Where the event type comes from; the source name is put before it (`stripe.` + `payment_intent.succeeded`), `/` becomes `.`.',
  required: ['from'],
  properties: {
    from: { enum: ['fixed', 'body', 'header'] },
    value: { type: 'string' },
    path: { type: 'string', description: 'Dotted path into the JSON body.' },
    name: { type: 'string', description: 'Header name.' },
  },
};
const eventIdRuleSchema: SchemaObject = {
  type: 'object',
  description: 'Where the provider’s event id comes from (deduplication); `hash`: SHA-256 of the body.',
  required: ['from'],
  properties: {
    from: { enum: ['body', 'header', 'hash'] },
    path: { type: 'string' },
    name: { type: 'string' },
  },
};
const sourceInputProperties: Record<string, Schema> = {
  name: {
    type: 'string',
    pattern: '^[a-z][a-z0-9_]{0,39}$',
    description: 'The prefix of every event type of this source.',
  },
  description: { type: 'string', maxLength: sourceLimits.maxDescriptionChars },
  verification: verificationSchema,
  eventType: {
    ...eventTypeRuleSchema,
    description: `${eventTypeRuleSchema.description} Defaults per scheme.`,
  },
  eventId: eventIdRuleSchema,
  ratePerSecond: { type: 'number', exclusiveMinimum: 0 },
  burst: { type: 'integer', minimum: 1 },
  priority: { enum: ['critical', 'normal', 'bulk'] },
  maxBodyBytes: { type: 'integer', minimum: 1, maximum: sourceLimits.maxBodyBytes },
  enabled: { type: 'boolean' },
};
const sourceSecret: SchemaObject = {
  type: 'string',
  minLength: 1,
  maxLength: sourceLimits.maxSecretChars,
  description: 'The secret the provider signs with (basic: `user:password`); never shown again.',
};
const sourceProperties: Record<string, Schema> = {
  id: { type: 'string', pattern: '^src_[a-z0-9]+$' },
  url: { type: 'string', pattern: '^/in/src_[a-z0-9]+$', description: 'Where the provider posts.' },
  ...sourceInputProperties,
  secrets: {
    type: 'array',
    description: 'Active secrets, masked; during a rotation the previous one with its `expiresAt`.',
    items: {
      type: 'object',
      required: ['masked', 'expiresAt'],
      additionalProperties: false,
      properties: {
        masked: { type: 'string' },
        expiresAt: { type: ['string', 'null'], format: 'date-time' },
      },
    },
  },
  createdAt: dateTime,
  updatedAt: dateTime,
};

const schemas: Record<string, SchemaObject> = {
  Source: {
    type: 'object',
    description: 'An inbound webhook source; its secrets are never shown, only masked.',
    required: Object.keys(sourceProperties),
    additionalProperties: false,
    properties: sourceProperties,
  },
  SourceList: {
    type: 'object',
    required: ['sources'],
    additionalProperties: false,
    properties: { sources: { type: 'array', items: ref('Source') } },
  },
  SourceCreate: {
    type: 'object',
    required: ['name', 'verification', 'secret'],
    additionalProperties: false,
    properties: { ...sourceInputProperties, secret: sourceSecret },
  },
  SourcePatch: {
    type: 'object',
    description: 'Absent fields stay as they are; the secret changes only by rotation.',
    additionalProperties: false,
    properties: sourceInputProperties,
  },
  SourceSecretRotation: {
    type: 'object',
    required: ['secret'],
    additionalProperties: false,
    properties: {
      secret: sourceSecret,
      previousSecretSeconds: {
        type: 'integer',
        minimum: 0,
        maximum: 2_592_000,
        description: 'How long the previous secret keeps verifying (default 86400; 0: stops at once).',
      },
    },
  },
  InboundAccepted: {
    type: 'object',
    required: ['id', 'status'],
    additionalProperties: false,
    properties: {
      id: {
        type: 'string',
        pattern: '^inb_[0-9a-f]{40}$',
        description: 'The event id (`ce_id`, `webhook-id`).',
      },
      status: { const: 'accepted' },
      duplicate: { const: true, description: 'Written before within the idempotency window.' },
    },
  },
  ErrorCode: {
    type: 'string',
    enum: [...clientErrorCodes],
    description: 'The closed catalog of error codes (common/errors.ts). Branch on it, never on `detail`.',
  },
  Problem: {
    type: 'object',
    description:
      'RFC 9457 problem details with a stable `code`. Extension members carry structured details (`field`, `errors`, `reason`, limits…).',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: {
        type: 'string',
        format: 'uri',
        pattern: `^${problemTypeBase.replaceAll('.', '\\.')}[a-z-]+$`,
      },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      code: ref('ErrorCode'),
      instance: { type: 'string' },
      field: {
        type: 'string',
        description: 'The failing field, e.g. `id`, `type` or a data path such as `data.items[2].sku`.',
      },
      reason: { type: 'string', description: 'Why a request was refused (401: the key; 503: the signal).' },
      errors: {
        type: 'array',
        items: fieldProblem,
        description:
          'Every bad field of the request; for a refused schema every problem found, each with the field it concerns (`data.total`).',
      },
      eventType: { type: 'string', description: 'The event type a schema was refused for.' },
      compatibility: {
        ...compatibilityLevel,
        description: 'The level an incompatible schema was checked at.',
      },
      maxBodyBytes: count,
      maxEventBytes: count,
      maxBatchEvents: count,
      maxHeaderBytes: count,
      burst: count,
      matched: count,
      scanned: count,
      maxEvents: count,
      replayId: { type: 'string' },
      queued: count,
      unconfirmed: count,
    },
  },
  Event: {
    type: 'object',
    description: "Sluice's own envelope. Unknown fields are refused, so typos surface.",
    required: ['type', 'data'],
    additionalProperties: false,
    properties: {
      type: eventTypeName,
      id: eventId,
      key: {
        type: 'string',
        minLength: 1,
        description: 'Partition key (at most 1024 bytes); the id when absent.',
      },
      time: { ...dateTime, description: 'RFC 3339; the arrival time when absent.' },
      source: {
        type: 'string',
        minLength: 1,
        maxLength: 1024,
        description: '`/producers/<id>` when absent.',
      },
      tenant: {
        ...tenantId,
        description:
          "The tenant the event belongs to: only that tenant's subscriptions (and global ones) receive it. A key bound to a tenant gives it its tenant when absent and refuses another (403 SLUICE_TENANT_FORBIDDEN).",
      },
      data: { description: "Any JSON value matching the type's current schema (GET /v1/event-types)." },
    },
  },
  CloudEvent: {
    type: 'object',
    description:
      'CloudEvents 1.0, structured mode, JSON data only. The partition key is the `partitionkey` extension, else `subject`; the tenant is the `tenantid` extension (as `tenant` in the Sluice envelope).',
    required: ['specversion', 'type', 'data'],
    properties: {
      specversion: { const: '1.0' },
      type: eventTypeName,
      id: eventId,
      source: { type: 'string', minLength: 1, maxLength: 1024 },
      time: dateTime,
      subject: { type: 'string' },
      partitionkey: { type: 'string' },
      tenantid: tenantId,
      datacontenttype: { type: 'string', pattern: '^application/(.+\\+)?json' },
      data: {},
      data_base64: { not: {}, description: 'Not supported: event data must be JSON.' },
    },
  },
  Accepted: {
    type: 'object',
    required: ['id', 'status'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      status: { const: 'accepted' },
      duplicate: { const: true, description: 'Accepted before: not written again.' },
    },
  },
  BatchResult: {
    type: 'object',
    required: ['accepted', 'rejected', 'results'],
    additionalProperties: false,
    properties: {
      accepted: count,
      rejected: count,
      results: {
        type: 'array',
        description: 'One result per event, in request order.',
        items: {
          type: 'object',
          required: ['index', 'id', 'status'],
          additionalProperties: false,
          properties: {
            index: count,
            id: { type: ['string', 'null'], description: 'null when the event could not be read.' },
            status: { type: 'integer', description: '202, or the status of the error.' },
            duplicate: { const: true },
            error: {
              type: 'object',
              required: ['code', 'detail'],
              properties: {
                code: { enum: batchItemErrorCodes },
                detail: { type: 'string' },
                field: { type: 'string' },
                type: { type: 'string', description: 'The event type, for type and schema errors.' },
                maxEventBytes: count,
              },
            },
          },
        },
      },
    },
  },
  EventTypeList: {
    type: 'object',
    required: ['eventTypes'],
    additionalProperties: false,
    properties: {
      eventTypes: {
        type: 'array',
        items: {
          type: 'object',
          required: [
            'type',
            'description',
            'deprecated',
            'deprecatedAt',
            'version',
            'schemaId',
            'versions',
            'avroSchema',
            'jsonSchema',
          ],
          additionalProperties: false,
          properties: {
            type: eventTypeName,
            description: { type: ['string', 'null'] },
            deprecated: {
              type: 'boolean',
              description: 'New events of a deprecated type are refused; its records still decode.',
            },
            deprecatedAt: { type: ['string', 'null'], format: 'date-time' },
            version: {
              type: 'integer',
              minimum: 1,
              description:
                'The version new events are written with (for a deprecated type: the last one there was).',
            },
            schemaId: { type: 'integer', minimum: 0, description: 'Its id in the Confluent wire header.' },
            versions: {
              type: 'array',
              items: {
                type: 'object',
                required: ['version', 'schemaId'],
                additionalProperties: false,
                properties: { version: { type: 'integer', minimum: 1 }, schemaId: { type: 'integer' } },
              },
            },
            avroSchema: { description: 'The Avro schema (JSON) of that version.' },
            jsonSchema: { type: 'object', description: 'The equivalent JSON Schema (2020-12) of `data`.' },
          },
        },
      },
    },
  },
  EventTypeRegistration: {
    type: 'object',
    required: ['type', 'schema'],
    additionalProperties: false,
    properties: {
      type: registeredTypeName,
      schema: {
        oneOf: [{ type: 'object' }, { type: 'string' }],
        description:
          'An Avro record schema, as an object or its JSON text (at most 256 KiB). Its record name must not be the record name of another type.',
      },
      description: {
        type: ['string', 'null'],
        maxLength: eventTypeLimits.maxDescriptionChars,
        description: "The schema's `doc` when absent.",
      },
      example: { description: 'Valid `data` of the type: checked against the schema.' },
      compatibility: {
        ...compatibilityLevel,
        description:
          "Stored as the type's own level, and the schema is checked at it. Absent: the type's level, else the global one (BACKWARD).",
      },
    },
  },
  EventTypeRegistered: {
    type: 'object',
    required: ['type', 'version', 'schemaId', 'created', 'compatibility'],
    additionalProperties: false,
    properties: {
      type: registeredTypeName,
      version: { type: 'integer', minimum: 1 },
      schemaId,
      created: { type: 'boolean', description: 'False: the type already held this schema.' },
      compatibility: compatibilityLevel,
    },
  },
  EventType: {
    type: 'object',
    required: [
      'type',
      'description',
      'example',
      'compatibility',
      'deprecated',
      'deprecatedAt',
      'version',
      'schemaId',
      'avroSchema',
      'jsonSchema',
      'versions',
    ],
    additionalProperties: false,
    properties: {
      type: registeredTypeName,
      description: { type: ['string', 'null'] },
      example: { description: 'Valid `data` registered with the shown version; null when none was.' },
      compatibility: { ...compatibilityLevel, description: 'The level the next version is checked at.' },
      deprecated: { type: 'boolean' },
      deprecatedAt: { type: ['string', 'null'], format: 'date-time' },
      version: {
        type: 'integer',
        minimum: 1,
        description: 'The version new events are written with (deprecated: the last one there was).',
      },
      schemaId,
      avroSchema: avroSchemaJson,
      jsonSchema: {
        type: ['object', 'null'],
        description: 'The equivalent JSON Schema (2020-12) of `data`.',
      },
      versions: {
        type: 'array',
        description: 'Every version, oldest first.',
        items: {
          type: 'object',
          required: ['version', 'schemaId', 'registeredAt', 'deleted'],
          additionalProperties: false,
          properties: {
            version: { type: 'integer', minimum: 1 },
            schemaId,
            registeredAt: dateTime,
            deleted: { type: 'boolean', description: 'Deprecated; records written with it still decode.' },
          },
        },
      },
    },
  },
  CompatibilityChange: {
    type: 'object',
    required: ['compatibility'],
    additionalProperties: false,
    properties: {
      compatibility: {
        enum: [...COMPATIBILITY_LEVELS, null],
        description: 'null: follow the global level again.',
      },
    },
  },
  CompatibilitySetting: {
    type: 'object',
    required: ['type', 'compatibility'],
    additionalProperties: false,
    properties: { type: registeredTypeName, compatibility: compatibilityLevel },
  },
  EventTypeDeprecated: {
    type: 'object',
    required: ['type', 'deprecated', 'deprecatedAt', 'versions'],
    additionalProperties: false,
    properties: {
      type: registeredTypeName,
      deprecated: { const: true },
      deprecatedAt: dateTime,
      versions: {
        type: 'array',
        items: { type: 'integer', minimum: 1 },
        description: 'The versions this request deprecated; empty when the type already was.',
      },
    },
  },
  Subscription: {
    type: 'object',
    description: 'A subscription; its signing secrets are never shown here.',
    required: subscriptionRequired,
    additionalProperties: false,
    properties: subscriptionProperties,
  },
  SubscriptionWithSecret: {
    type: 'object',
    description: 'A subscription with its current signing secret: shown once, on create and on rotate.',
    required: [...subscriptionRequired, 'secret'],
    additionalProperties: false,
    properties: { ...subscriptionProperties, secret: webhookSecret },
  },
  SubscriptionList: {
    type: 'object',
    required: ['subscriptions'],
    additionalProperties: false,
    properties: { subscriptions: { type: 'array', items: ref('Subscription') } },
  },
  SubscriptionCreate: {
    type: 'object',
    required: ['url', 'eventTypes'],
    additionalProperties: false,
    properties: {
      ...subscriptionInputProperties,
      secret: { ...webhookSecret, description: 'Generated when absent.' },
    },
  },
  SubscriptionPatch: {
    type: 'object',
    description: 'Absent fields stay as they are; the secret changes only by rotation.',
    additionalProperties: false,
    properties: subscriptionInputProperties,
  },
  SecretRotation: {
    type: 'object',
    additionalProperties: false,
    properties: { secret: { ...webhookSecret, description: 'The new secret; generated when absent.' } },
  },
  ReplayRequest: {
    type: 'object',
    required: ['from'],
    additionalProperties: false,
    properties: {
      from: { ...dateTime, description: 'Inclusive; within the events topic retention.' },
      to: {
        type: ['string', 'null'],
        format: 'date-time',
        description: 'Exclusive; now when absent or later.',
      },
      dryRun: { type: 'boolean', default: false },
    },
  },
  ReplayDryRun: {
    type: 'object',
    required: ['matched', 'scanned', 'from', 'to'],
    additionalProperties: false,
    properties: { matched: count, scanned: count, from: dateTime, to: dateTime },
  },
  ReplayQueued: {
    type: 'object',
    required: ['replayId', 'queued', 'scanned', 'from', 'to'],
    additionalProperties: false,
    properties: { replayId: { type: 'string' }, queued: count, scanned: count, from: dateTime, to: dateTime },
  },
  EnableRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      recover: {
        type: 'boolean',
        default: false,
        description:
          'Replay what the subscription missed while disabled: the events of [disabledAt, now), through subscription replay.',
      },
    },
  },
  EnableResult: {
    type: 'object',
    required: ['subscription', 'recovery'],
    additionalProperties: false,
    properties: {
      subscription: ref('Subscription'),
      recovery: {
        oneOf: [ref('ReplayQueued'), { type: 'null' }],
        description: 'The recovery replay, when `recover` was asked for.',
      },
    },
  },
  Attempt: {
    type: 'object',
    description: 'One delivery attempt, or a decision that took its place (filtered, disabled).',
    required: [
      'attemptId',
      'eventId',
      'eventType',
      'producerId',
      'subscriptionId',
      'attempt',
      'attemptedAt',
      'latencyMs',
      'statusCode',
      'errorClass',
      'responseHeaders',
      'responseBody',
      'responseBodyTruncated',
      'outcome',
      'nextAttemptAt',
      'replayId',
    ],
    additionalProperties: false,
    properties: {
      attemptId: { type: 'string', format: 'uuid' },
      eventId: { type: 'string' },
      eventType: { type: 'string' },
      producerId: { type: 'string' },
      subscriptionId: { type: 'string' },
      attempt: { type: 'integer', minimum: 1 },
      attemptedAt: dateTime,
      latencyMs: { type: ['number', 'null'], minimum: 0 },
      statusCode: { type: ['integer', 'null'] },
      errorClass: {
        type: ['string', 'null'],
        description:
          'Why there was no usable answer: `timeout`, `connect`, `tls`, `network`, `ssrf`, `breaker-open`, …',
      },
      responseHeaders: { type: 'object', additionalProperties: { type: 'string' } },
      responseBody: {
        type: ['string', 'null'],
        description: 'The first SLUICE_LOG_RESPONSE_BODY_BYTES of the response body, as UTF-8.',
      },
      responseBodyTruncated: { type: 'boolean' },
      outcome: { enum: ['delivered', 'retry-scheduled', 'dead-lettered', 'filtered', 'disabled'] },
      nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
      replayId: { type: ['string', 'null'], description: 'The replay or resend that made this attempt.' },
    },
  },
  EventStatus: {
    type: 'object',
    required: ['id', 'subscriptions'],
    additionalProperties: false,
    properties: {
      id: { type: 'string' },
      subscriptions: {
        type: 'array',
        description:
          'One entry per subscription (and producer: event ids are unique per producer) with an attempt recorded, from its latest attempt.',
        items: {
          type: 'object',
          required: [
            'subscriptionId',
            'producerId',
            'eventType',
            'status',
            'nextAttemptAt',
            'attempts',
            'lastAttempt',
          ],
          additionalProperties: false,
          properties: {
            subscriptionId: { type: 'string' },
            producerId: { type: 'string' },
            eventType: { type: 'string' },
            status: { enum: ['delivered', 'retrying', 'dead-lettered', 'filtered', 'disabled'] },
            nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
            attempts: { type: 'integer', minimum: 1 },
            lastAttempt: ref('Attempt'),
          },
        },
      },
    },
  },
  EventAttempts: {
    type: 'object',
    required: ['id', 'attempts'],
    additionalProperties: false,
    properties: { id: { type: 'string' }, attempts: { type: 'array', minItems: 1, items: ref('Attempt') } },
  },
  AttemptPage: {
    type: 'object',
    required: ['attempts', 'nextCursor'],
    additionalProperties: false,
    properties: {
      attempts: { type: 'array', items: ref('Attempt') },
      nextCursor: {
        type: ['string', 'null'],
        description: 'Pass as `cursor` for the next page; null on the last.',
      },
    },
  },
  WindowStats: {
    type: 'object',
    required: ['attempts', 'delivered', 'successRate', 'latencyMs'],
    additionalProperties: false,
    properties: {
      attempts: {
        ...count,
        description: 'Attempts that sent a request (delivered, retry scheduled, dead-lettered).',
      },
      delivered: count,
      successRate: { type: ['number', 'null'], minimum: 0, maximum: 1 },
      latencyMs: {
        type: 'object',
        required: ['p50', 'p95', 'p99'],
        additionalProperties: false,
        properties: {
          p50: { type: ['number', 'null'] },
          p95: { type: ['number', 'null'] },
          p99: { type: ['number', 'null'] },
        },
      },
    },
  },
  SubscriptionStats: {
    type: 'object',
    required: [
      'subscriptionId',
      'lastHour',
      'lastDay',
      'lastSuccessAt',
      'lastFailureAt',
      'consecutiveFailures',
    ],
    additionalProperties: false,
    properties: {
      subscriptionId: { type: 'string' },
      lastHour: ref('WindowStats'),
      lastDay: ref('WindowStats'),
      lastSuccessAt: { type: ['string', 'null'], format: 'date-time' },
      lastFailureAt: { type: ['string', 'null'], format: 'date-time' },
      consecutiveFailures: { ...count, description: 'Failed attempts since the last success.' },
    },
  },
  ResendQueued: {
    type: 'object',
    required: ['replayId', 'eventId', 'subscriptionId', 'source'],
    additionalProperties: false,
    properties: {
      replayId: { type: 'string', description: 'The resend’s own deduplication identity.' },
      eventId: { type: 'string' },
      subscriptionId: { type: 'string' },
      source: ref('RecordPosition'),
    },
  },
  RecordPosition: {
    type: 'object',
    required: ['topic', 'partition', 'offset'],
    additionalProperties: false,
    properties: {
      topic: { type: 'string' },
      partition: count,
      offset: { type: 'string', pattern: '^[0-9]+$' },
    },
  },
  DeadLetterSummary: {
    type: 'object',
    required: [
      'id',
      'deadLetteredAt',
      'eventId',
      'eventType',
      'producerId',
      'subscriptionId',
      'reason',
      'attempts',
      'lastStatus',
      'lastError',
      'source',
    ],
    properties: {
      id: { type: 'string', description: '`<topic>-<partition>-<offset>` of the dead letter.' },
      deadLetteredAt: dateTime,
      eventId: { type: ['string', 'null'] },
      eventType: { type: ['string', 'null'] },
      producerId: { type: ['string', 'null'] },
      subscriptionId: {
        type: ['string', 'null'],
        description: 'Null for poison records (undecodable events).',
      },
      reason: { type: 'string', examples: ['retries-exhausted', 'expired', 'invalid-avro'] },
      attempts: count,
      lastStatus: { type: ['integer', 'null'] },
      lastError: { type: ['string', 'null'] },
      source: {
        oneOf: [ref('RecordPosition'), { type: 'null' }],
        description: 'The events-topic record the delivery started from.',
      },
    },
  },
  DeadLetterPage: {
    type: 'object',
    required: ['deadLetters', 'nextCursor'],
    additionalProperties: false,
    properties: {
      deadLetters: {
        type: 'array',
        items: ref('DeadLetterSummary'),
      },
      nextCursor: { type: ['string', 'null'] },
    },
  },
  DeadLetter: {
    type: 'object',
    allOf: [ref('DeadLetterSummary')],
    required: ['key', 'headers', 'payload', 'payloadError'],
    properties: {
      key: { type: ['string', 'null'], description: 'The record key (the partition key), as UTF-8.' },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      payload: {
        description:
          'The event as the webhook body carries it, `{type, timestamp, data}`; null when it cannot be decoded.',
        oneOf: [
          {
            type: 'object',
            required: ['type', 'timestamp', 'data'],
            additionalProperties: false,
            properties: { type: { type: 'string' }, timestamp: { type: 'string' }, data: { type: 'object' } },
          },
          { type: 'null' },
        ],
      },
      payloadError: { type: ['string', 'null'] },
    },
  },
  DeadLetterReplayRequest: {
    type: 'object',
    description: 'Selects the dead letters matching every given field; none given: every dead letter.',
    additionalProperties: false,
    properties: {
      ids: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string' } },
      subscription: { type: 'string' },
      reason: { type: 'string' },
      since: dateTime,
      until: dateTime,
      dryRun: { type: 'boolean', default: false },
    },
  },
  DeadLetterReplayResult: {
    type: 'object',
    required: ['dryRun', 'selected', 'skippedWithoutSubscription', 'bySubscription', 'notFound'],
    additionalProperties: false,
    properties: {
      dryRun: { type: 'boolean' },
      selected: count,
      replayable: { ...count, description: 'Dry run: what a replay would write.' },
      replayed: { ...count, description: 'Written to the first retry tier and acknowledged by Kafka.' },
      skippedWithoutSubscription: count,
      bySubscription: { type: 'object', additionalProperties: count },
      notFound: { type: 'array', items: { type: 'string' } },
    },
  },
  Readiness: {
    type: 'object',
    required: ['status', 'reasons'],
    additionalProperties: false,
    properties: {
      status: { enum: ['ready', 'not-ready'] },
      reasons: { type: 'array', items: { type: 'string' } },
    },
  },
};

// ---- operations ----------------------------------------------------------------------------------

const cloudEventHeaders: ParameterObject[] = [
  [
    'ce-specversion',
    'CloudEvents binary mode: `1.0`. With it, the `application/json` body is the event data.',
  ],
  ['ce-type', 'Binary mode: the event type.'],
  ['ce-id', 'Binary mode: the event id (idempotency key).'],
  ['ce-source', 'Binary mode: the source.'],
  ['ce-time', 'Binary mode: the event time (RFC 3339).'],
  ['ce-subject', 'Binary mode: the partition key when `ce-partitionkey` is absent.'],
  ['ce-partitionkey', 'Binary mode: the partition key.'],
  ['ce-tenantid', 'Binary mode: the tenant the event belongs to (the `tenantid` extension).'],
].map(([name, description]) => ({
  name: name!,
  in: 'header',
  required: false,
  description,
  schema: { type: 'string' },
}));

const unauthenticated = problem(401, 'No, a malformed or an unknown API key.');
const notAdmin = problem(403, 'The API key is not an admin key.', { codes: ['SLUICE_FORBIDDEN'] });
/** The 403 of a route tenant keys may call for their own tenant's subscriptions. */
const notAdminNorTenant = problem(
  403,
  "A producer key not bound to a tenant (SLUICE_FORBIDDEN), or a tenant key and another tenant's subscription, a global one, or another tenant named in the body (SLUICE_TENANT_FORBIDDEN).",
  { codes: ['SLUICE_FORBIDDEN', 'SLUICE_TENANT_FORBIDDEN'] },
);
const adminRefusals: ResponsesObject = {
  '401': unauthenticated,
  '403': notAdmin,
  '503': problem(503, 'Shutting down, or Kafka did not take the write.', {
    codes: ['SLUICE_SHUTTING_DOWN', 'SLUICE_KAFKA_UNAVAILABLE'],
  }),
};
const bodyRefusals: ResponsesObject = {
  '413': problem(413, 'The body exceeds 64 KiB.', { codes: ['SLUICE_BODY_TOO_LARGE'] }),
  '415': problem(415, 'The body is not `application/json`.'),
};
const noSuchSubscription = problem(404, 'No subscription with this id.');
const noSuchEventType = problem(404, 'No event type of this name was ever registered.', {
  codes: ['SLUICE_NOT_FOUND'],
});
const eventTypeParameter: ParameterObject = {
  name: 'type',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  examples: { type: { value: 'shipment.delayed' } },
};
const eventTypeOperation = (
  operation: Omit<OperationObject, 'responses'>,
  responses: ResponsesObject,
): OperationObject => adminOperation({ tags: ['event types'], ...operation }, responses);
const subscriptionId: ParameterObject = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  examples: { id: { value: 'sub_7k2m4q6s8u2w4y6a8c2e4g6i8k' } },
};
const noStore = { 'Cache-Control': stringHeader('Never cached.', '^no-store$') };
const eventTypeLocation = stringHeader('The event type.', '^/v1/event-types/[a-z0-9_.]+$');

function ingestOperation(mode: 'single' | 'batch'): OperationObject {
  const single = mode === 'single';
  const limited = (status: number, description: string, codes: ErrorCode[]) =>
    problem(status, description, { codes, headers: { ...rateLimitHeaders } });
  return {
    operationId: single ? 'sendEvent' : 'sendEventBatch',
    tags: ['ingest'],
    summary: single ? 'Send one event' : 'Send a batch of events',
    description: single
      ? 'Answers 202 once Kafka acknowledged the write (acks=all). Takes Sluice JSON, CloudEvents structured mode, or CloudEvents binary mode (`ce-*` headers with an `application/json` body that is the data).'
      : 'Each event is checked on its own: valid events are written even when others are not. 202 when every event was accepted, 207 with one result per event otherwise. Each event costs one token of the rate limit.',
    parameters: single ? cloudEventHeaders : [],
    requestBody: {
      required: true,
      content: single
        ? {
            'application/json': { schema: ref('Event') },
            'application/cloudevents+json': { schema: ref('CloudEvent') },
          }
        : {
            'application/json': { schema: { type: 'array', minItems: 1, items: ref('Event') } },
            'application/cloudevents-batch+json': {
              schema: { type: 'array', minItems: 1, items: ref('CloudEvent') },
            },
            'application/x-ndjson': {
              schema: {
                type: 'string',
                description: 'One Event per line; a line that is not JSON fails alone.',
              },
            },
          },
    },
    responses: {
      ...(single
        ? {
            '202': {
              description: 'Accepted: Kafka acknowledged the write (or it is a duplicate of one it did).',
              headers: rateLimitHeaders,
              content: json(ref('Accepted')),
            },
          }
        : {
            '202': {
              description: 'Every event was accepted.',
              headers: rateLimitHeaders,
              content: json({
                type: 'object',
                allOf: [ref('BatchResult')],
                properties: { rejected: { const: 0 } },
              }),
            },
            '207': {
              description: 'Some events were refused; the others were written.',
              headers: rateLimitHeaders,
              content: json({
                type: 'object',
                allOf: [ref('BatchResult')],
                properties: { rejected: { type: 'integer', minimum: 1 } },
              }),
            },
          }),
      ...routerProblems,
      '400': problem(400, 'Not JSON, an unreadable envelope field (named in `field`), or an empty batch.', {
        headers: { RateLimit: optional(rateLimit), 'RateLimit-Policy': optional(rateLimitPolicy) },
      }),
      '401': unauthenticated,
      ...(single
        ? {
            '403': limited(
              403,
              'The event type is not allowed for this API key, or the event names another tenant than the key is bound to.',
              ['SLUICE_EVENT_TYPE_FORBIDDEN', 'SLUICE_TENANT_FORBIDDEN'],
            ),
            '409': limited(409, 'An event with this id is being written; retry after Retry-After.', [
              'SLUICE_IDEMPOTENCY_IN_FLIGHT',
            ]),
          }
        : {}),
      '413': problem(
        413,
        single
          ? 'The body exceeds SLUICE_MAX_REQUEST_BYTES, or the encoded event SLUICE_MAX_EVENT_BYTES.'
          : 'The body exceeds SLUICE_MAX_BATCH_BYTES, more events than SLUICE_MAX_BATCH_EVENTS, or more than the key’s burst.',
        {
          codes: single
            ? ['SLUICE_BODY_TOO_LARGE', 'SLUICE_EVENT_TOO_LARGE']
            : ['SLUICE_BODY_TOO_LARGE', 'SLUICE_BATCH_TOO_LARGE'],
          headers: { RateLimit: optional(rateLimit), 'RateLimit-Policy': optional(rateLimitPolicy) },
        },
      ),
      '415': problem(415, 'A content type this route does not take.'),
      ...(single
        ? {
            '422': limited(
              422,
              'No schema for the type, the type is deprecated, or the data does not match it (`field`).',
              ['SLUICE_UNKNOWN_EVENT_TYPE', 'SLUICE_EVENT_TYPE_DEPRECATED', 'SLUICE_SCHEMA_INVALID'],
            ),
          }
        : {}),
      '429': problem(429, 'The API key’s token bucket is empty.', { headers: { ...rateLimitHeaders } }),
      '503': problem(503, 'Shed under load, Kafka did not acknowledge in time, or shutting down.', {
        codes: ['SLUICE_OVERLOADED', 'SLUICE_KAFKA_UNAVAILABLE', 'SLUICE_SHUTTING_DOWN'],
      }),
    },
  };
}

function adminOperation(
  operation: Omit<OperationObject, 'responses'>,
  responses: ResponsesObject,
): OperationObject {
  return {
    tags: ['subscriptions'],
    ...operation,
    responses: { ...routerProblems, ...adminRefusals, ...responses },
  };
}

/** A subscription route: admin keys, and keys bound to a tenant for that tenant's subscriptions. */
function subscriptionOperation(
  operation: Omit<OperationObject, 'responses'>,
  responses: ResponsesObject,
): OperationObject {
  return adminOperation(operation, { '403': notAdminNorTenant, ...responses });
}

const logUnavailable = (writes: boolean) =>
  problem(
    503,
    writes
      ? 'Shutting down, the log database is down or not migrated, or Kafka did not take the write.'
      : 'Shutting down, or the log database is down or not migrated.',
    {
      codes: [
        'SLUICE_SHUTTING_DOWN',
        'SLUICE_LOG_UNAVAILABLE',
        ...(writes ? (['SLUICE_KAFKA_UNAVAILABLE'] as const) : []),
      ],
    },
  );
const logDisabled = problem(501, 'The gateway has no log database (SLUICE_LOG_DATABASE_URL unset).');
const noAttempts = problem(
  404,
  'No attempt of this event is recorded (or it is another producer’s event): not sent yet, matched by no subscription, unknown, or past retention.',
  { codes: ['SLUICE_NOT_FOUND'] },
);
const invalidQuery = problem(400, 'A bad query parameter, named in `field`.', {
  codes: ['SLUICE_INVALID_QUERY'],
});
const eventIdParameter: ParameterObject = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
};
const queryParameter = (name: string, description: string, schema: SchemaObject): ParameterObject => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const pageParameters: ParameterObject[] = [
  queryParameter('since', 'Inclusive lower bound, RFC 3339.', dateTime),
  queryParameter('until', 'Exclusive upper bound, RFC 3339.', dateTime),
  queryParameter('limit', 'Page size.', { type: 'integer', minimum: 1, maximum: 100, default: 50 }),
  queryParameter('cursor', 'The `nextCursor` of the previous page, as it is.', { type: 'string' }),
];

/**
 * A delivery-log route: admin keys unless `anyKey` (every key) or `tenantKeys` (tenant keys too,
 * for their tenant's subscriptions); `writes` when it queues records in Kafka.
 */
function logOperation(
  operation: Omit<OperationObject, 'responses'>,
  responses: ResponsesObject,
  options: { anyKey?: boolean; tenantKeys?: boolean; writes?: boolean } = {},
): OperationObject {
  return {
    tags: ['delivery log'],
    ...operation,
    responses: {
      ...routerProblems,
      '401': unauthenticated,
      ...(options.anyKey === true
        ? {}
        : { '403': options.tenantKeys === true ? notAdminNorTenant : notAdmin }),
      '501': logDisabled,
      '503': logUnavailable(options.writes === true),
      ...responses,
    },
  };
}
const sourceId: ParameterObject = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  examples: { id: { value: 'src_7k2m4q6s8u2w4y6a8c2e4g6i8k' } },
};
const noSuchSource = problem(404, 'No source with this id.', { codes: ['SLUICE_NOT_FOUND'] });
const sourceOperation = (
  operation: Omit<OperationObject, 'responses'>,
  responses: ResponsesObject,
): OperationObject => adminOperation({ tags: ['inbound'], ...operation }, responses);
const sourceInvalid = problem(422, 'Every bad field in `errors`.', { codes: ['SLUICE_INVALID_SOURCE'] });

const sourcePaths: Record<string, PathItemObject> = {
  '/v1/sources': {
    post: sourceOperation(
      {
        operationId: 'createSource',
        summary: 'Create an inbound webhook source',
        requestBody: { required: true, content: json(ref('SourceCreate')) },
      },
      {
        '201': {
          description: 'Created; post the provider’s webhooks to its `url`.',
          headers: { Location: stringHeader('The new source.', '^/v1/sources/src_[a-z0-9]+$'), ...noStore },
          content: json(ref('Source')),
        },
        '400': problem(400, 'No body, or not JSON.'),
        ...bodyRefusals,
        '422': sourceInvalid,
      },
    ),
    get: sourceOperation(
      { operationId: 'listSources', summary: 'List inbound sources' },
      { '200': { description: 'Every source.', headers: noStore, content: json(ref('SourceList')) } },
    ),
  },
  '/v1/sources/{id}': {
    parameters: [sourceId],
    get: sourceOperation(
      { operationId: 'getSource', summary: 'Read an inbound source' },
      {
        '200': { description: 'The source.', headers: noStore, content: json(ref('Source')) },
        '404': noSuchSource,
      },
    ),
    patch: sourceOperation(
      {
        operationId: 'updateSource',
        summary: 'Change some fields of an inbound source',
        requestBody: { required: true, content: json(ref('SourcePatch')) },
      },
      {
        '200': { description: 'The updated source.', headers: noStore, content: json(ref('Source')) },
        '400': problem(400, 'No body, or not JSON.'),
        '404': noSuchSource,
        ...bodyRefusals,
        '422': sourceInvalid,
      },
    ),
    delete: sourceOperation(
      { operationId: 'deleteSource', summary: 'Delete an inbound source' },
      { '204': { description: 'Deleted.', headers: noStore }, '404': noSuchSource },
    ),
  },
  '/v1/sources/{id}/rotate-secret': {
    parameters: [sourceId],
    post: sourceOperation(
      {
        operationId: 'rotateSourceSecret',
        summary: 'Rotate the secret of an inbound source',
        description:
          'The new secret verifies at once; the previous one keeps verifying beside it for `previousSecretSeconds`. At most two are active.',
        requestBody: { required: true, content: json(ref('SourceSecretRotation')) },
      },
      {
        '200': { description: 'The source, secrets masked.', headers: noStore, content: json(ref('Source')) },
        '400': problem(400, 'No body, or not JSON.'),
        '404': noSuchSource,
        ...bodyRefusals,
        '422': sourceInvalid,
      },
    ),
  },
  '/in/{id}': {
    parameters: [sourceId],
    post: {
      operationId: 'receiveInboundWebhook',
      tags: ['inbound'],
      summary: 'Receive a third party’s webhook',
      description:
        'No API key: the source’s scheme verifies the exact body bytes before anything is parsed. Answers 202 only after Kafka acknowledged the one record (type `sluice.inbound_webhook`, `ce_type` the derived type); a repeat of a provider event id within the idempotency window answers 202 with `duplicate` and writes nothing.',
      security: [],
      requestBody: {
        required: true,
        content: { '*/*': { schema: { description: 'Any bytes, as the provider sends them.' } } },
      },
      responses: {
        '202': { description: 'Written (or written before).', content: json(ref('InboundAccepted')) },
        ...routerProblems,
        '400': problem(400, 'The body has no event type or id where the source reads them (e.g. not JSON).', {
          codes: ['SLUICE_MALFORMED_REQUEST'],
        }),
        '401': problem(401, 'Signature or credentials missing, malformed, stale or wrong (`reason`).', {
          codes: ['SLUICE_SIGNATURE_INVALID'],
        }),
        '403': problem(403, 'The source is disabled.', { codes: ['SLUICE_SOURCE_DISABLED'] }),
        '404': problem(404, 'No source with this id.', { codes: ['SLUICE_NOT_FOUND'] }),
        '409': problem(409, 'The same provider event is being written; retry shortly.', {
          codes: ['SLUICE_IDEMPOTENCY_IN_FLIGHT'],
        }),
        '413': problem(413, 'The body exceeds the source’s maxBodyBytes.', {
          codes: ['SLUICE_BODY_TOO_LARGE'],
        }),
        '429': problem(429, 'The source’s token bucket is empty.', { headers: { ...rateLimitHeaders } }),
        '503': problem(503, 'Shed under load, Kafka did not acknowledge in time, or shutting down.', {
          codes: ['SLUICE_OVERLOADED', 'SLUICE_KAFKA_UNAVAILABLE', 'SLUICE_SHUTTING_DOWN'],
        }),
      },
    },
  },
};

const paths: Record<string, PathItemObject> = {
  '/openapi.json': {
    get: {
      operationId: 'getOpenApiDocument',
      tags: ['meta'],
      summary: 'This document',
      security: [],
      responses: {
        '200': {
          description: 'The OpenAPI 3.1 description of the API.',
          content: json({
            type: 'object',
            required: ['openapi', 'info', 'paths'],
            properties: {
              openapi: { type: 'string', pattern: '^3\\.1\\.' },
              info: { type: 'object' },
              paths: { type: 'object' },
            },
          }),
        },
        ...routerProblems,
      },
    },
  },
  '/v1/events': { post: ingestOperation('single') },
  '/v1/events/batch': { post: ingestOperation('batch') },
  '/v1/event-types': {
    get: {
      operationId: 'listEventTypes',
      tags: ['event types'],
      summary: 'Registered event types with their Avro and JSON Schemas',
      description:
        'Any valid API key may read them. Deprecated types are listed too (`deprecated: true`): their records still decode.',
      responses: {
        '200': { description: 'Every registered type.', content: json(ref('EventTypeList')) },
        ...routerProblems,
        '401': unauthenticated,
      },
    },
    post: eventTypeOperation(
      {
        operationId: 'registerEventType',
        summary: 'Register an event type, or a new version of it',
        description:
          "The schema is checked against the type's earlier versions at its compatibility level (BACKWARD unless set). Registering into a deprecated type brings it back: the new version is checked against no earlier one. Every gateway accepts events of the new version within seconds, without a restart.",
        requestBody: { required: true, content: json(ref('EventTypeRegistration')) },
      },
      {
        '200': {
          description: 'The type already holds this schema: its version and id, nothing written.',
          headers: { Location: eventTypeLocation, ...noStore },
          content: json({
            type: 'object',
            allOf: [ref('EventTypeRegistered')],
            properties: { created: { const: false } },
          }),
        },
        '201': {
          description: 'Registered: a new type or a new version of it.',
          headers: { Location: eventTypeLocation, ...noStore },
          content: json({
            type: 'object',
            allOf: [ref('EventTypeRegistered')],
            properties: { created: { const: true } },
          }),
        },
        '400': problem(400, 'No body, or not JSON.'),
        '409': problem(
          409,
          'The schema is not compatible with earlier versions at the type’s level: `field` names the field that breaks (`data.total`), `errors` every problem.',
          { codes: ['SLUICE_SCHEMA_INCOMPATIBLE'] },
        ),
        '413': problem(413, `The body exceeds ${eventTypeLimits.maxBodyBytes / 1024} KiB.`, {
          codes: ['SLUICE_BODY_TOO_LARGE'],
        }),
        '415': bodyRefusals['415']!,
        '422': problem(
          422,
          'A bad field (`errors`: the type name, an example that does not match the schema…), or a schema refused (`SLUICE_SCHEMA_REFUSED`: not JSON or Avro, not a record, against the policy, larger than 256 KiB, or the record name of another type).',
          { codes: ['SLUICE_INVALID_EVENT_TYPE', 'SLUICE_SCHEMA_REFUSED'] },
        ),
      },
    ),
  },
  '/v1/event-types/{type}': {
    parameters: [eventTypeParameter],
    get: {
      operationId: 'getEventType',
      tags: ['event types'],
      summary: 'An event type: every version, its compatibility level and current schema',
      description: 'Any valid API key may read it, deprecated or not.',
      responses: {
        '200': { description: 'The event type.', headers: noStore, content: json(ref('EventType')) },
        ...routerProblems,
        '401': unauthenticated,
        '404': noSuchEventType,
        '503': problem(503, 'Shutting down.', { codes: ['SLUICE_SHUTTING_DOWN'] }),
      },
    },
    delete: eventTypeOperation(
      {
        operationId: 'deprecateEventType',
        summary: 'Deprecate an event type',
        description:
          'A soft delete of every version: new events of the type are refused with 422 `SLUICE_EVENT_TYPE_DEPRECATED`; records already written keep their schema ids, which still resolve, so they decode and are delivered. Registering a new version brings the type back.',
      },
      {
        '200': {
          description: 'Deprecated (or it already was).',
          headers: noStore,
          content: json(ref('EventTypeDeprecated')),
        },
        '404': noSuchEventType,
      },
    ),
  },
  '/v1/event-types/{type}/compatibility': {
    parameters: [eventTypeParameter],
    put: eventTypeOperation(
      {
        operationId: 'setEventTypeCompatibility',
        summary: 'Set the compatibility level of an event type',
        description: 'Applies to versions registered from now on; the versions already registered stay.',
        requestBody: { required: true, content: json(ref('CompatibilityChange')) },
      },
      {
        '200': {
          description: 'The level the next version is checked at.',
          headers: noStore,
          content: json(ref('CompatibilitySetting')),
        },
        '400': problem(400, 'No body, or not JSON.'),
        '404': noSuchEventType,
        ...bodyRefusals,
        '422': problem(422, 'Not a compatibility level (`errors`).', {
          codes: ['SLUICE_INVALID_EVENT_TYPE'],
        }),
      },
    ),
  },
  '/v1/subscriptions': {
    post: subscriptionOperation(
      {
        operationId: 'createSubscription',
        summary: 'Create a subscription',
        requestBody: { required: true, content: json(ref('SubscriptionCreate')) },
      },
      {
        '201': {
          description: 'Created; the signing secret is shown this once.',
          headers: {
            Location: stringHeader('The new subscription.', '^/v1/subscriptions/sub_[a-z0-9]+$'),
            ...noStore,
          },
          content: json(ref('SubscriptionWithSecret')),
        },
        '400': problem(400, 'No body, or not JSON.'),
        ...bodyRefusals,
        '422': problem(
          422,
          'Every bad field in `errors`; SLUICE_URL_FORBIDDEN when the SSRF policy is the only one.',
          {
            codes: ['SLUICE_INVALID_SUBSCRIPTION', 'SLUICE_URL_FORBIDDEN'],
          },
        ),
      },
    ),
    get: subscriptionOperation(
      { operationId: 'listSubscriptions', summary: 'List subscriptions' },
      {
        '200': {
          description:
            'Every subscription the key manages: all for an admin key, its tenant’s for a tenant key.',
          headers: noStore,
          content: json(ref('SubscriptionList')),
        },
      },
    ),
  },
  '/v1/subscriptions/{id}': {
    parameters: [subscriptionId],
    get: subscriptionOperation(
      { operationId: 'getSubscription', summary: 'Read a subscription' },
      {
        '200': { description: 'The subscription.', headers: noStore, content: json(ref('Subscription')) },
        '404': noSuchSubscription,
      },
    ),
    patch: subscriptionOperation(
      {
        operationId: 'updateSubscription',
        summary: 'Change some fields of a subscription',
        requestBody: { required: true, content: json(ref('SubscriptionPatch')) },
      },
      {
        '200': {
          description: 'The updated subscription.',
          headers: noStore,
          content: json(ref('Subscription')),
        },
        '400': problem(400, 'No body, or not JSON.'),
        '404': noSuchSubscription,
        ...bodyRefusals,
        '422': problem(422, 'Every bad field in `errors`.', {
          codes: ['SLUICE_INVALID_SUBSCRIPTION', 'SLUICE_URL_FORBIDDEN'],
        }),
      },
    ),
    delete: subscriptionOperation(
      { operationId: 'deleteSubscription', summary: 'Delete a subscription' },
      { '204': { description: 'Deleted.', headers: noStore }, '404': noSuchSubscription },
    ),
  },
  '/v1/subscriptions/{id}/rotate-secret': {
    parameters: [subscriptionId],
    post: subscriptionOperation(
      {
        operationId: 'rotateSubscriptionSecret',
        summary: 'Rotate the signing secret',
        description: 'The previous secret keeps signing alongside the new one until it expires.',
        requestBody: { required: false, content: json(ref('SecretRotation')) },
      },
      {
        '200': {
          description: 'The subscription with its new secret, shown this once.',
          headers: noStore,
          content: json(ref('SubscriptionWithSecret')),
        },
        '400': problem(400, 'Not JSON.'),
        '404': noSuchSubscription,
        ...bodyRefusals,
        '422': problem(422, 'The secret is not a valid whsec_ secret.', {
          codes: ['SLUICE_INVALID_SUBSCRIPTION'],
        }),
      },
    ),
  },
  '/v1/subscriptions/{id}/replay': {
    parameters: [subscriptionId],
    post: subscriptionOperation(
      {
        operationId: 'replaySubscription',
        summary: 'Redeliver a time window of events to this subscription',
        description:
          'Selects the events Kafka recorded in [from, to) whose type, producer and tenant match the subscription now. A dry run counts them and writes nothing; otherwise they are queued on the first retry tier and the answer comes once Kafka acknowledged all of them, within SLUICE_REPLAY_TIMEOUT_MS.',
        requestBody: { required: true, content: json(ref('ReplayRequest')) },
      },
      {
        '200': {
          description: 'Dry run: what a replay would queue.',
          headers: noStore,
          content: json(ref('ReplayDryRun')),
        },
        '202': { description: 'Queued for delivery.', headers: noStore, content: json(ref('ReplayQueued')) },
        '400': problem(400, 'No body, or not JSON.'),
        '404': noSuchSubscription,
        ...bodyRefusals,
        '422': problem(
          422,
          'A bad window or field (`errors`), a disabled subscription, or more events than SLUICE_REPLAY_MAX_EVENTS (`matched`).',
          { codes: ['SLUICE_INVALID_REPLAY', 'SLUICE_REPLAY_TOO_LARGE'] },
        ),
        '503': problem(
          503,
          'Shutting down, too many replays at once, Kafka failed (also: the retry topic is missing), or the deadline passed (`replayId`, `queued`).',
          {
            codes: [
              'SLUICE_SHUTTING_DOWN',
              'SLUICE_OVERLOADED',
              'SLUICE_KAFKA_UNAVAILABLE',
              'SLUICE_REPLAY_TIMED_OUT',
            ],
          },
        ),
      },
    ),
  },
  '/v1/subscriptions/{id}/enable': {
    parameters: [subscriptionId],
    post: subscriptionOperation(
      {
        operationId: 'enableSubscription',
        summary: 'Enable a disabled subscription, recovering what it missed',
        description:
          'Enables the subscription (clearing `disabledReason`, `disabledAt`, `failingSince`) and publishes `sluice.subscription.enabled`. With `recover`, the events published while it was disabled, [disabledAt, now), are replayed to it (their deliveries due two seconds later, so every worker sees it enabled first). Deliveries dead-lettered before (`subscription-disabled`, `retries-exhausted`) are replayed from the dead-letter topic instead. A refused request changes nothing; an enabled subscription without `recover` answers 200 and writes nothing.',
        requestBody: { required: false, content: json(ref('EnableRequest')) },
      },
      {
        '200': { description: 'Enabled, no recovery.', headers: noStore, content: json(ref('EnableResult')) },
        '202': {
          description: 'Enabled, recovery queued for delivery.',
          headers: noStore,
          content: json(ref('EnableResult')),
        },
        '400': problem(400, 'Not JSON.'),
        '404': noSuchSubscription,
        ...bodyRefusals,
        '422': problem(
          422,
          'A bad field (`errors`); `recover` on a subscription that is not disabled, has no `disabledAt`, or was disabled before the events topic’s retention; or a window of more events than SLUICE_REPLAY_MAX_EVENTS (then the subscription is enabled, `enabled: true`).',
          { codes: ['SLUICE_INVALID_SUBSCRIPTION', 'SLUICE_RECOVERY_REFUSED', 'SLUICE_REPLAY_TOO_LARGE'] },
        ),
        '503': problem(
          503,
          'Shutting down, Kafka failed, or the recovery did not finish in time (the subscription is then enabled, `enabled: true`).',
          {
            codes: [
              'SLUICE_SHUTTING_DOWN',
              'SLUICE_OVERLOADED',
              'SLUICE_KAFKA_UNAVAILABLE',
              'SLUICE_REPLAY_TIMED_OUT',
            ],
          },
        ),
      },
    ),
  },
  '/v1/events/{id}': {
    parameters: [eventIdParameter],
    get: logOperation(
      {
        operationId: 'getEventStatus',
        summary: 'Where an event stands with each subscription',
        description:
          'From the latest recorded attempt per subscription: delivered, retrying (with the next attempt time), dead-lettered, filtered or disabled. The log knows an event only once a worker recorded an attempt: an event not yet tried (or matched by no subscription) is not found, so "pending" cannot be told from "never matched". Any key; a producer key sees only its own events, a key bound to a tenant only the attempts to its tenant’s subscriptions (whoever sent the event).',
      },
      {
        '200': {
          description: 'The status per subscription.',
          headers: noStore,
          content: json(ref('EventStatus')),
        },
        '404': noAttempts,
      },
      { anyKey: true },
    ),
  },
  '/v1/events/{id}/attempts': {
    parameters: [eventIdParameter],
    get: logOperation(
      {
        operationId: 'listEventAttempts',
        summary: 'Every recorded attempt of an event, oldest first',
        description:
          'Any key; a producer key sees only its own events, a key bound to a tenant only the attempts to its tenant’s subscriptions.',
      },
      {
        '200': { description: 'The attempts.', headers: noStore, content: json(ref('EventAttempts')) },
        '404': noAttempts,
      },
      { anyKey: true },
    ),
  },
  '/v1/subscriptions/{id}/attempts': {
    parameters: [
      subscriptionId,
      queryParameter('status', 'Status class.', { enum: ['2xx', '3xx', '4xx', '5xx', 'error'] }),
      queryParameter('outcome', 'Outcome.', {
        enum: ['delivered', 'retry-scheduled', 'dead-lettered', 'filtered', 'disabled'],
      }),
      ...pageParameters,
    ],
    get: logOperation(
      { operationId: 'listSubscriptionAttempts', summary: 'A subscription’s attempts, newest first' },
      {
        '200': { description: 'One page.', headers: noStore, content: json(ref('AttemptPage')) },
        '400': invalidQuery,
        '404': noSuchSubscription,
      },
      { tenantKeys: true },
    ),
  },
  '/v1/subscriptions/{id}/stats': {
    parameters: [subscriptionId],
    get: logOperation(
      {
        operationId: 'getSubscriptionStats',
        summary: 'Success rate and latency percentiles over the last hour and day',
      },
      {
        '200': { description: 'The figures.', headers: noStore, content: json(ref('SubscriptionStats')) },
        '404': noSuchSubscription,
      },
      { tenantKeys: true },
    ),
  },
  '/v1/subscriptions/{id}/events/{eventId}/resend': {
    parameters: [subscriptionId, { ...eventIdParameter, name: 'eventId' }],
    post: logOperation(
      {
        operationId: 'resendEvent',
        summary: 'Deliver one event to one subscription again',
        description:
          'Reads the event’s record back from the events topic (its position is in the log) and queues it on the first retry tier for this subscription only, with a replay id of its own: delivered through the normal path (signed, rate-limited, breaker, retries) even when the first delivery succeeded.',
      },
      {
        '202': { description: 'Queued.', headers: noStore, content: json(ref('ResendQueued')) },
        '404': problem(
          404,
          'No such subscription, or no attempt of this event is recorded (for a tenant key: none to this subscription).',
          {
            codes: ['SLUICE_NOT_FOUND'],
          },
        ),
        '422': problem(
          422,
          'The subscription never had a delivery of this event (it did not match it, or its filters refused it), is disabled, or Kafka no longer holds the record.',
          { codes: ['SLUICE_RESEND_REFUSED'] },
        ),
      },
      { writes: true, tenantKeys: true },
    ),
  },
  '/v1/dead-letters': {
    parameters: [
      queryParameter('subscription', 'Only this subscription’s dead letters.', { type: 'string' }),
      queryParameter('reason', 'Only dead letters of this reason.', { type: 'string' }),
      ...pageParameters,
    ],
    get: logOperation(
      { operationId: 'listDeadLetters', summary: 'Dead letters, newest first' },
      {
        '200': { description: 'One page.', headers: noStore, content: json(ref('DeadLetterPage')) },
        '400': invalidQuery,
      },
    ),
  },
  '/v1/dead-letters/replay': {
    post: logOperation(
      {
        operationId: 'replayDeadLetters',
        summary: 'Send a selection of dead letters through the retry path again',
        description:
          'Each selected dead letter is queued on the first retry tier for a whole new retry schedule (as `sluice dlq replay`). Poison records (no subscription) are skipped. A dry run counts and writes nothing.',
        requestBody: { required: false, content: json(ref('DeadLetterReplayRequest')) },
      },
      {
        '200': { description: 'Dry run.', headers: noStore, content: json(ref('DeadLetterReplayResult')) },
        '202': { description: 'Queued.', headers: noStore, content: json(ref('DeadLetterReplayResult')) },
        '400': problem(400, 'Not JSON.', { codes: ['SLUICE_MALFORMED_REQUEST'] }),
        '404': problem(404, 'None of the named ids exists.', { codes: ['SLUICE_NOT_FOUND'] }),
        ...bodyRefusals,
        '422': problem(422, 'A bad field (`errors`), or more than 10 000 dead letters selected.', {
          codes: ['SLUICE_INVALID_REPLAY', 'SLUICE_REPLAY_TOO_LARGE'],
        }),
      },
      { writes: true },
    ),
  },
  '/v1/dead-letters/{id}': {
    parameters: [{ ...eventIdParameter, description: 'The dead letter’s id.' }],
    get: logOperation(
      { operationId: 'getDeadLetter', summary: 'A dead letter: reason, headers and payload' },
      {
        '200': { description: 'The dead letter.', headers: noStore, content: json(ref('DeadLetter')) },
        '404': problem(404, 'No dead letter with this id.', { codes: ['SLUICE_NOT_FOUND'] }),
      },
    ),
  },
};

/** The admin port's probes: another port, so each path names its own servers. */
const adminServers = [
  {
    url: 'http://{host}:{port}',
    description: 'Admin port: gateway SLUICE_ADMIN_PORT (8081), delivery worker 8082. No API key.',
    variables: { host: { default: 'localhost' }, port: { default: '8081', enum: ['8081', '8082'] } },
  },
];
const probe = (operation: OperationObject): PathItemObject => ({ servers: adminServers, get: operation });

export const adminPathItems: Record<string, PathItemObject> = {
  '/metrics': probe({
    operationId: 'getMetrics',
    tags: ['operations'],
    summary: 'Prometheus metrics',
    security: [],
    responses: {
      '200': {
        description: 'Prometheus text exposition format.',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  }),
  '/healthz': probe({
    operationId: 'getLiveness',
    tags: ['operations'],
    summary: 'Liveness: the process runs (never depends on Kafka or Redis)',
    security: [],
    responses: {
      '200': {
        description: 'Alive.',
        content: json({
          type: 'object',
          required: ['status'],
          additionalProperties: false,
          properties: { status: { const: 'ok' } },
        }),
      },
    },
  }),
  '/readyz': probe({
    operationId: 'getReadiness',
    tags: ['operations'],
    summary: 'Readiness: the process can do its job',
    security: [],
    responses: {
      '200': {
        description: 'Ready.',
        content: json({
          type: 'object',
          allOf: [ref('Readiness')],
          properties: { status: { const: 'ready' } },
        }),
      },
      '503': {
        description:
          'Not ready: shutting down, Kafka not acknowledging, subscriptions not loaded, sustained overload.',
        content: json({
          type: 'object',
          allOf: [ref('Readiness')],
          properties: { status: { const: 'not-ready' }, reasons: { type: 'array', minItems: 1 } },
        }),
      },
    },
  }),
};

export const openApiDocument: OpenAPIObject = {
  openapi: '3.1.1',
  info: {
    title: 'Sluice',
    version: '0.1.0',
    description: [
      'Event gateway on Apache Kafka: HTTP ingest, subscriptions, signed webhook delivery.',
      'Errors are RFC 9457 `application/problem+json` with a stable `code` (the `ErrorCode` schema).',
      'Every path also answers, before any operation runs: 404 `SLUICE_NOT_FOUND` for an unknown path',
      '(`#/components/responses/NotFound`) and 405 `SLUICE_METHOD_NOT_ALLOWED` with `Allow` for a method',
      'the path does not take (`#/components/responses/MethodNotAllowed`).',
    ].join(' '),
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  servers: [{ url: '/', description: 'The public port that serves this document (SLUICE_PORT, 8080).' }],
  security: [{ apiKey: [] }],
  tags: [
    { name: 'ingest', description: 'Producers send events.' },
    {
      name: 'event types',
      description:
        'Event types and their schemas, kept in the schema registry: any key reads them, admin keys register, evolve and deprecate them.',
    },
    {
      name: 'subscriptions',
      description:
        'Admin keys manage webhook subscriptions; a key bound to a tenant manages that tenant’s only (403 SLUICE_TENANT_FORBIDDEN for any other).',
    },
    {
      name: 'delivery log',
      description:
        'What happened to each event: attempts, status, stats, resend and dead letters, read from the delivery log (PostgreSQL, written by `sluice log`).',
    },
    {
      name: 'inbound',
      description:
        'Third-party webhooks received on /in/{id}, verified by the scheme of their source; admin keys manage sources.',
    },
    { name: 'meta', description: 'This description.' },
    { name: 'operations', description: 'Probes and metrics on the admin port.' },
    registryTag,
  ],
  paths: { ...paths, ...sourcePaths, ...registryPathItems, ...adminPathItems },
  components: {
    securitySchemes: {
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        description:
          'An API key (`sluice keys create`): producer keys send events, admin keys also manage event types and subscriptions; a producer key bound to a tenant (`--tenant`) sends that tenant’s events and manages its subscriptions.',
      },
      ...registrySecuritySchemes,
    },
    schemas,
    responses: {
      NotFound: problem(404, 'No route at this path.', { codes: ['SLUICE_NOT_FOUND'] }),
      MethodNotAllowed: problem(405, 'The path does not take this method.'),
    },
  },
};
