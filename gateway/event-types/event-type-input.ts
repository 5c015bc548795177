import { SluiceError } from '../../common/errors.js';
import { EVENT_TYPE_PATTERN } from '../../schemas/manifest.js';
import {
  COMPATIBILITY_LEVELS,
  isCompatibilityLevel,
  type CompatibilityLevel,
} from '../../schemas/registry/compatibility-level.js';
import { describeValue, isPlainObject } from '../../common/json-values.js';

/** Bounds of the event type API's requests (README.md#event-types-api). */
export const eventTypeLimits = {
  /** A request body: a schema (at most 256 KiB canonical, schema-text.ts) with its example. */
  maxBodyBytes: 512 * 1024,
  maxTypeChars: 200,
  maxDescriptionChars: 4096,
} as const;

/** A registration as the route hands it to the registry. */
export interface EventTypeRegistrationInput {
  type: string;
  /** The Avro schema as sent: an object, or its JSON text. The registry parses and checks it. */
  schema: unknown;
  description: string | undefined;
  /** Valid `data` of the type; checked against the schema by the registry. */
  example: unknown;
  /** Stored as the type's own level before the schema is checked against it. */
  compatibility: CompatibilityLevel | undefined;
}

export interface FieldProblem {
  field: string;
  message: string;
}

const registrationFields = new Set(['type', 'schema', 'description', 'example', 'compatibility']);

/**
 * Checks the body of `POST /v1/event-types`, every problem at once: 422 SLUICE_INVALID_EVENT_TYPE
 * with `errors: [{field, message}]`. The schema itself is checked by the registry (a refusal there
 * is SLUICE_SCHEMA_REFUSED), since only it knows the types already registered.
 */
export function validateEventTypeRegistration(raw: unknown): EventTypeRegistrationInput | SluiceError {
  if (!isPlainObject(raw)) return invalid([{ field: '', message: 'the request body must be a JSON object' }]);
  const problems: FieldProblem[] = [];
  for (const name of Object.keys(raw)) {
    if (!registrationFields.has(name)) {
      problems.push({
        field: name,
        message: `${name} is not a field of an event type; use type, schema, description, example, compatibility`,
      });
    }
  }
  const typeProblem = eventTypeNameProblem(raw.type);
  if (typeProblem !== undefined) problems.push({ field: 'type', message: typeProblem });
  const { schema } = raw;
  if (schema === undefined || schema === null) {
    problems.push({
      field: 'schema',
      message: 'schema is required: an Avro record schema (object or JSON text)',
    });
  } else if (typeof schema !== 'string' && typeof schema !== 'object') {
    problems.push({
      field: 'schema',
      message: `schema must be an Avro schema as an object or its JSON text, got ${describeValue(schema)}`,
    });
  }
  const { description } = raw;
  if (description !== undefined && description !== null) {
    if (typeof description !== 'string') {
      problems.push({
        field: 'description',
        message: `description must be a string, got ${describeValue(description)}`,
      });
    } else if (description.length > eventTypeLimits.maxDescriptionChars) {
      problems.push({
        field: 'description',
        message: `description must be at most ${eventTypeLimits.maxDescriptionChars} characters, got ${description.length}`,
      });
    }
  }
  const compatibility = compatibilityProblem(raw.compatibility, problems, false);
  if (problems.length > 0) return invalid(problems);
  return {
    type: raw.type as string,
    schema,
    description: typeof description === 'string' ? description : undefined,
    example: raw.example ?? undefined,
    compatibility: compatibility ?? undefined,
  };
}

/**
 * Checks the body of `PUT /v1/event-types/{type}/compatibility`: `{"compatibility": "FULL"}`, or
 * `null` to follow the global level again.
 */
export function validateCompatibilityChange(
  raw: unknown,
): { compatibility: CompatibilityLevel | null } | SluiceError {
  if (!isPlainObject(raw)) return invalid([{ field: '', message: 'the request body must be a JSON object' }]);
  const problems: FieldProblem[] = [];
  for (const name of Object.keys(raw)) {
    if (name !== 'compatibility') problems.push({ field: name, message: `${name} is not a field here` });
  }
  if (!('compatibility' in raw)) {
    problems.push({ field: 'compatibility', message: `compatibility is required: ${levelList()}, or null` });
  }
  const compatibility = compatibilityProblem(raw.compatibility, problems, true);
  if (problems.length > 0) return invalid(problems);
  return { compatibility: compatibility ?? null };
}

/** Why `value` is not an event type name; undefined when it is one. */
export function eventTypeNameProblem(value: unknown): string | undefined {
  if (value === undefined) return 'type is required, e.g. shipment.delayed';
  if (typeof value !== 'string') return `type must be a string, got ${describeValue(value)}`;
  if (value.length > eventTypeLimits.maxTypeChars)
    return `type must be at most ${eventTypeLimits.maxTypeChars} characters`;
  if (!EVENT_TYPE_PATTERN.test(value)) {
    return `type must be lowercase words joined by dots, such as shipment.delayed, got ${describeValue(value)}`;
  }
  return undefined;
}

function compatibilityProblem(
  value: unknown,
  problems: FieldProblem[],
  nullable: boolean,
): CompatibilityLevel | undefined {
  if (value === undefined || (value === null && nullable)) return undefined;
  if (isCompatibilityLevel(value)) return value;
  problems.push({
    field: 'compatibility',
    message: `compatibility must be one of ${levelList()}${nullable ? ', or null' : ''}, got ${describeValue(value)}`,
  });
  return undefined;
}

function levelList(): string {
  return COMPATIBILITY_LEVELS.join(', ');
}

function invalid(problems: FieldProblem[]): SluiceError {
  const summary = problems.map((problem) => `${problem.field || 'body'}: ${problem.message}`).join('; ');
  return new SluiceError('SLUICE_INVALID_EVENT_TYPE', `invalid event type request: ${summary}`, {
    details: { field: problems[0]?.field ?? '', errors: problems },
  });
}
